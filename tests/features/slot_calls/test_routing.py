"""Chat messages reach slot calls through the runtime's dispatcher: each guild hears only the
Kick channel it tracks, and answers go back to that channel's chat."""

from __future__ import annotations

from core.events import ChatMessageSent
from core.features.slot_calls.posts import SlotCallPosts
from tests.features.chat_commands.doubles import RecordingSender, replier_for, webhook_chat
from tests.features.slot_calls.conftest import RecordingPoster
from tests.support.delivery import make_queued_calls

GUILD_A, GUILD_B = 111, 222
CHANNEL_A, CHANNEL_B = 7001, 7002
BROADCASTER_A, BROADCASTER_B = "1001", "2002"


async def test_two_guilds_tracking_different_channels_never_see_each_others_calls(make_runtime):
    runtime = make_runtime()
    runtime.guilds.set_kick_channel(GUILD_A, "streamer_a", BROADCASTER_A)
    runtime.guilds.set_kick_channel(GUILD_B, "streamer_b", BROADCASTER_B)
    for guild_id, channel_id in [(GUILD_A, CHANNEL_A), (GUILD_B, CHANNEL_B)]:
        runtime.slot_calls.set_enabled(guild_id, True)
        runtime.slot_calls.set_channel(guild_id, channel_id)
    sender, poster = RecordingSender(), RecordingPoster()
    runtime.chat_commands.replies = runtime.slot_call_chat.replies = replier_for(sender)
    runtime.discord_calls.kinds.update(SlotCallPosts(runtime.slot_calls, poster).kinds())

    async def chat(broadcaster: str, content: str, sender_id: int) -> None:
        event = webhook_chat(content, broadcaster=broadcaster, sender_id=sender_id, badges=[])
        assert isinstance(event, ChatMessageSent)
        await runtime.dispatcher(event)
        await runtime.chat_commands.flush()
        await make_queued_calls(runtime)

    await chat(BROADCASTER_A, "!call Book of Dead", 1)
    await chat(BROADCASTER_B, "!sr Sugar Rush", 2)
    await chat("3003", "!call Nobody Tracks This", 3)

    assert sorted(
        (channel, call.guild_id, call.slot_name) for channel, call, _ in poster.posts
    ) == [
        (CHANNEL_A, GUILD_A, "Book of Dead"),
        (CHANNEL_B, GUILD_B, "Sugar Rush"),
    ]
    assert sorted((line.guild_id, line.broadcaster_user_id) for line in sender.sent) == [
        (GUILD_A, BROADCASTER_A),
        (GUILD_B, BROADCASTER_B),
    ]
    assert [c.slot_name for c in runtime.slot_calls.open_calls(GUILD_A, 10)] == ["Book of Dead"]
    assert [c.slot_name for c in runtime.slot_calls.open_calls(GUILD_B, 10)] == ["Sugar Rush"]
    assert runtime.slot_calls.pick(GUILD_A, 9).call.slot_name == "Book of Dead"
    assert runtime.slot_calls.count_open(GUILD_B) == 1
