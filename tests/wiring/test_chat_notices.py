"""The chat notices as the runtime wires them: "online" on every StreamStarted, VIP's pause and
resume through the same notices, both queued for the platform's chat worker."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import ChatMessageSent, Platform, StreamStarted, Viewer
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
    assert line.key == "notice:online:twitch:1337:20300101T180000"


async def test_a_channel_two_servers_follow_hears_online_and_answers_once(make_runtime):
    """The runtime hands a stream start and a chat command to every server following the
    channel; its one chat hears one line of each, from the lowest server id (no streamer
    connection here)."""
    runtime = make_runtime()
    for guild_id in (GUILD, 111):
        runtime.guilds.set_twitch_channel(guild_id, "cooler_user", "1337")
    runtime.chat_senders[Platform.TWITCH] = lambda: object()
    start = datetime(2030, 1, 1, 18, tzinfo=UTC)
    await runtime.dispatcher(
        StreamStarted(
            platform=Platform.TWITCH, event_id="s", broadcaster_user_id="1337", occurred_at=start
        )
    )
    await runtime.dispatcher(
        ChatMessageSent(
            platform=Platform.TWITCH, event_id="m1", broadcaster_user_id="1337",
            occurred_at=start, viewer=Viewer("5", "ana"), content="!link",
        )
    )  # fmt: skip
    await runtime.chat_commands.flush()

    with runtime.engine.connect() as conn:
        assert store.of_guild(conn, GUILD) == []
        lines = store.of_guild(conn, 111)
    assert sorted(line.key for line in lines) == [
        "notice:online:twitch:1337:20300101T180000",
        "say:twitch:1337:m1",
    ]
