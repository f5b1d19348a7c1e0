"""The chat notices as the runtime wires them: "online" on every StreamStarted, VIP's pause and
resume through the same notices, both queued for the platform's chat worker."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import Platform, StreamStarted
from core.outbox import store

GUILD = 222


async def test_a_channel_going_live_queues_one_online_line_for_its_chat(make_runtime):
    runtime = make_runtime()
    runtime.guilds.set_twitch_channel(GUILD, "cooler_user", "1337")
    runtime.chat_senders[Platform.TWITCH] = lambda: object()  # the bot can talk on Twitch
    assert runtime.vip.chat_notices is runtime.chat_notices
    start = datetime(2030, 1, 1, 18, tzinfo=UTC)
    for event_id in ("webhook-copy", "socket-copy"):
        event = StreamStarted(
            platform=Platform.TWITCH, event_id=event_id, broadcaster_user_id="1337",
            occurred_at=start,
        )  # fmt: skip
        await runtime.dispatcher(event)

    with runtime.engine.connect() as conn:
        [line] = store.of_guild(conn, GUILD)
    assert (line.kind, line.state) == ("say", "pending")
    assert line.key == "notice:online:twitch:222:1337:20300101T180000"
