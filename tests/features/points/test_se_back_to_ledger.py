"""A server that goes back to StreamKeeper's own ledger while StreamElements payments wait: they
were owed when the game settled, so they are still made on the StreamElements channel they were
queued for (each once), the streamer is told how many, and the JWT is forgotten once they are
made. Another server on the same channel is not touched."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.features.payments.service import PaymentDoubts
from core.features.points import se_leaving, se_payments
from core.features.points.se_wallet import LEDGER, STREAMELEMENTS, Settlement, SeWallet
from core.features.points.service import NotEnoughPoints, PointsRefused
from core.features.points.tables import points_settings
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from core.storage.tables import outbox
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.points.se_support import payments, payments_worker
from tests.features.points.test_earning import T0
from tests.support.clock import Clock
from tests.support.waiting import no_sleep

GUILD, OTHER = 4242, 4343


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        fake.points.update(ann=500, bob=400, cat=100)
        yield fake


@pytest.fixture
async def wallet(engine, se):
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        wallet = SeWallet(engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), client)
        wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
        wallet.use_streamelements(OTHER, CHANNEL_ID, JWT)
        yield wallet


def stored_jwts(engine) -> dict[int, bool]:
    s = points_settings.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(s.guild_id, s.se_jwt)).all()
    return {row.guild_id: row.se_jwt is not None for row in rows}


def settle_a_heist(wallet: SeWallet) -> None:
    """ann won 100 net, bob lost his 50 stake; the other server's cat won 30."""
    wallet.settle(
        GUILD,
        "heist",
        [Settlement("ann", "h1:ann", 100, "h1:ann:pay"), Settlement("bob", "h1:bob", -50, "p")],
    )
    wallet.settle(OTHER, "heist", [Settlement("cat", "h9:cat", 30, "h9:cat:pay")])


async def test_payments_waiting_when_the_server_goes_back_to_the_ledger_are_still_made(
    engine, se, wallet
):
    """They were refused ("not sent: the server keeps its points in StreamKeeper again"): the
    heist's winner was never paid and its loser kept the stake, with nothing said at the
    switch."""
    settle_a_heist(wallet)
    assert wallet.use_ledger(GUILD) == 2  # the streamer is told: 2 payments still to be made
    assert wallet.backend_of(GUILD) == LEDGER
    assert wallet.account_of(GUILD) is None  # no new stake or change goes to StreamElements
    assert await payments_worker(wallet).run_once() == 3
    assert sorted(se.puts) == [("ann", 100), ("bob", -50), ("cat", 30)]
    assert se.points == {"ann": 600, "bob": 350, "cat": 130}
    assert sorted(payments(engine)) == [
        ("ann", 100, "done"),
        ("bob", -50, "done"),
        ("cat", 30, "done"),
    ]
    assert stored_jwts(engine) == {GUILD: False, OTHER: True}  # forgotten once all were made
    assert wallet.backend_of(OTHER) == STREAMELEMENTS
    assert await payments_worker(wallet).run_once() == 0  # nothing made twice


async def test_payments_retried_across_the_switch_are_made_once(engine, se, wallet):
    settle_a_heist(wallet)
    se.fail_puts("429")  # nothing is taken for a while
    worker = payments_worker(wallet)
    assert await worker.run_once() == 3
    assert [state for _, _, state in payments(engine)] == ["pending"] * 3
    assert wallet.use_ledger(GUILD) == 2
    assert stored_jwts(engine)[GUILD]  # kept: its payments still need it
    with pytest.raises(PointsRefused, match="waiting to be made on StreamElements"):
        wallet.use_streamelements(GUILD, "a" * 24, JWT)  # they would be made on another channel
    se.recover()
    wallet.clock.advance(timedelta(minutes=1))
    assert await worker.run_once() == 3
    assert sorted(se.puts) == [("ann", 100), ("bob", -50), ("cat", 30)]
    assert se.points == {"ann": 600, "bob": 350, "cat": 130}
    assert stored_jwts(engine) == {GUILD: False, OTHER: True}


async def test_nothing_waiting_forgets_the_jwt_at_once(engine, wallet):
    assert wallet.use_ledger(GUILD) == 0
    assert stored_jwts(engine) == {GUILD: False, OTHER: True}


async def test_another_server_on_the_channel_still_counts_what_the_payments_will_take(se, wallet):
    """bob's -50 still waits after this server went back to the ledger: the other server on
    the same channel let him stake all 400, and the -50 then took him below what he staked."""
    settle_a_heist(wallet)
    wallet.use_ledger(GUILD)
    with pytest.raises(NotEnoughPoints):
        await wallet.hold(OTHER, "bob", 400, source="heist", source_ref="h10:bob")
    assert await wallet.hold(OTHER, "bob", 350, source="heist", source_ref="h10:bob") == 0


