"""A slow or failing partner delays only its own effects (issue 26), for the partners that move
points and tickets: StreamElements (a heist's payout in a guild that keeps its points there)
and Shuffle (wagers polled into raffle tickets). As in ``tests/test_slow_partner.py``, whose
helpers these variants share: one guild's partner answers 500, or hangs, while it and 100
other guilds stream and chat; the real pipeline runs on the wall clock with 2-second ticks;
every guild is ticked at every instant and every viewer is credited exactly. Once the partner
answers again the troubled guild's change is made exactly once, as documented:

- StreamElements: the payout is one points call, made by the ``streamelements`` worker once
  the heist resolved (a scheduler job). A 500 or a hang may have changed the balance, so the
  call ends uncertain and is never sent again on its own; an admin finds it among the payments
  in doubt and settles it: "again" when it did not land (sent once more, once), "paid" when it
  did (nothing more sent). See docs/points.md and docs/heist.md.
- Shuffle: the scheduler's poll of the guild fails or hangs; a poll once Shuffle answers gives
  the tickets due, and a poll after it none more. See docs/raffle.md.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.events import Platform, system_clock
from core.features.linking.repository import AccountLink, save_link
from core.features.payments.service import AGAIN, PAID
from core.features.points import se_payments
from core.features.raffle import ledger_repository
from core.features.raffle.periods import repository as periods_repository
from core.outbox import store
from core.outbox.worker import OutboxWorker
from core.platforms.streamelements.api import StreamElementsPoints
from core.runtime import Runtime
from core.storage.tables import outbox
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.fakes.shuffle_server import FakeShuffle, connect_guild, verify_player
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.support.clock import WallClock
from tests.support.events import chat_message
from tests.support.waiting import eventually
from tests.test_slow_partner import (
    KICK_STREAMER,
    SETTINGS,
    TROUBLED,
    assert_credited,
    kick_chat,
    others_present,
    outbox_of,
    ride_out,
    ticked_together,
    track_others,
)
from tests.wiring.test_vip_streamer_token import BROADCASTER

pytestmark = pytest.mark.slow

STOPPED_WHILE_CALLING = "a worker stopped while making this call"


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(user_id=KICK_STREAMER, username="streamer") as fake:
        yield fake


# StreamElements answers 500, or hangs, on the heist's payout

JOINER, LOGIN, STAKE = "5001", "robber", 100
SE_PUT = "/kappa/v2/points/"


@pytest.fixture
def se() -> Iterator[FakeStreamElements]:
    with FakeStreamElements() as fake:
        fake.points[LOGIN] = 1000
        yield fake


@pytest.fixture
async def se_runtime(tmp_path: Path, kick: FakeKick, se: FakeStreamElements):
    runtime = runtime_on_fake_kick(
        kick,
        tmp_path / "data",
        WallClock(),
        **SETTINGS,
        STREAMELEMENTS_API_URL=se.base_url,
        HEIST_JOIN_WINDOW_SECONDS="10",  # the shortest: the heist resolves while they stream
    )
    # The troubled guild follows a Twitch channel (StreamElements keeps points by Twitch login)
    # and keeps its points in StreamElements.
    runtime.guilds.set_twitch_channel(TROUBLED, "twitchdev", BROADCASTER)
    runtime.points_wallet.use_streamelements(TROUBLED, CHANNEL_ID, JWT)
    track_others(runtime)
    yield runtime
    runtime.close()


def twitch_chat(now: datetime) -> list:
    """One viewer chatting in the troubled guild's Twitch chat."""
    said = chat_message(
        "hi", platform=Platform.TWITCH, broadcaster=BROADCASTER, user_id="5999", at=now
    )
    return [said]


def join(now: datetime) -> list:
    """A viewer joins a heist: StreamElements says their balance (it answers reads), and the
    stake is held here."""
    joined = chat_message(
        f"!join {STAKE} low",
        platform=Platform.TWITCH,
        broadcaster=BROADCASTER,
        user_id=JOINER,
        username="Robber",
        login=LOGIN,
        at=now,
    )
    return [joined]


def se_calls(se: FakeStreamElements) -> list[str]:
    """The changes StreamElements was asked for (each PUT's path), as they came."""
    return [path for method, path in se.requests if method == "PUT"]


