"""What chat commands need from a platform, so the feature never imports a platform client."""

from __future__ import annotations

from typing import Protocol


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
