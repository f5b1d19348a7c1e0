"""The bot's words into a stream chat, through the ChatSender of the message's platform."""

from __future__ import annotations

import logging
from collections.abc import Callable

from core.events import ChatMessageSent, Platform
from core.features.chat_commands.ports import ChatSender
from core.features.chat_commands.text import chat_safe

log = logging.getLogger(__name__)

SenderFor = Callable[[Platform], ChatSender | None]


class ChatReplier:
    """Says things in chat. Every line passes :func:`chat_safe` first.

    ``sender_for`` gives the platform's sender, or None when the bot cannot talk there (the line
    is then dropped with a log line). It is asked on each use, so a sender can be built lazily.
    """

    def __init__(self, sender_for: SenderFor) -> None:
        self._sender_for = sender_for

    async def reply(self, guild_id: int, event: ChatMessageSent, text: str) -> None:
        """Answer the viewer who sent ``event``, as a reply to their message."""
        await self.say(
            guild_id, event.platform, event.broadcaster_user_id, text, reply_to=event.event_id
        )

    async def say(
        self,
        guild_id: int,
        platform: Platform,
        broadcaster_user_id: str,
        text: str,
        *,
        reply_to: str | None = None,
    ) -> None:
        text = chat_safe(text)
        if not text:
            return
        sender = self._sender_for(platform)
        if sender is None:
            log.info("guild %s: cannot talk in %s chat; not sending %r", guild_id, platform, text)
            return
        await sender.send(
            guild_id=guild_id,
            broadcaster_user_id=broadcaster_user_id,
            text=text,
            reply_to_message_id=reply_to,
        )
