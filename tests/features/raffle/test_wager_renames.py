"""A player who renames on Shuffle keeps their count: Shuffle's statistics name players only,
so the new name looked like a new referral, counted from zero, and once an admin verified it
its whole lifetime of wagers was paid again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.fakes.shuffle_server import FakeShuffle
from tests.features.raffle.test_wagers import ADMIN, ALICE, ALICE_KICK, GUILD, Harness


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def h(engine: Engine, shuffle: FakeShuffle) -> Harness:
    return Harness(engine, shuffle)


def test_a_renamed_account_verified_again_is_not_paid_its_lifetime_again(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "50000")  # lifetime, before the period
    h.poll()
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    assert h.balance() == 20

    h.shuffle.rename("alice", "alice_2")
    h.poll()  # alice_2 shows up; alice is gone
    h.wagers.request_link(GUILD, ALICE, "alice_2")
    h.wagers.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="alice_2")
    h.poll()
    assert h.balance() == 20, "the lifetime wagers were paid again under the new name"

    h.shuffle.add_wager("alice_2", "1000")
    h.poll()
    assert h.balance() == 40


def test_a_switch_to_another_live_account_counts_it_as_before(h: Harness) -> None:
    """Not a rename: the old account still plays under the code, so the new one is another
    account, counted as it was (here: a new referral, from zero)."""
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "50000")
    h.poll()
    h.shuffle.set_wagered("second", "0")
    h.poll()
    h.shuffle.add_wager("second", "1000")
    h.wagers.request_link(GUILD, ALICE, "second")
    h.wagers.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="second")
    h.poll()
    assert h.balance() == 20
