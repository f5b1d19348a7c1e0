"""Settling calls in doubt, on the outbox's own statements (queue, claim, finish): only an
uncertain call of the guild can be settled, once, with a known action; a call of another
service is listed in its service's words; two admins at once settle a call once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from core.features.directory import repository as directory
from core.features.payments.service import AlreadySettled, PaymentDoubts, SettleRefused
from core.features.points.se_payments import queue_payment
from core.outbox import store
from core.outbox.store import KEY_MAX, Effect, again_key
from core.storage.tables import outbox
from tests.support.clock import Clock

GUILD, OTHER_GUILD = 111, 222
T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def doubts(engine, clock) -> PaymentDoubts:
    return PaymentDoubts(engine, clock)


def _end(engine, service: str, state: str, result: str) -> list[int]:
    """A worker claims every due call of ``service`` and records ``state`` for each."""
    with engine.begin() as conn:
        calls = store.claim(conn, service, "w", T0, T0.replace(hour=9), 100)
        for call in calls:
            assert store.finish(conn, call.id, "w", state, result, T0)
    return [call.id for call in calls]


def _admin_grant(engine, guild_id: int = GUILD, ref: str = "discord:1") -> int:
    with engine.begin() as conn:
        queue_payment(conn, guild_id, "ann", 250, "admin", ref, T0, actor_id=77, reason="raid")
    [call_id] = _end(engine, "streamelements", store.UNCERTAIN, "may or may not be applied")
    return call_id


def test_an_admin_grant_in_doubt_says_who_gave_it_and_why(doubts, engine):
    _admin_grant(engine)
    [doubt] = doubts.doubtful(GUILD)
    assert (doubt.who, doubt.amount, doubt.why) == ("ann", 250, "admin change (raid)")
    assert doubt.result == "may or may not be applied"
    with engine.begin() as conn:  # the bot has seen the admin: by name, never by id
        directory.save_members(conn, GUILD, [directory.Member(77, "Bea")], T0)
        directory.save_members(conn, GUILD + 1, [directory.Member(77, "Elsewhere")], T0)
    [doubt] = doubts.doubtful(GUILD)
    assert doubt.why == "admin change by Bea (raid)"


def test_an_operators_grant_from_the_command_line_says_so(doubts, engine):
    with engine.begin() as conn:
        queue_payment(conn, GUILD, "ann", 250, "admin", "cli:1", T0, actor="cli", reason="")
    _end(engine, "streamelements", store.UNCERTAIN, "may or may not be applied")
    [doubt] = doubts.doubtful(GUILD)
    assert doubt.why == "admin change by the operator (command line)"


def test_another_services_call_is_listed_in_its_own_words_and_counted_apart(doubts, engine):
    _admin_grant(engine)
    effect = Effect("discord", "slot_calls.post", GUILD, "post:1", {"channel_id": 5})
    told = Effect("discord", "vip.notice", GUILD, "notice:1", {}, "post in the VIP channel: hi")
    with engine.begin() as conn:
        store.enqueue(conn, effect, T0)
        store.enqueue(conn, told, T0)
    _end(engine, "discord", store.UNCERTAIN, "no answer within 30 s")
    newest, unnamed = doubts.doubtful(GUILD)[:2]
    assert (newest.why, newest.result) == ("post in the VIP channel: hi", "no answer within 30 s")
    assert (unnamed.service, unnamed.who, unnamed.amount) == ("discord", None, None)
    assert (unnamed.why, unnamed.result) == ("slot_calls.post", "no answer within 30 s")
    assert not newest.is_payment
    assert doubts.in_doubt_by_service(["discord", "kick-chat"]) == {
        "discord": 2,
        "kick-chat": 0,
        "streamelements": 1,
    }
    assert doubts.in_doubt_by_service() == {"streamelements": 1}
    assert doubts.health_check().detail == (
        "1 payment(s) in doubt in 1 server(s): settle them with !payments or the dashboard"
    )
    assert doubts.health_check().degraded


def test_a_payment_sent_again_keeps_what_it_does(doubts, engine):
    call_id = _admin_grant(engine)

    settled = doubts.settle(GUILD, call_id, "again", actor="cli")

    with engine.connect() as conn:
        again = next(s for s in store.of_guild(conn, GUILD) if s.key == settled.again_key)
    assert again.summary == "give ann 250 StreamElements points (an admin's change)"


def test_only_an_uncertain_call_can_be_settled(doubts, engine):
    with engine.begin() as conn:
        queue_payment(conn, GUILD, "bob", 10, "heist", "1:kick:2:payout", T0)
    [done] = _end(engine, "streamelements", store.DONE, "+10 to bob: 20 now")
    with pytest.raises(SettleRefused, match=r"not in doubt: done \(\+10 to bob"):
        doubts.settle(GUILD, done, "paid", actor="cli")
    with pytest.raises(SettleRefused, match="no call #999999"):
        doubts.settle(GUILD, 999999, "paid", actor="cli")


@pytest.mark.parametrize("action", ["", "refund", "paid twice"])
def test_an_unknown_action_is_refused_plainly(doubts, engine, action):
    call_id = _admin_grant(engine)
    with pytest.raises(SettleRefused, match="Say paid"):
        doubts.settle(GUILD, call_id, action, actor="cli")
    assert len(doubts.doubtful(GUILD)) == 1


def test_a_long_key_gets_a_distinct_again_key_that_fits():
    key = "points.se-pay:111:heist:" + "x" * 240
    assert len(again_key(key)) <= KEY_MAX
    assert again_key(key) != again_key(key[:-1] + "y")
    assert again_key("k") == "k:again"


def test_with_no_call_in_doubt_health_says_none(doubts):
    check = doubts.health_check()
    assert (check.ok, check.detail) == (True, "0 payment(s) in doubt in 0 server(s)")
    assert doubts.in_doubt_by_service() == {"streamelements": 0}


def test_two_admins_at_once_settle_a_call_once(postgres_engine, clock):
    """On PostgreSQL, two settlements started together: one wins, the other is told."""
    doubts = PaymentDoubts(postgres_engine, clock)
    call_id = _admin_grant(postgres_engine)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def settle(admin: int) -> None:
        start.wait()
        try:
            outcomes.append(doubts.settle(GUILD, call_id, "again", actor="discord", actor_id=admin))
        except AlreadySettled as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=settle, args=(admin,)) for admin in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadySettled", "Settled"]
    with postgres_engine.connect() as conn:
        rows = conn.execute(outbox.select().where(outbox.c.effect_key.like("%:again"))).all()
    assert len(rows) == 1
