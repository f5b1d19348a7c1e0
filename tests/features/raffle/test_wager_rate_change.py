"""A new wager rate (``!raffleset wager_thousand``, or the dashboard's field) applies to what is
wagered from then on, as a new watch-hour rate applies to new hours: the tickets a player was
given (or has earned and waits for) stay what they were."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.config import RaffleSettings
from core.events import Platform
from core.features.linking.repository import AccountLink, save_link
from core.features.raffle import ledger_repository
from core.features.raffle.periods.service import RafflePeriods
from tests.fakes.shuffle_server import FakeShuffle, connect_guild, verify_player
from tests.features.raffle.test_wagers import ALICE, ALICE_KICK, BOB, BOB_KICK, Harness
from tests.features.raffle.test_wagers import GUILD as GUILD_H
from tests.features.raffle.test_wagers_runtime import GUILD, MEMBER, balance, open_period

OTHER = 5006  # a member verified on Shuffle who has linked no Kick or Twitch account yet
OTHER_KICK = "70008"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def runtime(make_runtime, shuffle: FakeShuffle):
    runtime = make_runtime(SHUFFLE_ALLOWED_HOSTS=shuffle.host)
    connect_guild(runtime.wagers, GUILD, shuffle)
    verify_player(runtime.wagers, GUILD, MEMBER, "HighRoller")
    return runtime


def poll(runtime) -> None:
    asyncio.run(runtime.wagers.poll_due())


def set_rate(runtime, rate: int) -> None:
    runtime.raffle.periods.configure(GUILD, "wager_thousand", str(rate))


def test_a_higher_rate_pays_no_more_for_wagers_already_paid(runtime, shuffle: FakeShuffle) -> None:
    period_id = open_period(runtime)
    shuffle.set_wagered("highroller", "0")
    poll(runtime)  # the baseline
    shuffle.add_wager("highroller", "10000")
    poll(runtime)
    assert balance(runtime, period_id) == 200  # 20 per $1,000

    set_rate(runtime, 40)
    poll(runtime)  # nothing wagered since
    assert balance(runtime, period_id) == 200, "the $10,000 already paid was paid again"
    shuffle.add_wager("highroller", "1000")
    poll(runtime)
    assert balance(runtime, period_id) == 240


def test_a_lower_rate_still_pays_what_is_wagered_after_it(runtime, shuffle: FakeShuffle) -> None:
    period_id = open_period(runtime)
    shuffle.set_wagered("highroller", "0")
    poll(runtime)
    shuffle.add_wager("highroller", "10000")
    poll(runtime)
    assert balance(runtime, period_id) == 200

    set_rate(runtime, 10)
    shuffle.add_wager("highroller", "1000")
    poll(runtime)
    assert balance(runtime, period_id) == 210, "$1,000 wagered after the change earned nothing"


def test_wagers_waiting_to_be_paid_keep_the_rate_they_were_made_at(
    runtime, shuffle: FakeShuffle
) -> None:
    """A verified player without a Kick or Twitch link yet: their wagers wait, counted; a rate
    change later neither adds to nor takes from what they earned before it."""
    period_id = open_period(runtime)
    verify_player(runtime.wagers, GUILD, OTHER, "Waiter")
    shuffle.set_wagered("waiter", "0")
    poll(runtime)
    shuffle.add_wager("waiter", "1000")  # 20 tickets' worth, waiting for a link
    poll(runtime)
    set_rate(runtime, 40)
    shuffle.add_wager("waiter", "1000")  # 40 more at the new rate
    poll(runtime)
    with runtime.engine.begin() as conn:
        save_link(conn, AccountLink(Platform.KICK, OTHER_KICK, OTHER, "waiter", NOW), GUILD)
    poll(runtime)
    with runtime.engine.connect() as conn:
        got = ledger_repository.get_balance(conn, GUILD, period_id, Platform.KICK, OTHER_KICK)
    assert got == 60


def test_a_rate_of_zero_stops_wager_tickets_and_a_new_rate_starts_them_again(
    runtime, shuffle: FakeShuffle
) -> None:
    period_id = open_period(runtime)
    shuffle.set_wagered("highroller", "0")
    poll(runtime)
    shuffle.add_wager("highroller", "1000")
    poll(runtime)
    set_rate(runtime, 0)
    shuffle.add_wager("highroller", "5000")  # while wagers earn nothing
    poll(runtime)
    assert balance(runtime, period_id) == 20
    set_rate(runtime, 20)
    poll(runtime)
    assert balance(runtime, period_id) == 20, "wagers made at rate 0 were paid"
    shuffle.add_wager("highroller", "1000")
    poll(runtime)
    assert balance(runtime, period_id) == 40


def test_a_rate_change_rebases_on_each_backend(engine: Engine, shuffle: FakeShuffle) -> None:
    """The same as !raffleset does it, on SQLite and PostgreSQL, with two accounts moved at
    once."""
    h = Harness(engine, shuffle)
    h.wagers.tickets_per_thousand = None  # the guild's raffle setting
    no_draws: Any = None  # configure draws nothing
    periods = RafflePeriods(engine, RaffleSettings(), h.clock, no_draws, new_seed=lambda: "")
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.verify(BOB, "bob", kick_user_id=BOB_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.shuffle.set_wagered("bob", "0")
    h.poll()
    h.shuffle.add_wager("alice", "1000")
    h.shuffle.add_wager("bob", "2000")
    h.poll()
    periods.configure(GUILD_H, "wager_thousand", "40")
    h.poll()
    assert (h.balance(ALICE_KICK), h.balance(BOB_KICK)) == (20, 40)
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    assert (h.balance(ALICE_KICK), h.balance(BOB_KICK)) == (60, 40)


def test_a_rate_change_waits_for_a_poll_under_way(engine: Engine, shuffle: FakeShuffle) -> None:
    """A poll taking its reply (at the old rate) when the rate changes: the change waits for it,
    then rebases from what it paid, so the wagers it paid are not paid again at the new rate."""
    rate = {"now": 20}
    entered, release = threading.Event(), threading.Event()

    def rate_in_the_poll(guild_id: int) -> int:  # called inside the poll's transaction
        if rate.get("hold"):
            rate.pop("hold")
            entered.set()
            release.wait(timeout=30)
        return rate["now"]

    h = Harness(engine, shuffle)
    h.wagers.tickets_per_thousand = rate_in_the_poll
    no_draws: Any = None
    periods = RafflePeriods(engine, RaffleSettings(), h.clock, no_draws, new_seed=lambda: "")
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.poll()
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    assert h.balance() == 20
    h.shuffle.add_wager("alice", "1000")

    rate["hold"] = 1
    h.clock.advance(300)
    poll = threading.Thread(target=asyncio.run, args=(h.wagers.poll_guild(GUILD_H),))
    poll.start()
    assert entered.wait(timeout=30)
    change = threading.Thread(target=periods.configure, args=(GUILD_H, "wager_thousand", "40"))
    change.start()
    change.join(timeout=1)
    assert change.is_alive(), "the rate changed under a poll that was paying at the old one"
    release.set()
    poll.join(timeout=30)
    change.join(timeout=30)
    assert not change.is_alive()
    assert h.balance() == 40  # the second $1,000 at the old rate

    rate["now"] = 40
    h.poll()
    assert h.balance() == 40, "wagers paid at the old rate were paid again at the new one"
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    assert h.balance() == 80
