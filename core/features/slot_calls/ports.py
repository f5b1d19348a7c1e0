"""What slot calls need from Discord, so the feature never imports discord.py."""

from __future__ import annotations

from typing import Protocol

from core.features.slot_calls.repository import SlotCall


class SlotCallPoster(Protocol):
    """Posts accepted calls into the guild's slot call channel."""

    async def post_call(self, channel_id: int, call: SlotCall, position: int) -> str | None:
        """Post ``call`` (``position``: its place in the queue) in ``channel_id``.

        None when it was posted; else why it cannot be, in words a streamer acts on (``not
        posted: ...``: Discord is off, the channel is not found in the call's server, the bot
        may not post there), which the implementation logs too. Raises when Discord is
        configured but not reachable right now.
        """
        ...
