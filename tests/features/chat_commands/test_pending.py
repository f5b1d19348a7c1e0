"""Chat commands kept until they have run: the bus acknowledges a chat message as soon as the
router queued its command, so a bot process killed before the command ran would lose it. Each
accepted command is a row of ``chat_commands_pending`` until it has run; another process takes
a dead one's rows once its heartbeat lease ends, and a stopping one hands over what it did not
get to. Real leases and both databases."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.chat_commands.pending import FORGOTTEN, STALE, PendingCommands
from core.features.chat_commands.queued import QueuedChat
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommand, ChatCommandRouter, ChatInvocation
from core.features.chat_commands.tables import chat_commands_pending
from core.ratelimits import MemoryWindows
from core.storage import db
from tests.features.chat_commands.doubles import T0, RecordingSender, replier_for, webhook_chat
from tests.features.chat_commands.test_queued import chat_worker
from tests.outbox.test_claims import beating, end_heartbeat
from tests.support.clock import Clock, Ticker

GUILD = 111


class Hanging:
    """A command that never ends: the process is killed while it runs."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def __call__(self, invocation: ChatInvocation) -> str | None:
        self.started.set()
        await asyncio.Event().wait()
        return None

    async def has_started(self) -> None:
        await asyncio.wait_for(self.started.wait(), timeout=60)


class Answering:
    def __init__(self) -> None:
        self.calls: list[ChatInvocation] = []

    async def __call__(self, invocation: ChatInvocation) -> str | None:
        self.calls.append(invocation)
        return f"joined with {invocation.arguments}"


class Process:
    """One bot process's router, its commands kept as ``name`` (whose heartbeat beats)."""

    def __init__(self, engine: Engine, clock: Clock, name: str, handler, **options) -> None:  # type: ignore[no-untyped-def]
        beating(engine, name)
        self.sender = RecordingSender()
        self.router = ChatCommandRouter(
            [ChatCommand("join", handler)],
            replier_for(self.sender),
            clock=Ticker(),
            pending=PendingCommands(engine, clock, name),
            **options,
        )

    def kill(self) -> None:
        """As ``kill -9``: its commands stop where they are and nothing is given back."""
        for worker in self.router._workers.values():
            worker.cancel()


def rows(engine: Engine) -> list[tuple[str, str, str]]:
    t = chat_commands_pending
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t.c.command, t.c.arguments, t.c.holder))]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


async def test_a_command_a_killed_process_never_finished_is_run_by_another(engine, clock):
    hanging = Hanging()
    dead = Process(engine, clock, "dead", hanging)
    chat = webhook_chat("!join 500", at=T0)
    await dead.router.handle(GUILD, chat)  # accepted, the message acknowledged
    await hanging.has_started()
    dead.kill()
    assert rows(engine) == [("join", "500", "dead")]

    answering = Answering()
    living = Process(engine, clock, "living", answering)
    assert await living.router.recover() == 0  # "dead" still beats: its command is its own
    end_heartbeat(engine, "dead")
    assert await living.router.recover() == 1
    await living.router.flush()

    [invocation] = answering.calls
    assert (invocation.guild_id, invocation.arguments, invocation.event.key) == (
        GUILD,
        "500",
        chat.key,
    )
    assert invocation.viewer == chat.viewer
    assert living.sender.texts == ["joined with 500"]
    assert rows(engine) == []
    assert await living.router.recover() == 0  # run once


class JoinsOnce:
    """As ``!join`` answers: the first run joins the crew, a second run of the same message is
    refused by the heist."""

    def __init__(self) -> None:
        self.calls: list[ChatInvocation] = []

    async def __call__(self, invocation: ChatInvocation) -> str | None:
        self.calls.append(invocation)
        if len(self.calls) == 1:
            return "You are in with 20 points: 2 in the crew, 55 s left to join."
        return "You are already in this heist's crew."


class KilledAfterQueuingItsReply:
    """A chat sender that queues the reply in the real chat outbox; the process is killed
    right after, before the router deletes the command's row."""

    def __init__(self, queued: QueuedChat) -> None:
        self.queued = queued
        self.queued_reply = asyncio.Event()

    async def send(self, **line) -> None:  # type: ignore[no-untyped-def]
        sender = self.queued.sender_for(Platform.KICK)
        assert sender is not None
        await sender.send(**line)
        self.queued_reply.set()
        await asyncio.Event().wait()  # kill -9 lands here


