"""What the raffle needs from the outside: a public randomness beacon and a Discord announcer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class BeaconUnavailable(Exception):
    """The beacon could not be reached or answered nonsense; try again later."""


@dataclass(frozen=True)
class BeaconInfo:
    """A drand chain: its timing and, for a chain whose rounds are signed, what checks them."""

    genesis_time: int  # Unix seconds of round 1
    period_seconds: int
    chain_hash: str | None = None  # hex; None: an unsigned beacon (only in old tests)
    scheme: str | None = None  # drand's scheme id
    public_key: str | None = None  # hex


@dataclass(frozen=True)
class BeaconRound:
    round: int
    randomness: str  # hex; SHA-256 of the signature
    signature: str | None = None  # hex, checked against the chain's key before it is returned
    previous_signature: str | None = None  # hex, on a chained scheme


class Beacon(Protocol):
    url: str

    def info(self) -> BeaconInfo:
        """The chain new periods use; raises :class:`BeaconUnavailable`."""
        ...

    def fetch_round(self, number: int, chain: BeaconInfo) -> BeaconRound | None:
        """The round of ``chain``, its signature checked, or None while it is not out yet;
        raises :class:`BeaconUnavailable`."""
        ...


@dataclass(frozen=True)
class PeriodAnnouncement:
    guild_id: int
    period_id: int
    starts_at: datetime
    ends_at: datetime  # exclusive
    time_zone: str
    commitment: str
    beacon_round: int | None
    snapshot_hash: str | None = None  # the frozen ledger's hash, once closed


@dataclass(frozen=True)
class WinnerAnnouncement:
    username: str | None  # None: no name is known (the viewer was forgotten at their request)
    discord_user_id: int | None
    tickets: int
    platform: str  # "kick" or "twitch"


@dataclass(frozen=True)
class DrawAnnouncement:
    guild_id: int
    period_id: int
    draw_id: int
    prize: str
    winners: tuple[WinnerAnnouncement, ...]
    total_tickets: int
    forced: bool
    reroll_of: int | None
    reason: str


class RaffleAnnouncer(Protocol):
    """Posts raffle news to a guild's announcement channel (implemented in discord_bot/)."""

    # Each answers None when posted, else why it cannot be for good, in words for a moderator
    # (what to give, which channel to set); raises when Discord cannot be reached now (the
    # announcement is tried again later).

    async def period_opened(self, channel_id: int, period: PeriodAnnouncement) -> str | None: ...

    async def period_closed(self, channel_id: int, period: PeriodAnnouncement) -> str | None: ...

    async def draw_completed(self, channel_id: int, draw: DrawAnnouncement) -> str | None: ...


# Emitted (core/storage/hooks.py) in the transaction that writes tickets, with the awards it
# wrote (``list[TicketsAwarded]``): a follower such as the overlays' milestone alerts records what
# it must beside them, so it commits or rolls back with the tickets.
TICKETS_AWARDED = "raffle.tickets_awarded"


@dataclass(frozen=True)
class TicketsAwarded:
    guild_id: int
    period_id: int
    platform: str
    platform_user_id: str
    amount: int
