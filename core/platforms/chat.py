"""What both platforms' chat senders do alike (Kick's ``kick/chat.py``, Twitch's
``twitch/chat.py``): a message is its text split into parts of the platform's chat length, posted
in order to one channel, the first part answering the message it replies to.

:class:`SplittingChatSender` is the ``send`` and ``deliver_now`` of
:class:`core.features.chat_commands.ports.DirectChatSender` for both; each platform says how it
queues a message and how it posts one now.
"""

from __future__ import annotations

import logging
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

log = logging.getLogger(__name__)


# What a part after the first starts with instead of a command mark: a viewer's text in a long
# reply (a slot call, a name) must not open the bot's next chat message as a command, for another
# bot in the channel (often a moderator's tools) to obey.
CONTINUED = "…"
_COMMAND_MARKS = ("!", "\uff01", "/")


def split_message(text: str, limit: int) -> list[str]:
    """Chat messages of at most ``limit`` characters, split between words where possible.

    Line breaks and other whitespace become single spaces and other control characters are
    dropped, so the parts never start or end with whitespace and are never empty. A part after
    the first that would start with ``!`` or ``/`` starts with :data:`CONTINUED` before it.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    parts: list[str] = []
    current = ""
    for word in _clean(text).split():
        if current and len(current) + 1 + len(word) <= limit:
            current = f"{current} {word}"
            continue
        if current:
            parts.append(current)
        current = word
        while True:  # the word opens a part, or several when it is longer than one
            if parts and limit > 1 and current.startswith(_COMMAND_MARKS):
                current = CONTINUED + current
            if len(current) <= limit:
                break
            parts.append(current[:limit])
            current = current[limit:]
    if current:
        parts.append(current)
    return parts


def _clean(text: str) -> str:
    return "".join(
        (" " if char.isspace() else "") if unicodedata.category(char) == "Cc" else char
        for char in text
    )


@dataclass(frozen=True)
class OutgoingMessage:
    """A message for one channel's chat: its parts, never empty, each within the platform's
    length."""

    guild_id: int
    broadcaster_user_id: str
    parts: tuple[str, ...]
    reply_to_message_id: str | None  # answered by the first part only


class SplittingChatSender(ABC):
    """A platform's chat sender: ``send`` queues and returns at once, ``deliver_now`` posts and
    says what stopped it; text with nothing to say (empty, only whitespace) posts nothing."""

    platform: ClassVar[str]  # for the logs
    max_length: ClassVar[int]

    async def send(
        self,
        *,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None = None,
    ) -> None:
        message = self._outgoing(guild_id, broadcaster_user_id, text, reply_to_message_id)
        if message is not None:
            self._queue(message)

    async def deliver_now(
        self,
        *,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None = None,
    ) -> str | None:
        """Post ``text`` now, in order with the channel's other messages; what stopped it (a
        :class:`~core.platforms.http.FateUnknown` when the platform may have posted the part),
        or None when every part went out."""
        message = self._outgoing(guild_id, broadcaster_user_id, text, reply_to_message_id)
        if message is None:
            return None
        return await self._deliver_now(message)

    def _outgoing(
        self, guild_id: int, broadcaster_user_id: str, text: str, reply_to_message_id: str | None
    ) -> OutgoingMessage | None:
        parts = tuple(split_message(text, self.max_length))
        if not parts:
            log.debug(
                "%s chat: nothing to say for guild %s, channel %s",
                self.platform,
                guild_id,
                broadcaster_user_id,
            )
            return None
        channel = str(broadcaster_user_id)
        return OutgoingMessage(guild_id, channel, parts, reply_to_message_id or None)

    @abstractmethod
    def _queue(self, message: OutgoingMessage) -> None:
        """Have ``message`` posted after the channel's earlier ones; never raises."""

    @abstractmethod
    async def _deliver_now(self, message: OutgoingMessage) -> str | None:
        """Post ``message`` now, as :meth:`deliver_now` says; never raises."""


__all__ = ["CONTINUED", "OutgoingMessage", "SplittingChatSender", "split_message"]