async def test_the_hourly_pruning_forgets_a_jwt_whose_payments_were_all_made(engine, wallet):
    """Made by a worker that was not told to forget (one of two running at once, each seeing
    the other's payment still waiting): the pruning forgets it, and keeps the other server's."""
    settle_a_heist(wallet)
    wallet.use_ledger(GUILD)
    payments_kind = se_payments.SePayments(wallet.payments_account_of, wallet.client)
    worker = payments_worker(wallet)
    await dataclasses.replace(worker, kinds=payments_kind.kinds()).run_once()
    assert stored_jwts(engine) == {GUILD: True, OTHER: True}
    with engine.begin() as conn:
        se_leaving.prune_ended(conn, wallet.clock() - timedelta(days=30))
    assert stored_jwts(engine) == {GUILD: False, OTHER: True}


def in_doubt(engine) -> list[int]:
    o = outbox.c
    query = sa.select(o.id).where(o.service == se_payments.SERVICE, o.state == "uncertain")
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


async def test_a_payment_in_doubt_can_be_paid_again_after_the_switch_back(engine, se, wallet):
    """ann's payout answered 500 (nothing taken) after the server went back to the ledger: the
    JWT was forgotten with no payment waiting, so a moderator's "pay again" was queued, then
    refused ("not sent: the server keeps its points in StreamKeeper again"), though the heist
    still owed ann her 100 on StreamElements."""
    wallet.settle(GUILD, "heist", [Settlement("ann", "h1:ann", 100, "h1:ann:pay")])
    assert wallet.use_ledger(GUILD) == 1
    se.fail_next("500")  # StreamElements took nothing, but said so in a way that may hide it
    assert await payments_worker(wallet).run_once() == 1
    [call_id] = in_doubt(engine)
    assert stored_jwts(engine)[GUILD]  # kept: a person may still send it again
    with engine.begin() as conn:  # the hourly pruning keeps it too
        se_leaving.prune_ended(conn, wallet.clock() - timedelta(days=30))
    assert stored_jwts(engine)[GUILD]
    settled = PaymentDoubts(engine, wallet.clock).settle(
        GUILD, call_id, "again", actor="dashboard", actor_id=77
    )
    assert settled.queued
    assert await payments_worker(wallet).run_once() == 1
    assert se.puts == [("ann", 100)]
    assert payments(engine)[-1] == ("ann", 100, "done")
    assert stored_jwts(engine) == {GUILD: False, OTHER: True}  # nothing owed any more


async def test_a_payment_marked_paid_lets_the_jwt_go(engine, se, wallet):
    wallet.settle(GUILD, "heist", [Settlement("ann", "h1:ann", 100, "h1:ann:pay")])
    wallet.use_ledger(GUILD)
    se.fail_next("500_after_apply")
    await payments_worker(wallet).run_once()
    [call_id] = in_doubt(engine)
    PaymentDoubts(engine, wallet.clock).settle(GUILD, call_id, "paid", actor="cli")
    with engine.begin() as conn:
        se_leaving.prune_ended(conn, wallet.clock() - timedelta(days=30))
    assert stored_jwts(engine) == {GUILD: False, OTHER: True}


async def test_payments_given_up_before_the_switch_back_are_made_with_a_new_jwt(engine, se, wallet):
    """StreamElements refused the JWT until ann's payout was given up; the server then went
    back to the ledger, which forgot the channel, so pasting a new JWT for it queued nothing
    ("0 payments queued again") and ann was never paid."""
    wallet.settle(GUILD, "heist", [Settlement("ann", "h1:ann", 100, "h1:ann:pay")])
    se.jwt = "another.jwt.the-streamer-made"  # the stored one was revoked
    assert await payments_worker(wallet, max_attempts=1).run_once() == 1
    assert payments(engine) == [("ann", 100, "failed")]
    assert wallet.use_ledger(GUILD) == 0
    assert wallet.use_streamelements(GUILD, CHANNEL_ID, se.jwt) == (CHANNEL_ID, 1)
    assert wallet.use_ledger(GUILD) == 1  # made on StreamElements all the same
    assert await payments_worker(wallet).run_once() == 1
    assert se.puts == [("ann", 100)]
    assert stored_jwts(engine) == {GUILD: False, OTHER: True}
