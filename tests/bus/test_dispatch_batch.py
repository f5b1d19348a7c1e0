"""Chat events handed over in batches: the same effects as one by one, in a few transactions, with
statements SQLAlchemy compiles once, and a failing event failing alone."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.bus.dispatch import Dispatcher, handles_many
from core.bus.embedded import EmbeddedBus
from core.events import ChatMessageSent
from core.features.points.tables import points_accrual
from core.features.viewers.tables import viewers
from core.features.watchtime.tables import watch_presence
from core.metrics import Metrics
from core.storage.tables import bus_events
from tests.support.events import chat_message

GUILD = 111111111111111111
BROADCASTER = "4242"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def chat(n: int, viewer: int, content: str | None = None) -> ChatMessageSent:
    return chat_message(
        f"message {n}" if content is None else content,
        broadcaster=BROADCASTER,
        user_id=str(900 + viewer),
        username=f"viewer{viewer}-{n}",
        at=T0 + timedelta(seconds=n),
        event_id=f"m{n}",
    )


@pytest.fixture
def runtime(make_runtime, migrated_database_url):
    rt = make_runtime(DATABASE_URL=migrated_database_url)
    rt.guilds.set_kick_channel(GUILD, "batchchannel", BROADCASTER)
    return rt


def _pairs(conn, key, value) -> dict:
    return {row[0]: row[1] for row in conn.execute(sa.select(key, value))}


def _count_commits(engine) -> list[int]:
    """Transactions that wrote (committed); reads roll back."""
    committed = [0]

    @sa.event.listens_for(engine, "commit")
    def count(conn) -> None:
        committed[0] += 1

    return committed


async def test_a_batch_of_chats_has_the_effects_of_one_by_one_in_a_few_transactions(runtime):
    # 5 viewers, 10 messages each, the last of viewer 0 a command (earns nothing), and one
    # message of viewer 1 repeating its previous text (a repeat earns nothing).
    events = [chat(n, n % 5) for n in range(50)]
    events[45] = chat(45, 0, "!points")
    events[46] = chat(46, 1, "message 41")
    for event in events:
        assert runtime.bus.publish(event)
    committed = _count_commits(runtime.engine)

    assert await runtime.bus.deliver_due(runtime.dispatcher) == 50
    await runtime.chat_commands.flush()  # the !points reply: it reads, and queues its line
    transactions = committed[0]

    assert runtime.bus.backlog() == 0
    # Watchtime's one and points' one for the batch (every guild's at once), the
    # acknowledgement, the reply's line queued in the outbox, and the command kept until it
    # has run and then let go (chat_commands_pending), and when chat last came (event_arrivals,
    # at most once a minute); one by one it was two per message.
    assert transactions == 1 + 1 + 1 + 1 + 2 + 1
    with runtime.engine.connect() as conn:
        presence = _pairs(conn, watch_presence.c.platform_user_id, watch_presence.c.last_active_at)
        names = _pairs(conn, viewers.c.platform_user_id, viewers.c.username)
        earned = _pairs(conn, points_accrual.c.platform_user_id, points_accrual.c.chat_points)
    last = {str(900 + v): max(n for n in range(50) if n % 5 == v) for v in range(5)}
    assert {user: at.astimezone(UTC) for user, at in presence.items()} == {
        user: T0 + timedelta(seconds=n) for user, n in last.items()
    }
    assert names == {user: f"viewer{int(user) - 900}-{n}" for user, n in last.items()}
    assert earned == {"900": 9, "901": 9, "902": 10, "903": 10, "904": 10}

    # Delivered again (a crash before the acknowledgement): nothing changes.
    with runtime.engine.begin() as conn:
        conn.execute(sa.update(bus_events).values(acked_at=None))
    assert await runtime.bus.deliver_due(runtime.dispatcher) == 50
    with runtime.engine.connect() as conn:
        again = _pairs(conn, points_accrual.c.platform_user_id, points_accrual.c.chat_points)
    assert again == earned


async def test_the_chat_path_runs_statements_compiled_once(runtime, caplog):
    """Every statement of a chat event, after the first few, comes from SQLAlchemy's cache."""

    async def one_round(start: int) -> None:
        for n in range(start, start + 3):  # one by one, then a batch
            await runtime.dispatcher(chat(n, n % 2))
        await runtime.dispatcher.handle_many([chat(n, n % 2) for n in range(start + 3, start + 9)])

    await one_round(0)
    await one_round(10)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
        await one_round(20)

    # The live notifier's thread publishes what changed once a second, on the same engine: its
    # first publish may fall in this round on a slow machine, and it is not the chat path.
    compiled = [
        r.getMessage()
        for r in caplog.records
        if r.name == "sqlalchemy.engine.Engine" and r.threadName != "live"
    ]
    # "[raw sql]" is SQL passed as is (BEGIN IMMEDIATE on SQLite): nothing to compile.
    marks = [m for m in compiled if m.startswith("[") and not m.startswith("[raw sql]")]
    assert any(m.startswith("[cached since") for m in marks)
    assert [m for m in marks if not m.startswith("[cached since")] == []


class Chats:
    """A chat handler with a batch form; messages saying "bad" fail."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.batches = 0

    @handles_many("record_many")
    def record(self, guild_id: int, event: ChatMessageSent) -> None:
        if event.content == "bad":
            raise ValueError("bad message")
        self.done.append(event.event_id)

    def record_many(self, guild_id: int, events: list[ChatMessageSent]) -> None:
        self.batches += 1
        if any(event.content == "bad" for event in events):
            raise ValueError("bad message in the batch")  # all or nothing: nothing kept
        self.done.extend(event.event_id for event in events)


async def test_one_failing_event_in_a_batch_fails_alone_and_skips_the_next_handlers():
    chats, after = Chats(), []
    dispatcher = Dispatcher(
        {ChatMessageSent: [chats.record, lambda guild_id, event: after.append(event.event_id)]},
        lambda platform, broadcaster, via: [GUILD],
        Metrics(),
    )
    events = [chat(0, 0), chat(1, 1, "bad"), chat(2, 2)]

    outcomes = await dispatcher.handle_many(events)

    assert [type(outcome) for outcome in outcomes] == [type(None), ValueError, type(None)]
    assert chats.batches == 1
    assert chats.done == ["m0", "m2"]
    assert after == ["m0", "m2"]


async def test_the_embedded_bus_acknowledges_a_batch_but_retries_its_failed_event(engine):
    chats = Chats()
    dispatcher = Dispatcher(
        {ChatMessageSent: [chats.record]}, lambda platform, broadcaster, via: [GUILD], Metrics()
    )
    bus = EmbeddedBus(engine)
    try:
        for event in [chat(0, 0), chat(1, 1, "bad"), chat(2, 2)]:
            bus.publish(event)

        assert await bus.deliver_due(dispatcher) == 3

        with engine.connect() as conn:
            rows = {
                row.event_key: row
                for row in conn.execute(sa.select(bus_events).order_by(bus_events.c.id))
            }
        assert [row.acked_at is not None for row in rows.values()] == [True, False, True]
        failed = rows[chat(1, 1).key]
        assert failed.attempts == 1
        assert "bad message" in failed.last_error
        assert chats.done == ["m0", "m2"]
    finally:
        bus.close()
