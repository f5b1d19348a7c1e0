"""What the heist needs from outside: subscription tiers (the sub_tiers feature), a place on
Discord to post results (core/discord_bot/heist/outbound.py) and a way to queue a result's chat
line with the resolution (``ChatResultLine`` in core/features/heist/chat.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Connection

from core.events import Platform


class SubTier(Protocol):
    """What StreamKeeper knows of one viewer's subscription (kept by the sub_tiers feature)."""

    @property
    def platform(self) -> Platform: ...
    @property
    def platform_user_id(self) -> str: ...
    @property
    def tier(self) -> str: ...  # "1", "2" or "3"
    @property
    def is_prime(self) -> bool: ...  # only when a source said so
    @property
    def source(self) -> str: ...
    @property
    def seen_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...


class SubTiers(Protocol):
    def tiers_of(
        self, guild_id: int, platform: Platform, user_ids: Iterable[str]
    ) -> Mapping[str, SubTier]:
        """The known, unexpired tiers of these viewers by user id (absent: none known).
        Synchronous (it reads the database)."""
        ...

    def request_lookup(
        self,
        guild_id: int,
        platform: Platform,
        user_ids_with_sub_badge: Iterable[str] | Mapping[str, str | None],
    ) -> None:
        """Ask the platform (Twitch Helix, batched) for these viewers' tiers; returns at once.
        A mapping gives each viewer's subscriber badge version (a hint if Twitch cannot say)."""
        ...


@dataclass(frozen=True)
class CrewMember:
    username: str
    platform_user_id: str
    stake: int
    risk: str
    tier: str | None
    won: bool
    payout: int


@dataclass(frozen=True)
class HeistResult:
    """A resolved heist as the announcements show it; ``crew`` is ordered by payout, then
    stake, highest first."""

    heist_id: int
    guild_id: int
    platform: Platform
    broadcaster_user_id: str
    resolved_at: datetime
    currency: str
    crew: tuple[CrewMember, ...]

    @property
    def winners(self) -> list[CrewMember]:
        return [member for member in self.crew if member.won]

    @property
    def total_stake(self) -> int:
        return sum(member.stake for member in self.crew)

    @property
    def total_payout(self) -> int:
        return sum(member.payout for member in self.crew)


class HeistAnnouncer(Protocol):
    async def announce_result(self, channel_id: int, result: HeistResult) -> str | None:
        """Post the result in ``channel_id``; None when posted, else why it cannot go there for
        good, in words for a moderator (what to give, which channel to set; logged). Raises
        when Discord cannot be reached now (the announcement is tried again later)."""
        ...


class ResultLine(Protocol):
    def __call__(self, conn: Connection, result: HeistResult) -> None:
        """Queue the result's line for its chat in ``conn``'s transaction, the one that resolves
        the heist: the heist resolves with its line queued, or not at all."""
        ...
