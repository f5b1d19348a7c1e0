"""Issue 13's "done when" for a Twitch channel: signed EventSub webhooks through the real web app,
the bus and the Runtime's dispatcher, into watchtime, chat commands and raffle gift tickets,
with no feature code that names Twitch. (Slot calls posted on Discord and the leaderboard are in
tests/discord_bot/test_twitch_channel.py; the CLI contract in tests/test_cli.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.events import Platform
from tests.fakes.twitch_eventsub import SECRET, EventSubSender
from tests.features.chat_commands.doubles import RecordingSender
from tests.support.delivery import settle

GUILD = 111
STREAMER = "1971641"  # the broadcaster of Twitch's chat examples
VIEWER = "4145994"  # viewer32, the chatter in Twitch's example


@pytest.fixture
def runtime(make_runtime, migrated_database_url):
    runtime = make_runtime(DATABASE_URL=migrated_database_url, TWITCH_EVENTSUB_SECRET=SECRET)
    runtime.guilds.set_twitch_channel(GUILD, "streamer", STREAMER)
    return runtime


@pytest.fixture
def sent_at():
    """When the test's deliveries were sent: a settable moment half a minute ago."""
    return {"at": datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)}


@pytest.fixture
def twitch(runtime, sent_at) -> EventSubSender:
    return EventSubSender.flask(runtime.create_web_app().test_client(), lambda: sent_at["at"])


async def test_chatting_during_a_twitch_stream_earns_watchtime(runtime, twitch, sent_at):
    now = sent_at["at"] + timedelta(seconds=30)
    runtime.tick_all(now - timedelta(seconds=60))
    assert twitch.notify("stream.online", STREAMER)[1]["status"] == "queued"
    assert twitch.notify("channel.chat.message", STREAMER)[1]["status"] == "queued"
    await settle(runtime)

    runtime.tick_all(now)

    [row] = runtime.watchtime.export(GUILD)
    assert (row.platform, row.platform_user_id, row.username, row.seconds) == (
        Platform.TWITCH,
        VIEWER,
        "viewer32",
        60,
    )


async def test_watchtime_in_twitch_chat_is_answered_through_twitchs_chat_sender(
    runtime, twitch, sent_at
):
    sender = RecordingSender()
    runtime.chat_senders[Platform.TWITCH] = lambda: sender
    now = sent_at["at"] + timedelta(seconds=30)
    runtime.tick_all(now - timedelta(seconds=60))
    twitch.notify("channel.chat.message", STREAMER)
    await settle(runtime)
    runtime.tick_all(now)

    twitch.notify(
        "channel.chat.message",
        STREAMER,
        message_id="chat-2",
        message={"text": "!watchtime", "fragments": []},
    )
    await settle(runtime)

    [line] = sender.sent
    assert (line.guild_id, line.broadcaster_user_id, line.reply_to_message_id) == (
        GUILD,
        STREAMER,
        "chat-2",
    )
    assert line.text == "You have watched 1 min: rank #1 of 1."


async def test_without_a_twitch_chat_sender_the_reply_is_skipped_and_nothing_fails(runtime, twitch):
    twitch.notify("channel.chat.message", STREAMER, message={"text": "!watchtime"})
    await settle(runtime)
    assert runtime.chat_sender_for(Platform.TWITCH) is None
    assert runtime.bus.backlog() == 0


async def test_a_gifted_sub_webhook_gives_the_gifter_raffle_tickets_once(runtime, twitch):
    runtime.raffle.periods.start(GUILD)
    first = twitch.notify("channel.subscription.gift", STREAMER, delivery_id="gift-1")
    retried = twitch.notify("channel.subscription.gift", STREAMER, delivery_id="gift-1")
    await settle(runtime)

    assert (first[1]["status"], retried[1]["status"]) == ("queued", "duplicate")
    # Cool_User gifted 2 subs; a gifted sub is worth 15 tickets unless the guild says otherwise.
    assert runtime.ticket_balances.balance(GUILD, Platform.TWITCH, "1234").tickets == 30
    assert runtime.ticket_balances.balance(GUILD, Platform.KICK, "1234").tickets == 0
