"""What the points economy asks of other features."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from core.events import Platform


class Subscribers(Protocol):
    def subscribed(self, guild_id: int, platform: Platform, user_ids: Iterable[str]) -> set[str]:
        """Those of ``user_ids`` known to subscribe to the guild's channel on ``platform``."""
        ...


class NobodySubscribes:
    """Until subscription tiers are known: everyone earns the base rate."""

    def subscribed(self, guild_id: int, platform: Platform, user_ids: Iterable[str]) -> set[str]:
        return set()
