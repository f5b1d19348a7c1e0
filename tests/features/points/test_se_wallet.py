"""The StreamElements backend against the loopback fake: the JWT stored encrypted, stakes held
on our side (never more than the SE balance, even when joins race), and settlements paid with
one outbox call per participant that a retry never repeats, each guild's in its own lane."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.features.points.se_wallet import LEDGER, STREAMELEMENTS, Settlement, SeWallet
from core.features.points.service import NotEnoughPoints, PointsRefused
from core.features.points.tables import points_settings
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from core.wiring.points import SE_CALL_SECONDS
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.points.se_support import die_while_paying, payments, payments_worker
from tests.features.points.test_earning import T0
from tests.support.clock import Clock
from tests.support.waiting import eventually, no_sleep

GUILD = 4242


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        yield fake


@pytest.fixture
async def wallet(engine, se):
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        wallet = SeWallet(engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), client)
        wallet.use_streamelements(GUILD, CHANNEL_ID.upper(), JWT)
        yield wallet


async def test_the_jwt_is_stored_encrypted_and_forgotten_on_the_way_back(engine, wallet):
    with engine.connect() as conn:
        stored = conn.execute(sa.select(points_settings.c.se_jwt)).scalar_one()
    assert JWT not in stored
    assert wallet.account_of(GUILD).jwt == JWT
    assert wallet.backend_of(GUILD) == STREAMELEMENTS
    wallet.use_ledger(GUILD)
    assert wallet.backend_of(GUILD) == LEDGER
    assert wallet.account_of(GUILD) is None
    with engine.connect() as conn:
        assert conn.execute(sa.select(points_settings.c.se_jwt)).scalar_one() is None


@pytest.mark.parametrize(
    ("channel", "jwt", "message"),
    [
        ("12345", JWT, "24 hexadecimal characters"),
        (CHANNEL_ID, "short", "does not look like a StreamElements JWT"),
        (CHANNEL_ID, "has spaces in it, which no jwt does", "does not look like"),
    ],
)
def test_wrong_backend_settings_are_refused(sqlite_engine, channel, jwt, message):
    wallet = SeWallet(sqlite_engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), None)  # type: ignore[arg-type]
    with pytest.raises(PointsRefused, match=message):
        wallet.use_streamelements(GUILD, channel, jwt)
    assert wallet.backend_of(GUILD) == LEDGER


async def test_holds_never_exceed_the_streamelements_balance(se, wallet):
    se.points["ann"] = 500
    assert await wallet.hold(GUILD, "Ann", 300, source="heist", source_ref="h1:ann") == 200
    assert await wallet.hold(GUILD, "ann", 300, source="heist", source_ref="h1:ann") == 200
    with pytest.raises(NotEnoughPoints) as refused:
        await wallet.hold(GUILD, "ann", 300, source="heist", source_ref="h2:ann")
    assert (refused.value.balance, refused.value.needed) == (200, 300)
    assert wallet.open_holds(GUILD, "ann") == 300
    assert se.puts == []  # holding changes nothing on StreamElements


async def test_racing_holds_take_at_most_the_balance(se, wallet):
    se.points["ann"] = 500
    results = await asyncio.gather(
        *(wallet.hold(GUILD, "ann", 100, source="heist", source_ref=f"h{n}:ann") for n in range(8)),
        return_exceptions=True,
    )
    held = [result for result in results if not isinstance(result, Exception)]
    assert len(held) == 5
    assert all(isinstance(result, NotEnoughPoints) for result in results if result not in held)
    assert wallet.open_holds(GUILD, "ann") == 500


async def test_servers_on_one_streamelements_channel_hold_against_one_balance(se, wallet):
    """Two servers keeping their points in the same StreamElements channel share each viewer's
    balance there: what one holds, or waits to take, is not free to stake or remove in the
    other."""
    se.points["ann"] = 500
    other = GUILD + 1
    wallet.use_streamelements(other, CHANNEL_ID, JWT)
    assert await wallet.hold(GUILD, "ann", 300, source="heist", source_ref="h1:ann") == 200
    with pytest.raises(NotEnoughPoints) as refused:
        await wallet.hold(other, "ann", 300, source="heist", source_ref="h2:ann")
    assert (refused.value.balance, refused.value.needed) == (200, 300)
    await wallet.queue_change(other, "ann", -150, ref="discord:1", actor_id=1, reason="")
    with pytest.raises(NotEnoughPoints, match="ann has only 50 points free"):
        await wallet.queue_change(GUILD, "ann", -100, ref="discord:2", actor_id=1, reason="")
    assert wallet.open_holds(other, "ann") == wallet.open_holds(GUILD, "ann") == 450


async def test_a_settlement_pays_the_net_once_per_participant(engine, se, wallet):
    se.points.update(ann=500, bob=400)
    await wallet.hold(GUILD, "ann", 200, source="heist", source_ref="h1:ann")
    await wallet.hold(GUILD, "bob", 100, source="heist", source_ref="h1:bob")
    outcomes = [
        Settlement("ann", "h1:ann", 200 * 3 // 2 - 200, "h1:ann:pay"),  # won x1.5
        Settlement("bob", "h1:bob", -100, "h1:bob:pay"),  # lost the stake
    ]
    assert wallet.settle(GUILD, "heist", outcomes) == 2
    assert wallet.settle(GUILD, "heist", outcomes) == 0  # a retried settlement adds nothing
    assert se.puts == []  # queued, not sent by the game
    worker = payments_worker(wallet)
    assert await worker.run_once() == 2
    assert await worker.run_once() == 0
    assert se.puts == [("ann", 100), ("bob", -100)]
    assert se.points == {"ann": 600, "bob": 300}
    assert payments(engine) == [("ann", 100, "done"), ("bob", -100, "done")]
    assert (wallet.open_holds(GUILD, "ann"), wallet.open_holds(GUILD, "bob")) == (0, 0)


async def test_a_removal_sent_twice_is_said_queued_already_not_refused_for_itself(
    engine, se, wallet
):
    """A resent !pointsremove or dashboard Take away (the same reference) is answered "queued
    already", as a resent give is: its own waiting payment is not held against it."""
    se.points["ann"] = 1000
    first = await wallet.queue_change(GUILD, "ann", -600, ref="dashboard:r1", actor_id=1, reason="")
    again = await wallet.queue_change(GUILD, "ann", -600, ref="dashboard:r1", actor_id=1, reason="")
    assert (first.is_new, again.is_new) == (True, False)
    assert payments(engine) == [("ann", -600, "pending")]
    with pytest.raises(NotEnoughPoints, match="ann has only 400 points free"):
        await wallet.queue_change(GUILD, "ann", -600, ref="dashboard:r2", actor_id=1, reason="")
    with pytest.raises(PointsRefused, match="This form was used already; reload the page"):
        await wallet.queue_change(GUILD, "ann", -500, ref="dashboard:r1", actor_id=1, reason="")
    assert payments(engine) == [("ann", -600, "pending")]


