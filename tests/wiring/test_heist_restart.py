"""A heist outlives the process: joined in one runtime, resolved by the next one (its window
closed while the bot was down), paid once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from core.config import load_settings
from core.events import Platform, StreamEnded
from core.features.heist.export import export_heists
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.features.chat_commands.doubles import T0
from tests.features.heist.conftest import Draws
from tests.support.clock import Clock
from tests.support.waiting import eventually

GUILD = 111
BROADCASTER = "123456789"


def build(tmp_path: Path, clock: Clock, kick_keys) -> Runtime:
    settings = load_settings(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "PORT": "0",
            "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
            "FLASK_SECRET_KEY": "test-link-secret-a-key-of-32-characters-or-more",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            "HEIST_JOIN_WINDOW_SECONDS": "90",
        },
        env_file=None,
    )
    runtime = Runtime(settings, clock=clock)
    runtime.migrate()
    return runtime


async def test_a_heist_whose_window_closed_while_down_is_resolved_by_the_next_runtime(
    tmp_path: Path, kick_keys
) -> None:
    clock = Clock(T0)
    first = build(tmp_path, clock, kick_keys)
    assert "resolving heists" in first.scheduler.loops
    for user in ("1", "2"):
        first.points.give(GUILD, Platform.KICK, user, 1000, actor="test")
    joined = first.heist.join(GUILD, Platform.KICK, BROADCASTER, "1", "one", "200 low")
    assert joined.seconds_left == 90  # HEIST_JOIN_WINDOW_SECONDS
    first.heist.join(GUILD, Platform.KICK, BROADCASTER, "2", "two", "300 high")
    clock.advance(30)
    assert await first.heist_chat.resolve_due() == []  # mid-window: nothing yet
    first.close()

    clock.advance(600)  # the bot was down past the window's end
    second = build(tmp_path, clock, kick_keys)
    second.heist.draw = Draws([0.0, 0.999])  # the first wins, the second is caught
    [result] = await second.heist_chat.resolve_due()
    assert result.heist_id == joined.heist.id
    assert await second.heist_chat.resolve_due() == []
    assert second.points.balance(GUILD, Platform.KICK, "1") == 1100
    assert second.points.balance(GUILD, Platform.KICK, "2") == 700
    [one, two] = export_heists(second.engine, GUILD)
    assert (one["won"], one["payout"], two["won"], two["payout"]) == (True, 300, False, 0)
    assert one["resolved_at"] == clock.now.isoformat()
    second.close()


def stream_ended(event_id: str, at) -> StreamEnded:
    return StreamEnded(
        platform=Platform.KICK, event_id=event_id, broadcaster_user_id=BROADCASTER, occurred_at=at
    )


async def test_the_stream_ending_calls_off_a_heist_gathering_its_crew(make_runtime) -> None:
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    runtime.points.give(GUILD, Platform.KICK, "1", 1000, actor="test")
    runtime.heist.join(GUILD, Platform.KICK, BROADCASTER, "1", "one", "200 low")
    clock.advance(30)
    for event_id in ("webhook-end", "pusher-end", "webhook-end"):
        await runtime.dispatcher(stream_ended(event_id, clock.now))
    assert runtime.points.balance(GUILD, Platform.KICK, "1") == 1000
    clock.advance(600)
    assert await runtime.heist_chat.resolve_due() == []
    assert runtime.points.balance(GUILD, Platform.KICK, "1") == 1000


async def test_a_heist_open_at_a_kill_is_called_off_by_the_end_heard_after_the_restart(
    tmp_path: Path, kick_keys
) -> None:
    """The stream ended while the bot was down (its end queued by the web side, or sent
    again): the next runtime gives the stakes back instead of playing the heist out."""
    clock = Clock(T0)
    first = build(tmp_path, clock, kick_keys)
    first.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    first.points.give(GUILD, Platform.KICK, "1", 1000, actor="test")
    first.heist.join(GUILD, Platform.KICK, BROADCASTER, "1", "one", "200 low")
    ended_at = clock.now + timedelta(seconds=40)
    first.close()

    clock.advance(600)
    second = build(tmp_path, clock, kick_keys)
    await second.dispatcher(stream_ended("webhook-end", ended_at))
    assert await second.heist_chat.resolve_due() == []
    assert second.points.balance(GUILD, Platform.KICK, "1") == 1000
    assert export_heists(second.engine, GUILD) == []
    second.close()


async def test_a_restarted_resolver_waits_for_the_end_queued_while_the_bot_was_down(
    tmp_path: Path, kick_keys
) -> None:
    """At start the resolver and the event consumer run at once: the resolver leaves a heist
    whose stream's end is still queued to that end, which calls it off."""
    clock = Clock(T0)
    first = build(tmp_path, clock, kick_keys)
    first.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    first.points.give(GUILD, Platform.KICK, "1", 1000, actor="test")
    first.heist.join(GUILD, Platform.KICK, BROADCASTER, "1", "one", "200 low")
    first.bus.publish(stream_ended("webhook-end", clock.now + timedelta(seconds=40)))
    first.close()  # the web side queued the end; the bot was down

    clock.advance(600)
    second = build(tmp_path, clock, kick_keys)
    assert await second.heist_chat.resolve_due() == []  # the end is still queued
    assert second.points.balance(GUILD, Platform.KICK, "1") == 800
    stop = asyncio.Event()
    consumer = asyncio.create_task(second.bus.run(second.dispatcher, stop))
    try:
        await eventually(lambda: second.points.balance(GUILD, Platform.KICK, "1") == 1000)
    finally:
        stop.set()
        await consumer
    assert await second.heist_chat.resolve_due() == []
    assert export_heists(second.engine, GUILD) == []
    second.close()
