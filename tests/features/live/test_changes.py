"""Live change notes: marked in the writer's transaction, told only after it commits, numbered
by the backend, and heard by another process (the table's poll, Redis pub/sub)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy as sa

from core.events import Platform
from core.features.live import backends
from core.features.live.backends import MemoryLive, RedisLive, TableLive
from core.features.live.changes import LiveNotifier, touch, watch_commits
from core.features.live.tables import live_changes
from core.features.raffle.awards_repository import TicketAward, award, award_many
from tests.features.raffle.support import make_service
from tests.support.clock import Clock

GUILD = 111


class Heard:
    def __init__(self) -> None:
        self.notes: list[tuple[int, str, int]] = []
        self.event = threading.Event()

    def __call__(self, guild_id: int, topic: str, seq: int) -> None:
        self.notes.append((guild_id, topic, seq))
        self.event.set()


def test_marks_are_told_after_commit_and_dropped_on_rollback(engine):
    told: list[set] = []
    watch_commits(engine, lambda changes: told.append(set(changes)))
    with engine.begin() as conn:
        touch(conn, GUILD, "vip")
        touch(conn, GUILD, "vip")
        touch(conn, 222, "raffle")
    assert told == [{(GUILD, "vip"), (222, "raffle")}]

    def failing() -> None:
        with engine.begin() as conn:
            touch(conn, GUILD, "events")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        failing()
    with engine.begin() as conn:  # the next transaction on that connection carries nothing
        conn.execute(sa.text("SELECT 1"))
    assert told == [{(GUILD, "vip"), (222, "raffle")}]


def test_a_note_is_told_only_once_its_change_is_readable(engine):
    """SQLAlchemy's ``commit`` event fires before the driver's commit: a note told there reached
    a PostgreSQL reader before the change (the alerts overlay read nothing and skipped the
    alert). Told on the next begin or at the check-in, the change is there to read."""
    reader = sa.create_engine(engine.url.render_as_string(hide_password=False))
    seen_when_told: list[list[int]] = []

    def told(changes: object) -> None:
        with reader.connect() as conn:  # another session, as a web process reads
            rows = conn.execute(
                sa.select(live_changes.c.seq).where(live_changes.c.guild_id == GUILD)
            )
            seen_when_told.append(sorted(rows.scalars()))

    watch_commits(engine, told)
    try:
        with engine.begin() as conn:  # told when the connection goes back to the pool
            conn.execute(live_changes.insert().values(guild_id=GUILD, topic="vip", seq=7))
            touch(conn, GUILD, "vip")
        with engine.connect() as conn:  # told when the connection begins its next transaction
            conn.execute(live_changes.insert().values(guild_id=GUILD, topic="raffle", seq=8))
            touch(conn, GUILD, "raffle")
            conn.commit()
            conn.execute(sa.text("SELECT 1"))
            assert len(seen_when_told) == 2
    finally:
        reader.dispose()
    assert seen_when_told == [[7], [7, 8]]


def test_notifier_coalesces_a_burst_into_one_note():
    backend = MemoryLive()
    heard = Heard()
    backend.listen(heard)
    notifier = LiveNotifier(backend, interval=60)
    for _ in range(50):
        notifier.changed(GUILD, "events")
    notifier.changed(GUILD, "raffle")
    notifier.flush()
    assert sorted(heard.notes) == [(GUILD, "events", 1), (GUILD, "raffle", 1)]
    notifier.changed(GUILD, "events")
    notifier.close()  # publishes what is pending
    assert heard.notes[-1] == (GUILD, "events", 2)


def test_table_numbers_changes_and_another_process_hears_them_by_polling(engine):
    publisher, web = TableLive(engine), TableLive(engine)
    heard = Heard()
    web.poll()  # nothing yet
    web._listeners.append(heard)  # listen without the poll thread: poll by hand
    publisher.publish([(GUILD, "vip"), (GUILD, "raffle")])
    publisher.publish([(GUILD, "vip")])
    assert web.latest(GUILD, "vip") == 2
    assert web.latest(GUILD, "events") == 0
    web.poll()
    assert sorted(heard.notes) == [(GUILD, "raffle", 1), (GUILD, "vip", 2)]
    web.poll()  # nothing new: nothing told twice
    assert len(heard.notes) == 2


def test_table_poll_thread_hears_the_bot_process(engine):
    publisher, web = TableLive(engine), TableLive(engine, poll_seconds=0.05)
    heard = Heard()
    web.listen(heard)
    try:
        publisher.publish([(GUILD, "vip")])
        assert heard.event.wait(30)  # its poll thread, on PostgreSQL too
        assert heard.notes == [(GUILD, "vip", 1)]
    finally:
        web.close()


def test_redis_numbers_and_publishes_to_every_subscriber(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.delete(f"sk:live:seq:{GUILD}:vip")
    publisher, web = RedisLive(client), RedisLive(redis.Redis.from_url(redis_url))
    heard = Heard()
    web.listen(heard)
    try:
        for _ in range(300):  # the subscription starts on its thread: publish until heard
            publisher.publish([(GUILD, "vip")])
            if heard.event.wait(0.1):
                break
        assert heard.notes
        assert heard.notes[0][:2] == (GUILD, "vip")
        assert web.latest(GUILD, "vip") == publisher.latest(GUILD, "vip") >= heard.notes[0][2]
        web._heard(b"not:a:note")  # a stray message on the channel is ignored
        web._heard(b"1:nope:2")
        assert all(topic == "vip" for _g, topic, _s in heard.notes)
    finally:
        web.close()


def test_a_change_published_while_the_subscription_was_down_is_heard_once_it_is_back(
    redis_url, monkeypatch
):
    """A web process hears other processes' notes through pub/sub only. A note published while
    its subscription is down (a Redis restart, a network or proxy cut) reaches nobody: once
    subscribed again, it reads the numbers of what it follows, so an alert recorded in the gap
    is not held back until the next one."""
    channel, name = "sk:live:test-gap", "live-test-gap-web"
    monkeypatch.setattr(backends, "CHANNEL", channel)  # this test's subscribers only
    admin = redis.Redis.from_url(redis_url)
    key = f"sk:live:seq:{GUILD}:alerts"
    admin.delete(key)
    web = RedisLive(redis.Redis.from_url(redis_url, client_name=name))
    heard = Heard()
    web.listen(heard)

    def subscribed() -> bool:
        return int(dict(admin.pubsub_numsub(channel)).get(channel.encode(), 0)) >= 1

    try:
        assert web.latest(GUILD, "alerts") == 0  # an open alerts overlay follows the topic
        assert _until(subscribed)
        for _ in range(100):  # until a note is published while the subscription is down
            for entry in admin.client_list(_type="pubsub"):
                if entry.get("name") == name:  # only this test's own connection
                    admin.client_kill_filter(_id=entry["id"])
            seq = admin.incr(key)
            if admin.publish(channel, f"{GUILD}:alerts:{seq}") == 0:
                break
        else:
            pytest.fail("no note was published while the subscription was down")
        missed = (GUILD, "alerts", seq)
        assert _until(lambda: missed in heard.notes), f"{missed} is never heard"
    finally:
        web.close()
        admin.delete(key)
        admin.close()


def _until(condition, within: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``condition`` until it holds or ``within`` s passed (only a failing run waits)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_raffle_awards_mark_the_guilds_standings(engine):
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    raffle = make_service(engine, clock)
    period = raffle.periods.start(GUILD)
    told: list[set] = []
    watch_commits(engine, lambda changes: told.append(set(changes)))

    def ticket(ref: str) -> TicketAward:
        return TicketAward(
            GUILD, period.id, Platform.KICK, "u1", 5, "admin", ref, 1, "test", clock()
        )

    with engine.begin() as conn:
        assert award(conn, ticket("a"))
    with engine.begin() as conn:
        assert not award(conn, ticket("a"))  # a replay changes nothing: no note
    with engine.begin() as conn:
        award_many(conn, [ticket("b"), ticket("c")])
    assert told == [{(GUILD, "raffle")}, {(GUILD, "raffle")}]


def test_a_period_opening_and_closing_marks_the_guilds_standings(engine):
    """Open boards (the dashboard's standings, the raffle overlay) move to the new period at
    once, and show a closed one as closed, without waiting for a ticket or a draw."""
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    raffle = make_service(engine, clock)
    told: list[set] = []
    watch_commits(engine, lambda changes: told.append(set(changes)))

    raffle.periods.start(GUILD)
    assert {(GUILD, "raffle")} in told
    told.clear()
    raffle.periods.end(GUILD)
    assert any((GUILD, "raffle") in changes for changes in told)
    assert all(guild == GUILD for changes in told for guild, _ in changes)
