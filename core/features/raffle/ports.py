"""What the raffle needs from the outside: a public randomness beacon and a Discord announcer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class BeaconUnavailable(Exception):
    """The beacon could not be reached or answered nonsense; try again later."""


@dataclass(frozen=True)
class BeaconInfo:
    genesis_time: int  # Unix seconds of round 1
    period_seconds: int


@dataclass(frozen=True)
class BeaconRound:
    round: int
    randomness: str  # hex


class Beacon(Protocol):
    url: str

    def info(self) -> BeaconInfo:
        """The chain's timing; raises :class:`BeaconUnavailable`."""
        ...

    def fetch_round(self, number: int) -> BeaconRound | None:
        """The round's randomness, or None while it is not out yet; raises
        :class:`BeaconUnavailable`."""
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
    username: str
    discord_user_id: int | None
    tickets: int


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

    async def period_opened(self, channel_id: int, period: PeriodAnnouncement) -> None: ...

    async def period_closed(self, channel_id: int, period: PeriodAnnouncement) -> None: ...

    async def draw_completed(self, channel_id: int, draw: DrawAnnouncement) -> None: ...
