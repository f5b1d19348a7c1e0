"""The event log on both buses (embedded on SQLite and PostgreSQL, and Redis): a guild sees only
the events routed to it, dead events are listed, and a retry puts one back in the queue once
(a second retry, or another guild's, does nothing) and it is handled."""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa

from core.bus.event_log import (
    DEAD,
    HANDLED,
    DatabaseEventLog,
    _event,
    event_log_of,
    guild_scope,
    shown_why,
)
from core.events import Event, Followed, Platform, Viewer, event_to_dict
from core.storage.tables import bus_events
from tests.bus import Recorder, make_event, running
from tests.bus.test_redis_streams import Case, case, redis_client  # noqa: F401
from tests.support.clock import Clock
from tests.support.waiting import eventually

GUILD, OTHER_GUILD = 1, 2


def _routes(platform: Platform, broadcaster_user_id: str, chatroom: int | None) -> list[int]:
    return {"broadcaster-1": [GUILD], "broadcaster-2": [OTHER_GUILD]}.get(broadcaster_user_id, [])


def _other(content: str) -> Event:
    return dataclasses.replace(make_event(content), broadcaster_user_id="broadcaster-2")


async def test_a_guild_sees_its_events_and_retries_its_dead_one_once(case: Case):  # noqa: F811
    mine, poison, theirs, their_poison = (
        make_event("mine"), make_event("poison"), _other("theirs"), _other("their poison"),
    )  # fmt: skip
    broken = {poison.key, their_poison.key}

    def fail(event: Event, delivery: int) -> None:
        if event.key in broken:
            raise RuntimeError("never works")

    bus = case.new_bus(max_deliveries=2)
    log = event_log_of(bus, Clock())
    scope, other_scope = guild_scope(GUILD, _routes), guild_scope(OTHER_GUILD, _routes)
    for event in (mine, poison, theirs, their_poison):
        bus.publish(event)
    recorder = Recorder(fail)
    async with running(bus, recorder):
        await eventually(
            lambda: len(case.dead()) == 2 and bus.backlog() == 0, tick=case.tick, within=30
        )

        recent = {e.key: e for e in log.recent(scope)}
        assert set(recent) >= {mine.key}
        assert theirs.key not in recent
        assert their_poison.key not in recent
        assert recent[mine.key].state == HANDLED
        assert log.kinds(scope) == {"chat_message_sent": len(log.recent(scope))}
        (dead,) = log.dead(scope)
        assert (dead.key, dead.state) == (poison.key, DEAD)
        assert dead.error  # why it was set aside
        assert [e.key for e in log.dead(other_scope)] == [their_poison.key]

        assert log.retry(dead.ref, other_scope, actor_id=7) is False  # not that guild's
        assert log.dead(scope) != []
        broken.discard(poison.key)
        assert log.retry(dead.ref, scope, actor_id=7) is True
        assert log.retry(dead.ref, scope, actor_id=7) is False  # once
        assert log.retry("not-an-id", scope, actor_id=7) is False
        await eventually(lambda: recorder.deliveries[poison.key] == 3, tick=case.tick, within=30)
        await eventually(lambda: bus.backlog() == 0, tick=case.tick, within=30)

    assert log.dead(scope) == []
    assert [e.key for e in log.dead(other_scope)] == [their_poison.key]
    assert recorder.deliveries[poison.key] == 3  # two failures, then the retry, handled
    retried = [e for e in log.recent(scope) if e.key == poison.key]
    assert retried
    assert retried[0].state == HANDLED


ODD_REFS = [
    "not-an-id",
    "",
    "0",
    "9223372036854775808",  # past BIGINT: SQLite raised OverflowError (a 500)
    "9999999999999999999",
    "99999999999999999999999",  # past 64 bits: Redis answered "Invalid stream ID" (a 500)
    "1-99999999999999999999999",
    "\u0661\u0662",  # other scripts' digits pass isdecimal()
    "1-",
    "-1",
    "1-2-3",
    "0" * 5_000 + "1",
]


