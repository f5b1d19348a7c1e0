"""What the heist service answers a join and a cancel with (the chat commands and the Discord
cog word them)."""

from __future__ import annotations

from dataclasses import dataclass

from core.features.heist.repository import Heist


@dataclass(frozen=True)
class Joined:
    heist: Heist
    opened: bool  # this join opened the heist
    stake: int
    risk: str
    balance: int  # after the stake
    crew_size: int
    seconds_left: int
    currency: str
    tier: str | None = None  # the joiner's tier as known at the join (prime, 1, 2, 3)
    tier_multiplier_x100: int = 100  # its bonus under the guild's settings now


@dataclass(frozen=True)
class Cancelled:
    heist: Heist
    refunded: int  # viewers
    points: int
