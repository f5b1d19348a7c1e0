"""A heist payout whose StreamElements calls end uncertain (the fake answers 500 after or before
applying: nobody can tell) is listed for the guild's admins with who, how much and why, and each
payment is settled once: "mark paid" records it, "pay again" queues one new call that the
streamelements worker makes; a second settlement is refused, naming who settled it."""

from __future__ import annotations

import pytest

from core.events import Platform
from core.features.heist.rules import HeistRules
from core.features.heist.service import HeistService
from core.features.payments.service import AlreadySettled, PaymentDoubts, SettleRefused
from core.features.points.se_wallet import SeWallet
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.heist.conftest import GUILD
from tests.features.points.se_support import payments, payments_worker
from tests.support.waiting import no_sleep

WIN, LOSE = 0.0, 0.999
ADMIN, OTHER_ADMIN = 900000000000000001, 900000000000000003
OTHER_GUILD = 222


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        fake.points.update(viewer1=1000, viewer2=1000)
        yield fake


@pytest.fixture
async def wallet(engine, clock, se):
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        wallet = SeWallet(engine, clock, TokenCipher(TEST_FERNET_KEY), client)
        wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
        yield wallet


@pytest.fixture
def chat(chat):
    """StreamElements keeps points by Twitch login, so these viewers speak in Twitch chat."""
    chat.platform = Platform.TWITCH
    return chat


@pytest.fixture
def service(engine, clock, points, tiers, draws, wallet) -> HeistService:
    return HeistService(
        engine, clock, points, HeistRules(), sub_tiers=tiers, draw=draws, wallet=wallet
    )


@pytest.fixture
def doubts(engine, clock) -> PaymentDoubts:
    return PaymentDoubts(engine, clock)


async def _payout_in_doubt(chat, heist_chat, se, wallet, clock, draws) -> None:
    """viewer1 wins (+100 net), viewer2 loses (-400); StreamElements answers both PUTs 500,
    the first after applying it, the second before."""
    await chat.say("!join 200 low", "1")
    await chat.say("!join 400 high", "2")
    clock.advance(120)
    draws.push(WIN, LOSE)
    await heist_chat.resolve_due()
    se.fail_next("500_after_apply", "500")
    assert await payments_worker(wallet).run_once() == 2


async def test_a_heist_payout_answered_500_is_listed_with_who_how_much_and_why(
    chat, heist_chat, se, wallet, engine, clock, draws, doubts
):
    await _payout_in_doubt(chat, heist_chat, se, wallet, clock, draws)
    assert payments(engine) == [("viewer1", 100, "uncertain"), ("viewer2", -400, "uncertain")]
    listed = doubts.doubtful(GUILD)
    assert [(d.who, d.amount) for d in listed] == [("viewer2", -400), ("viewer1", 100)]
    assert all(d.why.startswith("heist #") and d.why.endswith(" payout") for d in listed)
    assert all("answered 500" in d.result and "check it by hand" in d.result for d in listed)
    assert all(d.is_payment for d in listed)
    assert doubts.count(GUILD) == 2
    assert doubts.doubtful(OTHER_GUILD) == []
    assert doubts.in_doubt_by_service() == {"streamelements": 2}
    assert doubts.health_check().ok
    assert doubts.health_check().detail == (
        "2 payment(s) in doubt in 1 server(s): settle them with !payments or the dashboard"
    )


async def test_mark_paid_settles_once_and_a_second_settlement_names_who_settled_it(
    chat, heist_chat, se, wallet, engine, clock, draws, doubts
):
    await _payout_in_doubt(chat, heist_chat, se, wallet, clock, draws)
    landed = next(d for d in doubts.doubtful(GUILD) if d.who == "viewer1")
    assert se.puts == [("viewer1", 100)]  # the admin checks StreamElements: it landed

    settled = doubts.settle(GUILD, landed.id, "paid", actor="discord", actor_id=ADMIN,
                            reason="checked the SE log")  # fmt: skip
    assert (settled.action, settled.again_key, settled.queued) == ("paid", None, False)
    assert [d.who for d in doubts.doubtful(GUILD)] == ["viewer2"]
    with pytest.raises(AlreadySettled) as second:
        doubts.settle(GUILD, landed.id, "again", actor="dashboard", actor_id=OTHER_ADMIN)
    assert "marked paid by an admin in Discord" in str(second.value)  # unseen: no id shown
    assert str(ADMIN) not in str(second.value)
    assert "marked paid" in str(second.value)
    assert "checked the SE log" in str(second.value)
    assert await payments_worker(wallet).run_once() == 0  # nothing sent for it
    assert se.puts == [("viewer1", 100)]


async def test_pay_again_queues_one_new_call_that_the_worker_makes_never_twice(
    chat, heist_chat, se, wallet, engine, clock, draws, doubts
):
    await _payout_in_doubt(chat, heist_chat, se, wallet, clock, draws)
    lost = next(d for d in doubts.doubtful(GUILD) if d.who == "viewer2")
    assert se.points["viewer2"] == 1000  # the admin checks: it did not land

    settled = doubts.settle(GUILD, lost.id, "again", actor="cli", reason="not in SE")
    assert settled.queued
    assert settled.again_key == f"{lost.key}:again"
    with pytest.raises(AlreadySettled) as asked_twice:
        doubts.settle(GUILD, lost.id, "again", actor="discord", actor_id=OTHER_ADMIN)
    assert "sent again by the operator from the server" in str(asked_twice.value)

    assert await payments_worker(wallet).run_once() == 1
    assert se.puts == [("viewer1", 100), ("viewer2", -400)]
    assert se.points["viewer2"] == 600
    assert await payments_worker(wallet).run_once() == 0
    assert payments(engine)[-1] == ("viewer2", -400, "done")
    assert len(payments(engine)) == 3
    assert [d.who for d in doubts.doubtful(GUILD)] == ["viewer1"]


async def test_another_guilds_admin_can_neither_see_nor_settle_the_call(
    chat, heist_chat, se, wallet, clock, draws, doubts
):
    await _payout_in_doubt(chat, heist_chat, se, wallet, clock, draws)
    [first, second] = doubts.doubtful(GUILD)
    assert doubts.doubtful(OTHER_GUILD) == []
    for call in (first, second):
        with pytest.raises(SettleRefused, match=f"no call #{call.id} in this server"):
            doubts.settle(OTHER_GUILD, call.id, "again", actor="discord", actor_id=OTHER_ADMIN)
    assert len(doubts.doubtful(GUILD)) == 2
    assert await payments_worker(wallet).run_once() == 0


async def test_a_payment_sent_again_that_ends_in_doubt_too_is_listed_as_sent_again(
    chat, heist_chat, se, wallet, clock, draws, doubts
):
    await _payout_in_doubt(chat, heist_chat, se, wallet, clock, draws)
    lost = next(d for d in doubts.doubtful(GUILD) if d.who == "viewer2")
    doubts.settle(GUILD, lost.id, "again", actor="discord", actor_id=ADMIN)
    se.fail_next("500")
    assert await payments_worker(wallet).run_once() == 1
    newest = doubts.doubtful(GUILD)[0]
    assert (newest.who, newest.amount, newest.key) == ("viewer2", -400, f"{lost.key}:again")
    assert newest.why == f"{lost.why} (sent again)"
    doubts.settle(GUILD, newest.id, "again", actor="discord", actor_id=ADMIN)
    assert await payments_worker(wallet).run_once() == 1
    assert se.puts[-1] == ("viewer2", -400)