@pytest.mark.parametrize("trouble", ["500", "hang"])
async def test_a_guild_whose_streamelements_fails_or_hangs_holds_no_other_guilds_tick(
    se_runtime: Runtime, se: FakeStreamElements, trouble: str
):
    runtime = se_runtime
    if trouble == "500":
        se.fail_puts("500")  # each change answered 500 (and not applied)
    else:
        se.hang_puts_of(LOGIN)

    def stalled() -> list[tuple[str, str | None]] | None:
        """The payout's call, once StreamElements was asked for it and stalled: answered 500
        (the call ended at once), or holds it (the call being made, or ended once the client
        gave up on it)."""
        calls = outbox_of(runtime, se_payments.PAY)
        if trouble == "500":
            shows = bool(se_calls(se)) and len(calls) == 1 and calls[0][0] == store.UNCERTAIN
        else:
            shows = se.held > 0 and len(calls) == 1
        return calls if shows else None

    ride = await ride_out(runtime, join, twitch_chat, stalled)

    seconds = ticked_together(ride)
    assert_credited(runtime, seconds, {TROUBLED: {"5999", JOINER}, **others_present()})
    [(state, result)] = ride.trouble
    if trouble == "500":
        # A 5xx may come after the change: uncertain at once, never sent again on its own.
        assert (state, result) == (
            store.UNCERTAIN,
            "may or may not be applied (answered 500): check it by hand",
        )
    else:
        assert state in (store.PENDING, store.UNCERTAIN)
    assert len(se_calls(se)) == 1
    assert se.puts == []  # nothing applied while StreamElements was in trouble
    [payout] = payouts(runtime)
    assert payout["username"] == LOGIN
    net = payout["amount"]
    assert net in (STAKE // 2, -STAKE)  # won at low risk (x1.5), or lost the stake

    # StreamElements answers again. A hung change goes through now, late (StreamElements got
    # it; no answer came back in time).
    se.recover()
    if trouble == "hang":
        await eventually(lambda: se.puts == [(LOGIN, net)], within=30.0)
    async with after_the_lease(runtime, se) as later:
        while await later.run_once():
            pass
    [(state, result)] = outbox_of(runtime, se_payments.PAY)
    assert state == store.UNCERTAIN  # never sent again on its own
    if trouble == "hang":
        assert result is not None
        assert result.startswith("may or may not be applied (") or result == STOPPED_WHILE_CALLING
    assert len(se_calls(se)) == 1

    # The admin is told: the payout is in doubt, with who, how much and why.
    [doubt] = runtime.payment_doubts.doubtful(TROUBLED)
    assert (doubt.who, doubt.amount, doubt.result) == (LOGIN, net, result)
    assert doubt.why.startswith("heist #")
    # They check StreamElements and settle it: "again" when it did not land, "paid" when it did.
    action = AGAIN if trouble == "500" else PAID
    runtime.payment_doubts.settle(TROUBLED, doubt.id, action, actor="cli", reason="checked SE")
    for _ in range(2):  # a second worker finds nothing more to send
        async with after_the_lease(runtime, se) as later:
            while await later.run_once():
                pass

    assert se.puts == [(LOGIN, net)]  # the change made exactly once
    assert se.points[LOGIN] == 1000 + net
    assert runtime.payment_doubts.doubtful(TROUBLED) == []
    if trouble == "500":
        assert len(se_calls(se)) == 2  # the one answered 500, and the one sent again
        assert outbox_of(runtime, se_payments.PAY)[1] == (
            store.DONE,
            f"{net:+,} to {LOGIN}: {1000 + net:,} now",
        )
    else:
        assert len(se_calls(se)) == 1  # marked paid: nothing more sent


def payouts(runtime: Runtime) -> list[dict]:
    """The troubled guild's StreamElements payments' payloads, in the order queued."""
    o = outbox.c
    query = (
        sa.select(o.payload)
        .where(o.guild_id == TROUBLED, o.service == se_payments.SERVICE)
        .order_by(o.id)
    )
    with runtime.engine.connect() as conn:
        return [json.loads(payload) for payload in conn.execute(query).scalars()]


@asynccontextmanager
async def after_the_lease(runtime: Runtime, se: FakeStreamElements) -> AsyncIterator[OutboxWorker]:
    """The ``streamelements`` worker, come to the calls after the stopped one's claims ran out
    (and past every backoff), with a client of its own (the stopped pipeline closed its)."""
    [worker] = [w for w in runtime.outbox_workers if w.service == se_payments.SERVICE]
    async with StreamElementsPoints(base_url=se.base_url) as client:
        payments = se_payments.SePayments(runtime.points_wallet.payments_account_of, client)
        yield dataclasses.replace(
            worker,
            kinds=payments.kinds(),
            name="after-recovery",
            clock=lambda: system_clock() + timedelta(hours=1),
        )


# Shuffle answers 500, or hangs, on the scheduler's poll of the guild's wagers

MEMBER, KICK_ID, PLAYER = 55, "7007", "HighRoller"
WAGERED = "1000"  # dollars since the baseline: 20 tickets at the default rate
TICKETS = 20


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
async def shuffle_runtime(
    tmp_path: Path, kick: FakeKick, shuffle: FakeShuffle
) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_kick(
        kick, tmp_path / "data", WallClock(), **SETTINGS, SHUFFLE_ALLOWED_HOSTS=shuffle.host
    )
    runtime.guilds.set_kick_channel(TROUBLED, "streamer", str(KICK_STREAMER))
    connect_guild(runtime.wagers, TROUBLED, shuffle)
    verify_player(runtime.wagers, TROUBLED, MEMBER, PLAYER)
    now = system_clock()
    with runtime.engine.begin() as conn:
        periods_repository.create_period(
            conn, guild_id=TROUBLED, starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30), status="open", seed="00" * 32,
            commitment="11" * 32, now=now - timedelta(days=1),
        )  # fmt: skip
        save_link(conn, AccountLink(Platform.KICK, KICK_ID, MEMBER, "roller", now), TROUBLED)
    # The period's baseline, polled before; then the player wagers more. The poll that comes
    # due at once (the scheduler's first) owes them the tickets.
    shuffle.set_wagered(PLAYER, "0")
    assert (await runtime.wagers.poll_guild(TROUBLED)).is_baseline
    shuffle.add_wager(PLAYER, WAGERED)
    track_others(runtime)
    yield runtime
    runtime.close()


