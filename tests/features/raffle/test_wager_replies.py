"""What a Shuffle reply is taken for: a list whose rows none can be read is a problem shown to
the moderator, never "no wagers" (which would take the period's baseline from nothing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.fakes.shuffle_server import FakeShuffle
from tests.features.raffle.test_wagers import ALICE, ALICE_KICK, GUILD, Harness


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def h(sqlite_engine: Engine, shuffle: FakeShuffle) -> Harness:
    return Harness(sqlite_engine, shuffle)


def test_a_reply_whose_rows_none_can_be_read_is_a_problem_not_no_wagers(h: Harness) -> None:
    """Shuffle renames its fields (or answers rows of something else): every row is skipped.
    Taken as "no wagers", it set the period's baseline from nothing, so once Shuffle answered
    as before every player counted from zero and was paid their lifetime wagers; and
    ``!shuffle status`` said the poll succeeded."""
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "50000")  # lifetime, before the period
    h.shuffle.fail_next("unreadable_rows")

    result = h.poll()

    assert result.outcome == "failed"
    status = h.wagers.status(GUILD)
    assert status.last_success_at is None
    assert status.baseline_at is None
    assert "lists 1 row(s) but none has a username" in (status.last_problem or "")
    assert status.next_poll_at == result.retry_at

    assert h.poll(advance=3600).is_baseline  # Shuffle answers as before
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    assert h.balance() == 20, "alice was paid for wagers made before the period"


def test_a_link_shuffle_does_not_know_tells_the_moderator_what_to_do(h: Harness) -> None:
    """``!shuffle status`` said only "answered 404": nothing said the link was the problem."""
    key = "replaced-key-9876543210"
    h.wagers.set_affiliate_url(GUILD, f"{h.shuffle.url}/stats/{key}")
    assert h.poll().outcome == "failed"
    problem = h.wagers.status(GUILD).last_problem or ""
    assert problem.startswith("answered 404")
    assert "copy it again from Shuffle's affiliate dashboard" in problem
    assert key not in problem


def test_a_reply_with_no_player_under_the_guilds_codes_says_which_codes_it_has(
    h: Harness,
) -> None:
    """``!shuffle codes streamer`` when the code on Shuffle is STREAMER10: every poll
    succeeded, nobody earned a ticket, and nothing told the streamer why."""
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "100", code="STREAMER10")
    h.shuffle.set_wagered("bob", "100", code="OLDCODE")

    result = h.poll()

    assert result.outcome == "ok"  # taken, not backed off
    status = h.wagers.status(GUILD)
    assert status.next_poll_at is None
    assert status.last_problem == (
        "Shuffle lists 2 players but none under your campaign codes; its codes: OLDCODE, STREAMER10"
    )
    assert result.problem == status.last_problem

    h.wagers.set_campaign_codes(GUILD, "STREAMER10")
    assert h.poll().problem is None


def test_a_wager_row_names_the_shuffle_account_and_the_dollars(h: Harness) -> None:
    """What the public ledger shows of a wager (and /privacy says it shows)."""
    h.open_period()
    h.verify(ALICE, "Alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("Alice", "500")
    h.poll()
    h.shuffle.add_wager("Alice", "1000")
    h.poll()
    [row] = h.ledger()
    assert (row.source_ref, row.reason) == (
        "shuffle:alice:20",
        "$1,000.00 wagered on Shuffle as Alice",
    )
