"""What slot calls need from Discord, so the feature never imports discord.py."""

from __future__ import annotations

from typing import Protocol

from core.features.slot_calls.repository import SlotCall


class SlotCallPoster(Protocol):
    """Posts accepted calls into the guild's slot call channel."""

    async def post_call(self, channel_id: int, call: SlotCall, position: int) -> bool:
        """Post ``call`` (``position``: its place in the queue) in ``channel_id``.

        True when it was posted; False when it cannot be (Discord is off, or the channel is not
        one of the call's guild), which the implementation logs. Raises when Discord is
        configured but not reachable right now.
        """
        ...