def tickets(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        period = periods_repository.find_open_period(conn, TROUBLED)
        assert period is not None
        return ledger_repository.get_balance(conn, TROUBLED, period.id, Platform.KICK, KICK_ID)


@pytest.mark.parametrize("trouble", ["500", "hang"])
async def test_a_guild_whose_shuffle_fails_or_hangs_holds_no_other_guilds_tick(
    shuffle_runtime: Runtime, shuffle: FakeShuffle, trouble: str
):
    runtime = shuffle_runtime
    asked = len(shuffle.requests)  # the baseline's
    if trouble == "500":
        shuffle.fail_next("500", times=1000)
    else:
        for _ in range(1000):  # each request, the client's retries too
            shuffle.hang_next()

    def stalled() -> int | None:
        """The tickets given, once Shuffle was asked and stalled: answered 500, or holds it."""
        shows = 500 in shuffle.statuses()[asked:] if trouble == "500" else shuffle.waiting > 0
        return tickets(runtime) if shows else None

    ride = await ride_out(runtime, lambda now: [], kick_chat, stalled)

    seconds = ticked_together(ride)
    assert_credited(runtime, seconds, {TROUBLED: {"8999"}, **others_present()})
    assert ride.trouble == 0
    assert tickets(runtime) == 0  # nothing given while Shuffle was in trouble

    # Shuffle answers again. What hung is answered now, and nobody takes it: the poll that
    # asked was cut off with the scheduler's stop (core/features/raffle/wagers/polls.py).
    # The next poll (past any backoff) gives the tickets, once; the one after it, none more.
    shuffle.recover()
    if trouble == "hang":
        hung = shuffle.waiting
        await eventually(lambda: len(shuffle.requests) == asked + hung, within=30.0)
    later = system_clock() + timedelta(hours=2)
    [polled] = await runtime.wagers.poll_due(later)
    assert (polled.outcome, [a.tickets for a in polled.awards]) == ("ok", [TICKETS])
    [again] = await runtime.wagers.poll_due(later + timedelta(hours=2))
    assert (again.outcome, again.awards) == ("ok", ())
    assert tickets(runtime) == TICKETS
    status = runtime.wagers.status(TROUBLED)
    assert status.last_success_at is not None
