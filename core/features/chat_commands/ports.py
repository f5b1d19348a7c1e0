"""What chat commands need from a platform, so the feature never imports a platform client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.events import Platform
from core.platforms.http import FateUnknown, TryLater


class ChatSender(Protocol):
    """Posts the bot's messages into a streamer's chat.

    :meth:`send` never raises and does not wait for the platform: delivery is best effort, and
    failures are logged and counted by the implementation. Messages to one channel keep their
    order; text longer than the platform allows is split into several messages.
    """

    async def send(
        self,
        *,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None = None,
    ) -> None: ...


class DirectChatSender(ChatSender, Protocol):
    """A platform's sender that can also post at once, for a caller keeping its own queue (the
    chat outbox, ``core/features/chat_commands/queued.py``)."""

    async def deliver_now(
        self,
        *,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None = None,
    ) -> str | None:
        """Post ``text`` now (paced, retried and split as ``send`` does); what stopped it, or
        None when every part went out: a :class:`FateUnknown` when a part may have gone out,
        a :class:`TryLater` when none did and the platform only asked for time.
        Never raises."""
        ...


@dataclass(frozen=True)
class TicketBalance:
    """A viewer's raffle tickets in the open period: ``rank`` 1 holds the most tickets, and
    ``participants`` counts the viewers who hold any."""

    tickets: int
    rank: int | None  # None while the viewer has no tickets
    participants: int


class TicketBalances(Protocol):
    """What ``!tickets`` in chat needs from the raffle (implemented by the raffle feature)."""

    def balance(
        self, guild_id: int, platform: Platform, platform_user_id: str
    ) -> TicketBalance | None:
        """The viewer's balance in the guild's open raffle period, with 0 tickets when they have
        none; None when no raffle period is open. Synchronous (it reads the database): the
        command calls it in a worker thread."""
        ...

    def running(self, guild_id: int) -> bool:
        """Whether the guild has a raffle period open (synchronous: it reads the database)."""
        ...


__all__ = [
    "ChatSender",
    "DirectChatSender",
    "FateUnknown",
    "TicketBalance",
    "TicketBalances",
    "TryLater",
]