async def test_another_channel_is_refused_while_payments_wait_for_this_one(engine, se, wallet):
    """A payment waiting to be made is made where the guild's points are when it is sent: on
    another channel, a heist's winner there would be paid (and its loser charged) in the wrong
    StreamElements channel."""
    se.points["ann"] = 500
    wallet.settle(GUILD, "heist", [Settlement("ann", "h1:ann", 100, "h1:ann:pay")])
    with pytest.raises(PointsRefused, match="waiting to be made on StreamElements"):
        wallet.use_streamelements(GUILD, "a" * 24, JWT)
    assert wallet.account_of(GUILD).channel_id == CHANNEL_ID
    wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)  # a new JWT for the same channel is fine
    assert await payments_worker(wallet).run_once() == 1
    assert se.points == {"ann": 600}
    wallet.use_streamelements(GUILD, "a" * 24, JWT)  # once made, the channel may change


async def test_a_payment_that_may_have_been_applied_is_never_sent_again(engine, se, wallet):
    wallet.settle(
        GUILD, "heist", [Settlement("ann", "x", 50, "p1"), Settlement("bob", "y", 70, "p2")]
    )
    se.fail_next("500_after_apply")
    worker = payments_worker(wallet)
    assert await worker.run_once() == 2
    wallet.clock.advance(timedelta(hours=1))
    assert await worker.run_once() == 0
    assert se.puts == [("ann", 50), ("bob", 70)]
    assert payments(engine) == [("ann", 50, "uncertain"), ("bob", 70, "done")]


