"""What a VIP redemption decides and records, alike for a Twitch VIP (``redemptions.py``) and
a Kick reward's temporary role (``kick_roles.py``): the stacking and cap rules, the grant an
``add`` stores and the audit row of every outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from core.events import Platform, RewardRedeemed
from core.features.vip import repository, texts
from core.features.vip.redemptions_repository import redemption_key
from core.features.vip.repository import REDEMPTION, AuditEntry, Grant, VipSettings


@dataclass(frozen=True)
class Decision:
    """What to do: ``extend`` an open grant of ours, ``add`` a VIP, or ``refuse`` (reason)."""

    action: str
    reason: str = ""
    grant: Grant | None = None
    expires_at: datetime | None = None


def decide_extension(grant: Grant, settings: VipSettings, now: datetime) -> Decision:
    """A viewer redeems again while their grant of ours is open: extended by the duration, or
    refused when stacking is off or the new expiry would pass the cap."""
    if not settings.is_stacking:
        return Decision("refuse", "no_stacking")
    new_expiry = max(grant.expires_at or now, now) + timedelta(hours=settings.duration_hours)
    if new_expiry > now + timedelta(hours=settings.max_hours):
        return Decision("refuse", "stack_cap")
    return Decision("extend", grant=grant, expires_at=new_expiry)


def decide_new_grant(
    conn: Connection, guild_id: int, platform: Platform, settings: VipSettings, now: datetime
) -> Decision:
    """A grant for the duration, or refused while the platform's temporary grants are at the
    guild's cap."""
    if settings.max_concurrent is not None and (
        repository.count_temporary(conn, guild_id, platform) >= settings.max_concurrent
    ):
        return Decision("refuse", "cap")
    return Decision("add", expires_at=now + timedelta(hours=settings.duration_hours))


def redemption_grant(
    guild_id: int,
    event: RewardRedeemed,
    decision: Decision,
    viewer_id: str,
    at: datetime,
    *,
    discord_user_id: int | None = None,
    role_id: int | None = None,
) -> Grant:
    """The grant a redemption's ``add`` stores; a Kick one (a temporary role) also names the
    member and the role."""
    return Grant(
        id=0,
        guild_id=guild_id,
        platform=event.platform,
        broadcaster_user_id=event.broadcaster_user_id,
        platform_user_id=viewer_id,
        username=event.viewer.username,
        source=REDEMPTION,
        granted_at=at,
        expires_at=decision.expires_at,
        discord_user_id=discord_user_id,
        role_id=role_id,
    )


def record_decision(
    conn: Connection,
    guild_id: int,
    event: RewardRedeemed,
    decision: Decision,
    viewer_id: str,
    at: datetime,
) -> None:
    """The audit row of a redemption's outcome (granted, extended or refused), and the grant it
    adds or extends; the same for a Twitch VIP and a Kick role."""
    action = {"add": "granted", "extend": "extended", "refuse": "refused"}[decision.action]
    repository.add_audit(
        conn,
        AuditEntry(
            guild_id=guild_id,
            platform=event.platform,
            broadcaster_user_id=event.broadcaster_user_id,
            platform_user_id=viewer_id,
            username=event.viewer.username,
            action=action,
            actor_kind="viewer",
            actor_id=viewer_id,
            reason=texts.reason_text(decision.reason) if decision.reason else "redemption",
            at=at,
            redemption_id=redemption_key(event),
            reward_cost=event.cost,
            previous_expires_at=decision.grant.expires_at if decision.grant else None,
            new_expires_at=decision.expires_at,
        ),
    )
    if decision.action == "extend" and decision.grant is not None:
        repository.set_expiry(conn, decision.grant.id, decision.expires_at)
