"""The heist and the stream's end as the runtime wires them: the end's second copy (Kick's
Pusher, stamped when it arrives) calls off no heist opened after the first copy's end."""

from __future__ import annotations

from core.events import Platform, StreamEnded
from tests.features.chat_commands.doubles import T0
from tests.support.clock import Clock

GUILD = 111
BROADCASTER = "123456789"


def stream_ended(event_id: str, at) -> StreamEnded:
    return StreamEnded(
        platform=Platform.KICK, event_id=event_id, broadcaster_user_id=BROADCASTER, occurred_at=at
    )


async def test_the_ends_second_copy_leaves_a_heist_opened_after_the_first(make_runtime) -> None:
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    for user in ("1", "2"):
        runtime.points.give(GUILD, Platform.KICK, user, 1000, actor="test")
    runtime.heist.join(GUILD, Platform.KICK, BROADCASTER, "1", "one", "200 low")
    clock.advance(30)
    await runtime.dispatcher(stream_ended("webhook-end", clock.now))  # Kick's ended_at
    assert runtime.points.balance(GUILD, Platform.KICK, "1") == 1000
    clock.advance(2)
    runtime.heist.join(GUILD, Platform.KICK, BROADCASTER, "2", "two", "300 low")  # offline chat
    clock.advance(1)
    await runtime.dispatcher(stream_ended("pusher-end", clock.now))  # stamped on arrival
    assert runtime.heist.status(GUILD, Platform.KICK) is not None
    assert runtime.points.balance(GUILD, Platform.KICK, "2") == 700


async def test_an_end_whose_stream_start_was_missed_still_calls_the_heist_off(
    make_runtime,
) -> None:
    """Yesterday's end is stored and today's start was never heard: today's end is its own."""
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    await runtime.dispatcher(stream_ended("yesterday-end", clock.now))
    clock.advance(86400)
    runtime.points.give(GUILD, Platform.KICK, "1", 1000, actor="test")
    runtime.heist.join(GUILD, Platform.KICK, BROADCASTER, "1", "one", "200 low")
    clock.advance(30)
    await runtime.dispatcher(stream_ended("today-end", clock.now))
    assert runtime.heist.status(GUILD, Platform.KICK) is None
    assert runtime.points.balance(GUILD, Platform.KICK, "1") == 1000