async def test_a_command_run_again_after_a_kill_is_answered_once(engine, clock):
    """Process A runs !join and queues its reply, then is killed before the command's row
    goes; B takes the row over and runs it again, and the heist refuses the second join. The
    viewer's one message gets one reply in chat: the first."""
    kick = RecordingSender()
    queued = QueuedChat(engine, clock, lambda platform: kick)
    handler = JoinsOnce()
    dying = KilledAfterQueuingItsReply(queued)
    beating(engine, "a")
    a = ChatCommandRouter(
        [ChatCommand("join", handler)],
        ChatReplier(lambda platform: dying),
        clock=Ticker(),
        pending=PendingCommands(engine, clock, "a"),
    )
    await a.handle(GUILD, webhook_chat("!join 20", at=T0))
    await asyncio.wait_for(dying.queued_reply.wait(), timeout=60)
    for worker in a._workers.values():
        worker.cancel()  # kill -9
    end_heartbeat(engine, "a")

    beating(engine, "b")
    b = ChatCommandRouter(
        [ChatCommand("join", handler)],
        ChatReplier(queued.sender_for),
        clock=Ticker(),
        pending=PendingCommands(engine, clock, "b"),
    )
    assert await b.recover() == 1
    await b.flush()
    await chat_worker(queued).run_once()

    assert len(handler.calls) == 2  # run again: its effect is the heist's to decide once
    assert kick.texts == ["You are in with 20 points: 2 in the crew, 55 s left to join."]
    assert rows(engine) == []


async def test_a_command_that_ran_leaves_nothing_to_run_again(engine, clock):
    answering = Answering()
    process = Process(engine, clock, "one", answering)
    await process.router.handle(GUILD, webhook_chat("!join 20"))
    await process.router.flush()
    assert rows(engine) == []
    end_heartbeat(engine, "one")
    assert await Process(engine, clock, "two", Answering()).router.recover() == 0
    assert len(answering.calls) == 1


async def test_a_message_delivered_again_after_a_kill_runs_once(engine, clock):
    """Killed after keeping the command and before the bus heard it was handled: the message
    comes again, to a process that remembers nothing of it (no Redis: what was answered is
    in each process's memory). The row is what both see: the command runs once, taken over."""
    chat = webhook_chat("!join 20")
    hanging = Hanging()
    dead = Process(engine, clock, "dead", hanging)
    await dead.router.handle(GUILD, chat)
    await hanging.has_started()
    dead.kill()

    answering = Answering()
    restarted = Process(engine, clock, "restarted", answering)
    await restarted.router.handle(GUILD, chat)  # delivered again
    await restarted.router.flush()
    assert answering.calls == []
    end_heartbeat(engine, "dead")
    assert await restarted.router.recover() == 1
    await restarted.router.flush()
    assert [call.event.key for call in answering.calls] == [chat.key]


async def test_a_command_refused_after_it_was_kept_leaves_no_row(engine, clock):
    """The shared marks (answered, cooldowns) are taken once the command is kept, so a
    process dying before it took them leaves nothing that silences the message's redelivery;
    a command they refuse (cooling down, answered before) has its row deleted at once."""
    answering = Answering()
    router = ChatCommandRouter(
        [ChatCommand("join", answering, user_cooldown_seconds=30)],
        replier_for(RecordingSender()),
        clock=Ticker(),
        pending=PendingCommands(engine, clock, "one"),
    )
    first = webhook_chat("!join 1", badges=[])
    await router.handle(GUILD, first)
    await router.flush()
    await router.handle(GUILD, webhook_chat("!join 2", badges=[]))  # cooling down
    assert rows(engine) == []
    await router.handle(GUILD, first)  # delivered again after it ran: answered before
    await router.flush()
    assert rows(engine) == []
    assert [call.arguments for call in answering.calls] == ["1"]


