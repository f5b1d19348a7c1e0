"""Twitch Shared Chat as the runtime wires it: in a shared session Twitch hands our
``channel.chat.message`` subscription every participating channel's messages, each naming the
channel it was typed in (``source_broadcaster_user_id``). A command typed in the partner channel
is the partner's to answer: ours would show in every shared chat (a streamer's token cannot
send "source only"), next to the partner's own bot's answer."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from core.events import ChatMessageSent
from core.platforms.twitch.notifications import parse_notification
from tests.conftest import FIXTURES
from tests.features.chat_commands.doubles import RecordingSender, replier_for
from tests.support.delivery import make_queued_calls

GUILD = 111
OUR_CHANNEL = "1971641"  # the fixture's broadcaster
PARTNER_CHANNEL = "5550001"  # the channel we share chat with
AT = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)


def shared_message(text: str, typed_in: str, message_id: str) -> ChatMessageSent:
    body = json.loads((FIXTURES / "twitch" / "channel.chat.message.json").read_text())
    event = copy.deepcopy(body["event"])
    event.update(
        message_id=message_id,
        message={"text": text, "fragments": [{"type": "text", "text": text}]},
        badges=[],
        source_broadcaster_user_id=typed_in,
        source_broadcaster_user_login="partner" if typed_in == PARTNER_CHANNEL else "streamer",
        source_broadcaster_user_name="Partner" if typed_in == PARTNER_CHANNEL else "streamer",
        source_message_id=message_id,
        source_badges=[],
    )
    parsed = parse_notification(
        "channel.chat.message",
        {**body, "event": event},
        message_id=f"delivery-{message_id}",
        delivered_at=AT,
    )
    assert isinstance(parsed, ChatMessageSent)
    assert parsed.broadcaster_user_id == OUR_CHANNEL  # it reached our subscription
    return parsed


@pytest.fixture
def runtime(make_runtime):
    runtime = make_runtime()
    runtime.guilds.set_twitch_channel(GUILD, "streamer", OUR_CHANNEL)
    return runtime


async def said(runtime, event: ChatMessageSent) -> list[str]:
    sender = RecordingSender()
    runtime.chat_commands.replies = replier_for(sender)
    await runtime.dispatcher(event)
    await runtime.chat_commands.flush()
    await make_queued_calls(runtime)
    return sender.texts


async def test_a_command_typed_in_the_partner_channel_of_a_shared_chat_is_not_answered(runtime):
    partner = shared_message("!watchtime", PARTNER_CHANNEL, "c0ffee00-0000-4000-8000-000000000001")
    assert await said(runtime, partner) == []


async def test_a_command_typed_in_our_own_channel_during_a_shared_chat_is_answered(runtime):
    ours = shared_message("!watchtime", OUR_CHANNEL, "c0ffee00-0000-4000-8000-000000000002")
    [answer] = await said(runtime, ours)
    assert answer
