"""Test doubles for chat: a recording ChatSender and normalized chat messages built from Kick's
own example payloads (webhook and Pusher), as the adapters parse them."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.events import ChatMessageSent, Platform
from core.features.chat_commands.replies import ChatReplier
from core.platforms.kick.pusher_events import parse_frame
from core.platforms.kick.webhook_events import parse_event
from tests.conftest import FIXTURES

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
BROADCASTER = "123456789"  # the broadcaster in Kick's example payloads


@dataclass(frozen=True)
class SentLine:
    guild_id: int
    broadcaster_user_id: str
    text: str
    reply_to_message_id: str | None


class RecordingSender:
    """A DirectChatSender that keeps what it was asked to send (queued or posted at once)."""

    def __init__(self) -> None:
        self.sent: list[SentLine] = []

    async def send(
        self,
        *,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None = None,
    ) -> None:
        self.sent.append(SentLine(guild_id, broadcaster_user_id, text, reply_to_message_id))

    async def deliver_now(
        self,
        *,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None = None,
    ) -> str | None:
        self.sent.append(SentLine(guild_id, broadcaster_user_id, text, reply_to_message_id))
        return None

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.sent]


def replier_for(
    sender: RecordingSender, platforms: Collection[Platform] = tuple(Platform)
) -> ChatReplier:
    """A replier that says every platform's lines through ``sender`` (or only ``platforms``':
    the others have no chat sender, as a platform that is not configured)."""
    return ChatReplier(lambda platform: sender if platform in platforms else None)


_counter = iter(range(1, 10**9))


def webhook_chat(
    content: str,
    *,
    sender_id: int = 987654321,
    username: str = "sender_name",
    badges: list[str] | None = None,
    broadcaster: str = BROADCASTER,
    message_id: str | None = None,
    at: datetime = T0,
) -> ChatMessageSent:
    """Kick's example ``chat.message.sent`` (a moderator and subscriber, unless ``badges``)."""
    payload: dict[str, Any] = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    payload["content"] = content
    payload["created_at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["message_id"] = message_id or f"msg-{next(_counter)}"
    payload["broadcaster"]["user_id"] = int(broadcaster)
    payload["sender"].update(user_id=sender_id, username=username)
    if badges is not None:
        payload["sender"]["identity"]["badges"] = [{"type": b, "text": b.title()} for b in badges]
    event = parse_event("chat.message.sent", payload, message_id="01DELIVERY", delivered_at=at)
    assert isinstance(event, ChatMessageSent)
    return event


def pusher_chat(content: str, *, at: datetime = T0) -> ChatMessageSent:
    """Kick's Pusher ``ChatMessageEvent`` example (a VIP and subscriber) saying ``content``."""
    frame = json.loads((FIXTURES / "kick" / "pusher-ChatMessageEvent.json").read_text())
    data = json.loads(frame["data"])
    data["content"] = content
    data["id"] = f"pusher-{next(_counter)}"
    frame["data"] = json.dumps(data)
    event = parse_frame(json.dumps(frame), broadcaster_user_id=BROADCASTER, received_at=at)
    assert isinstance(event, ChatMessageSent)
    return event
