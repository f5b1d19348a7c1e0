"""What the heist service answers a join and a cancel with (the chat commands and the Discord
cog word them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.features.heist.ports import CrewMember, HeistResult
from core.features.heist.repository import RESOLVED, Heist, Participant
from core.features.watchtime.durations import describe_seconds

# A join typed before this chat's last heist ended was for that heist: run only now (again, by
# another process, after the one that ran it was killed) it would stake on the next one.
TYPED_BEFORE_THE_END = "That !join was typed before the last heist ended; type it again to join."
CANCEL_TYPED_BEFORE = "That !heist cancel was typed before this heist began; type it again."


def seconds_between(later: datetime, earlier: datetime) -> int:
    """Whole seconds from ``earlier`` to ``later``, rounded up; 0 when ``later`` is past."""
    return max(0, int((later - earlier).total_seconds() + 0.999))


def lying_low(seconds: int) -> str:
    """The refusal of a join during the cooldown, and ``!heist``'s answer then."""
    return f"The crew is lying low: the next heist can start in {describe_seconds(seconds)}."


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


def heist_result(heist: Heist, crew: list[Participant], currency: str) -> HeistResult | None:
    """A resolved heist and its crew as its result (winners first, by payout); None while it is
    not resolved."""
    if heist.state != RESOLVED or heist.resolved_at is None:
        return None
    members = sorted(
        (
            CrewMember(
                member.username,
                member.platform_user_id,
                member.stake,
                member.risk,
                member.tier,
                bool(member.won),
                member.payout or 0,
            )
            for member in crew
        ),
        key=lambda member: (-member.payout, -member.stake, member.username),
    )
    return HeistResult(
        heist.id,
        heist.guild_id,
        heist.platform,
        heist.broadcaster_user_id,
        heist.resolved_at,
        currency,
        tuple(members),
    )