class StuckWindows(MemoryWindows):
    """Shared marks (Redis) that do not answer until the process is stopped."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()

    async def try_take(self, key, limit):  # type: ignore[no-untyped-def]
        self.asked.set()
        await asyncio.Event().wait()


async def test_a_command_cut_short_while_being_accepted_is_run_by_another_process(engine, clock):
    """Kept, then stopped while taking the marks every process shares: the bus heard nothing
    and its redelivery finds the row, so the row is handed over and another process runs it."""
    windows = StuckWindows()
    stopping = Process(engine, clock, "stopping", Answering(), windows=windows)
    accepting = asyncio.ensure_future(stopping.router.handle(GUILD, webhook_chat("!join 3")))
    await asyncio.wait_for(windows.asked.wait(), timeout=60)
    accepting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await accepting
    assert rows(engine) == [("join", "3", "")]

    answering = Answering()
    other = Process(engine, clock, "other", answering)
    assert await other.router.recover() == 1  # at once: "stopping" still beats
    await other.router.flush()
    assert [call.arguments for call in answering.calls] == ["3"]


async def test_a_command_left_behind_too_long_is_dropped_not_answered(engine, clock, caplog):
    hanging = Hanging()
    dead = Process(engine, clock, "dead", hanging)
    await dead.router.handle(GUILD, webhook_chat("!join 500"))
    await hanging.has_started()
    dead.kill()
    end_heartbeat(engine, "dead")

    answering = Answering()
    clock.advance(STALE + timedelta(seconds=1))  # the restart came late
    with caplog.at_level(logging.WARNING):
        assert await Process(engine, clock, "later", answering).router.recover() == 0
    assert answering.calls == []
    assert rows(engine) == []
    assert "!join was left unanswered too long; dropped" in caplog.text


async def test_a_row_nobody_can_take_is_forgotten(engine, clock):
    """A tool's or a test's router whose name never beat: its rows go after FORGOTTEN."""
    pending = PendingCommands(engine, clock, "a-tool")
    assert pending.keep(GUILD, webhook_chat("!join 1"), "join", "1", 0) is not None
    other = Process(engine, clock, "other", Answering())
    assert await other.router.recover() == 0
    assert len(rows(engine)) == 1
    clock.advance(FORGOTTEN)
    assert await other.router.recover() == 0
    assert rows(engine) == []


async def test_a_stopping_process_hands_over_the_commands_it_did_not_get_to(engine, clock):
    hanging = Hanging()
    stopping = Process(engine, clock, "stopping", hanging, stop_grace_seconds=0)
    await stopping.router.handle(GUILD, webhook_chat("!join 1"))
    await stopping.router.handle(GUILD, webhook_chat("!join 2"))  # waits behind the first
    await hanging.has_started()
    await stopping.router.close()  # no grace: the first is cut short, the second never ran

    answering = Answering()
    other = Process(engine, clock, "other", answering)
    assert await other.router.recover() == 1  # at once: "stopping" still beats
    await other.router.flush()
    assert [call.arguments for call in answering.calls] == ["2"]
    # The one cut short may have done part of its work: it is not run again by a process
    # that stopped cleanly, and is forgotten in time.
    assert rows(engine) == [("join", "1", "stopping")]


async def test_without_its_database_the_router_still_runs_the_command(clock, caplog):
    """Nothing to keep the command in (PostgreSQL unreachable): it runs as it always did."""
    unreachable = db.create_engine("postgresql+psycopg://nobody:x@127.0.0.1:9/none")
    answering = Answering()
    router = ChatCommandRouter(
        [ChatCommand("join", answering)],
        replier_for(RecordingSender()),
        clock=Ticker(),
        pending=PendingCommands(unreachable, clock, "alone"),
    )
    try:
        with caplog.at_level(logging.WARNING):
            await router.handle(GUILD, webhook_chat("!join 7"))
            await router.flush()
    finally:
        unreachable.dispose()
    assert [call.arguments for call in answering.calls] == ["7"]
    assert "!join not kept; it runs" in caplog.text


async def test_the_runtime_keeps_its_commands_and_a_restart_runs_those_left_behind(make_runtime):
    """The wiring: commands kept under the process's own name (the one its heartbeat beats
    as), and every bot process looking for those left behind."""
    killed = make_runtime()
    assert "chat commands left behind" in killed.scheduler.loops
    beating(killed.engine, killed.process_name)
    hanging = Hanging()
    killed.chat_commands.add(ChatCommand("hang", hanging))
    await killed.chat_commands.handle(GUILD, webhook_chat("!hang on"))
    await hanging.has_started()
    for worker in killed.chat_commands._workers.values():
        worker.cancel()
    end_heartbeat(killed.engine, killed.process_name)

    restarted = make_runtime()  # the same data folder, a new process name
    answering = Answering()
    restarted.chat_commands.add(ChatCommand("hang", answering))
    assert await restarted.chat_commands.recover() == 1
    await restarted.chat_commands.flush()
    assert [call.arguments for call in answering.calls] == ["on"]


async def test_commands_taken_over_beyond_a_full_queue_wait_for_the_next_look(engine, clock):
    """A guild's queue holds a bounded number of commands: those taken over beyond it are
    left for the next look (every 2 s), not dropped."""
    hanging = Hanging()
    dead = Process(engine, clock, "dead", hanging)
    for n in range(3):
        await dead.router.handle(GUILD, webhook_chat(f"!join {n}"))
    await hanging.has_started()
    dead.kill()
    end_heartbeat(engine, "dead")

    blocked = Hanging()
    living = Process(engine, clock, "living", blocked, max_waiting_per_guild=1)
    assert await living.router.recover() == 3  # one runs, one waits, one is let go
    await blocked.has_started()
    assert sorted(holder for _, _, holder in rows(engine)) == ["", "living", "living"]
    assert await living.router.recover() == 1  # taken again; the queue is still full
    assert sorted(holder for _, _, holder in rows(engine)) == ["", "living", "living"]
    for worker in living.router._workers.values():
        worker.cancel()