async def test_a_dropped_answer_is_uncertain_too(engine, se, wallet):
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    se.fail_next("drop_after_apply")
    assert await payments_worker(wallet).run_once() == 1
    assert se.puts == [("ann", 50)]
    assert payments(engine) == [("ann", 50, "uncertain")]


async def test_a_payment_answered_ok_without_a_readable_balance_is_in_doubt_not_refused(
    engine, se, wallet
):
    """StreamElements took the change and said 200, but not with a balance we can read: the
    points may well be paid, so the payment is in doubt (an admin settles it), never listed
    as refused, where the streamer paying it by hand would pay it twice."""
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    se.fail_next("garbage_after_apply")
    assert await payments_worker(wallet).run_once() == 1
    assert se.puts == [("ann", 50)]
    assert payments(engine) == [("ann", 50, "uncertain")]


async def test_a_payment_not_applied_is_retried_after_a_backoff(engine, se, wallet):
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    se.fail_next("429", "429", "429")  # the first try and both of the client's retries
    worker = payments_worker(wallet)
    assert await worker.run_once() == 1
    assert payments(engine) == [("ann", 50, "pending")]
    assert await worker.run_once() == 0  # not due before its backoff
    wallet.clock.advance(timedelta(seconds=6))
    assert await worker.run_once() == 1
    assert se.puts == [("ann", 50)]
    assert payments(engine) == [("ann", 50, "done")]


async def test_a_long_rate_limit_hands_the_payment_back_not_done_never_in_doubt(engine, se):
    """StreamElements asks for a wait longer than the worker's time limit leaves: the client
    gives the 429 back at once (nothing was paid) rather than sleeping until the worker cuts
    it off, which left a payment nobody could tell was made."""
    async with StreamElementsPoints(base_url=se.base_url) as client:  # real waits
        wallet = SeWallet(engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), client)
        wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
        wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
        se.retry_after = 26
        se.fail_next("429")
        worker = payments_worker(wallet, timeout_seconds=SE_CALL_SECONDS)

        started = time.monotonic()
        assert await worker.run_once() == 1
        assert time.monotonic() - started < SE_CALL_SECONDS / 2
        assert payments(engine) == [("ann", 50, "pending")]
        assert se.puts == []
        wallet.clock.advance(timedelta(minutes=1))
        assert await worker.run_once() == 1
    assert se.puts == [("ann", 50)]
    assert payments(engine) == [("ann", 50, "done")]


async def test_a_rejected_jwt_waits_for_a_new_one(engine, se, wallet):
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    se.jwt = "another.jwt.the-streamer-made"  # the stored one was revoked
    worker = payments_worker(wallet)
    assert await worker.run_once() == 1
    assert payments(engine) == [("ann", 50, "pending")]
    wallet.use_streamelements(GUILD, CHANNEL_ID, se.jwt)  # !points backend streamelements ...
    wallet.clock.advance(timedelta(minutes=1))
    assert await worker.run_once() == 1
    assert se.puts == [("ann", 50)]
    assert payments(engine) == [("ann", 50, "done")]


async def test_payments_given_up_on_are_made_once_a_new_jwt_is_set(engine, se, wallet):
    """StreamElements refused the JWT for all of a payment's tries (about eight hours, one try
    here): it did not land, so a new JWT for the same channel makes it, once; setting the JWT
    again sends nothing more."""
    se.points.update(ann=0, bob=100)
    wallet.settle(
        GUILD, "heist", [Settlement("ann", "x", 50, "p1"), Settlement("bob", "y", -20, "p2")]
    )
    se.jwt = "another.jwt.the-streamer-made"  # the stored one was revoked
    worker = payments_worker(wallet, max_attempts=1)
    assert await worker.run_once() == 2
    assert payments(engine) == [("ann", 50, "failed"), ("bob", -20, "failed")]
    assert se.puts == []

    assert wallet.use_streamelements(GUILD, CHANNEL_ID, se.jwt) == (CHANNEL_ID, 2)
    assert wallet.use_streamelements(GUILD, CHANNEL_ID, se.jwt) == (CHANNEL_ID, 0)
    assert await worker.run_once() == 2
    assert await worker.run_once() == 0
    assert se.puts == [("ann", 50), ("bob", -20)]
    assert se.points == {"ann": 50, "bob": 80}
    assert payments(engine)[2:] == [("ann", 50, "done"), ("bob", -20, "done")]
    assert wallet.use_streamelements(GUILD, CHANNEL_ID, se.jwt) == (CHANNEL_ID, 0)


