"""The runtime wires points: a scheduler tick credits present viewers after the watchtime tick,
chat events count toward earnings, and ``!points`` is a chat command."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.events import ChatMessageSent, Platform, Viewer
from core.features.points.ports import NobodySubscribes
from core.wiring.points import TierSubscribers, subscribers_of
from tests.features.points.test_earning import T0

GUILD = 123456789012345678
BROADCASTER = "4242"


def test_a_scheduler_tick_earns_points_for_present_viewers(make_runtime):
    runtime = make_runtime()
    runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    runtime.points.set_rate(GUILD, "window", "1")
    runtime.points.set_rate(GUILD, "chat", "0")

    async def tick(at):
        await runtime.scheduler.tick_once(at)

    asyncio.run(tick(T0))
    chat = ChatMessageSent(
        platform=Platform.KICK,
        event_id="m1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=T0 + timedelta(seconds=5),
        viewer=Viewer("77", "viewer_77"),
        content="hello",
    )
    for handler in runtime.handlers[ChatMessageSent]:
        result = handler(GUILD, chat)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    asyncio.run(tick(T0 + timedelta(minutes=1)))
    asyncio.run(tick(T0 + timedelta(minutes=2)))
    assert runtime.points.balance(GUILD, Platform.KICK, "77") == 2
    assert "points" in runtime.chat_commands.names


class FakeTiers:
    def tiers_of(self, guild_id, platform, user_ids):
        return {user_id: "1000" for user_id in user_ids if user_id.startswith("s")} | {"x": None}


def test_subscribers_come_from_sub_tiers_when_that_feature_is_there():
    class Bare:
        pass

    assert isinstance(subscribers_of(Bare()), NobodySubscribes)
    runtime = Bare()
    runtime.sub_tiers = FakeTiers()
    port = subscribers_of(runtime)
    assert isinstance(port, TierSubscribers)
    assert port.subscribed(1, Platform.TWITCH, ["s1", "n2", "s3"]) == {"s1", "s3"}