def test_a_ref_no_store_can_hold_finds_and_retries_nothing(case: Case):  # noqa: F811
    """The replay and retry buttons send a ref back: whatever comes instead is no event."""
    bus = case.new_bus(max_deliveries=2)
    log = event_log_of(bus, Clock())
    scope = guild_scope(GUILD, _routes)
    bus.publish(make_event("mine"))
    for ref in ODD_REFS:
        assert log.find(ref, scope) is None, ref
        assert log.retry(ref, scope, actor_id=7) is False, ref


def _logged(engine, events: list[Event], *, acked: bool) -> None:  # type: ignore[no-untyped-def]
    """``events`` in the database bus's log, in order (handled when ``acked``)."""
    with engine.begin() as conn:
        conn.execute(
            bus_events.insert(),
            [
                {
                    "event_key": event.key,
                    "payload": json.dumps(event_to_dict(event)),
                    "published_at": event.occurred_at,
                    "acked_at": event.occurred_at if acked else None,
                }
                for event in events
            ],
        )


def test_the_page_decodes_each_event_once_across_views(engine):
    """The event log page reads the newest 2,000 entries at every view; decoding them all again
    was most of its time with a busy chat (issue 27): an entry is decoded once, while the
    events of the window are the same objects from view to view."""
    _logged(engine, [make_event(f"line {n}") for n in range(30)] + [_other("theirs")], acked=True)
    log, scope = DatabaseEventLog(engine, Clock()), guild_scope(GUILD, _routes)
    _event.cache_clear()
    assert log.kinds(scope) == {"chat_message_sent": 30}
    first = log.recent(scope, 10)
    decoded = _event.cache_info().misses
    assert decoded == 31
    assert log.kinds(scope) == {"chat_message_sent": 30}
    assert log.recent(scope, 10) == first
    assert _event.cache_info().misses == decoded  # nothing decoded again
    assert [e.said for e in first][:2] == [e.said for e in log.recent(scope, 2)]


def test_the_newest_of_several_kinds_come_from_one_read_newest_first(engine):
    """The alerts page's replay list: the newest events of any of the replayable kinds, the
    guild's only, newest first, at most ``limit``, from one read of the window (it read the
    window once per kind)."""

    def follow(n: int, broadcaster: str = "broadcaster-1") -> Event:
        return Followed(
            platform=Platform.KICK,
            event_id=f"f{n}",
            broadcaster_user_id=broadcaster,
            occurred_at=make_event().occurred_at,
            viewer=Viewer(str(n), f"fan{n}"),
        )

    published = [follow(1), make_event("a"), follow(2), follow(3, "broadcaster-2"), follow(4)]
    _logged(engine, published, acked=False)
    log, scope = DatabaseEventLog(engine, Clock()), guild_scope(GUILD, _routes)
    reads: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: reads.append(args[2]))

    found = log.recent_of(scope, {"followed", "cheered", "raided"}, 2)
    assert [e.key for e in found] == [follow(4).key, follow(2).key]  # newest first, at most 2
    assert len([r for r in reads if "FROM bus_events" in r]) == 1  # one read, three kinds
    every = log.recent_of(scope, {"followed", "chat_message_sent"}, 10)
    assert [e.key for e in every] == [follow(4).key, follow(2).key, published[1].key, follow(1).key]
    assert log.recent_of(scope, {"raided"}, 10) == []


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (None, ""),
        ("KeyError('guild 5: points')",
         "Handling failed (KeyError); the bot's log has the details."),
        ("undecodable: Expecting value", "This version of the bot cannot read it."),
        ("re-queued by 4242 at 2026-11-29 after: boom", "Re-queued from the event log."),
        ("waiting: link not ready", "Waiting for what it needs."),
        ("kick:x not acknowledged after 5 failed deliveries",
         "Not handled after repeated tries; the bot's log has the details."),
        ("<no exception name> 10.9.8.7", "Handling failed; the bot's log has the details."),
    ],
)  # fmt: skip
def test_the_log_shows_a_failures_kind_never_its_text(stored, shown):
    assert shown_why(stored) == shown