async def test_payments_given_up_on_are_not_resent_on_another_channel_or_a_month_later(
    engine, se, wallet
):
    """A payment is made on the channel it was queued for: one given up on is not sent when
    the server moves to another channel, nor when it comes back to this one; and not once the
    outbox would have forgotten it (30 days)."""
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    se.jwt = "another.jwt.the-streamer-made"
    assert await payments_worker(wallet, max_attempts=1).run_once() == 1
    assert wallet.use_streamelements(GUILD, "a" * 24, se.jwt) == ("a" * 24, 0)
    assert wallet.use_streamelements(GUILD, CHANNEL_ID, se.jwt) == (CHANNEL_ID, 0)
    wallet.settle(GUILD, "heist", [Settlement("bob", "y", 70, "p2")])
    se.jwt = "a.third.jwt-the-streamer-made"
    assert await payments_worker(wallet, max_attempts=1).run_once() == 1
    wallet.clock.advance(timedelta(days=31))
    assert wallet.use_streamelements(GUILD, CHANNEL_ID, se.jwt) == (CHANNEL_ID, 0)
    assert payments(engine) == [("ann", 50, "failed"), ("bob", 70, "failed")]


async def test_payments_given_up_on_one_channel_are_not_made_on_the_next(engine, se, wallet):
    """A new JWT for the channel the server moved to queued again the payments given up on
    the channel before, so they were made on the new one."""
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    se.jwt = "another.jwt.the-streamer-made"
    assert await payments_worker(wallet, max_attempts=1).run_once() == 1
    assert wallet.use_streamelements(GUILD, "a" * 24, se.jwt) == ("a" * 24, 0)
    assert wallet.use_streamelements(GUILD, "a" * 24, se.jwt) == ("a" * 24, 0)
    assert payments(engine) == [("ann", 50, "failed")]


async def test_a_guild_with_no_account_left_refuses_its_waiting_payments(engine, se, wallet):
    """A guild back on the ledger keeps its account for its waiting payments
    (test_se_back_to_ledger.py); one whose account is gone has them refused in words."""
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    with engine.begin() as conn:
        conn.execute(sa.update(points_settings).values(backend=LEDGER, se_jwt=None))
    assert await payments_worker(wallet).run_once() == 1
    assert se.puts == []
    assert payments(engine) == [("ann", 50, "refused")]


async def test_a_payment_cut_off_by_a_crash_is_not_resent(engine, se, wallet):
    wallet.settle(GUILD, "heist", [Settlement("ann", "x", 50, "p1")])
    die_while_paying(engine, wallet.clock())
    worker = payments_worker(wallet)
    assert await worker.run_once() == 0  # the dead worker's claim still holds
    wallet.clock.advance(timedelta(minutes=1))
    assert await worker.run_once() == 1
    assert payments(engine) == [("ann", 50, "uncertain")]
    assert se.puts == []


async def test_one_guild_whose_streamelements_hangs_holds_only_its_own_payments(engine, se):
    """Guild 1's payment hangs at StreamElements; guild 2's are made meanwhile."""
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        wallet = SeWallet(engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), client)
        for guild_id in (1, 2):
            wallet.use_streamelements(guild_id, CHANNEL_ID, JWT)
        wallet.settle(1, "heist", [Settlement("ann", "a", 50, "p1")])
        guild_2 = [Settlement("bob", "b", 70, "p2"), Settlement("cat", "c", 9, "p3")]
        wallet.settle(2, "heist", guild_2)
        worker = payments_worker(wallet, timeout_seconds=30.0)
        released = se.hang_puts_of("ann")
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            await eventually(lambda: se.puts == [("bob", 70), ("cat", 9)], within=10.0)
            assert payments(engine)[0] == ("ann", 50, "pending")  # still under way
            released.set()
            await eventually(lambda: len(se.puts) == 3, within=10.0)
            await eventually(lambda: payments(engine)[0] == ("ann", 50, "done"), within=10.0)
        finally:
            released.set()
            stop.set()
            await running
