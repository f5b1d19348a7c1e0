"""What earning temporary VIP decides and records, alike for a Twitch VIP and a Kick role, and
alike for every rule (a reward's redemption, a sub, a gift, a cheer, KICKs): the stacking and
cap rules, the grant an ``add`` stores and the audit row of every outcome, naming the rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from core.events import Platform, RewardRedeemed
from core.features.vip import channel_repository, redemptions_repository, repository, texts
from core.features.vip.expiry import track_outside
from core.features.vip.ports import Refusal
from core.features.vip.redemptions_repository import redemption_key
from core.features.vip.repository import OUTSIDE, REDEMPTION, RULE, AuditEntry, Grant, VipSettings
from core.features.vip.rules_repository import VipRule


@dataclass(frozen=True)
class Earned:
    """Who earned VIP, by what (``key``: the redemption's or event's id, handled once), for how
    many hours; ``rule`` None: the guild's reward from before rules (its settings' hours)."""

    guild_id: int
    platform: Platform
    broadcaster_user_id: str
    viewer_id: str
    username: str
    key: str
    hours: int
    rule: VipRule | None = None
    cost: int | None = None  # a reward's points
    is_redemption: bool = True

    @classmethod
    def of_redemption(
        cls, guild_id: int, event: RewardRedeemed, viewer_id: str, hours: int, rule: VipRule | None
    ) -> Earned:
        return cls(
            guild_id,
            event.platform,
            event.broadcaster_user_id,
            viewer_id,
            event.viewer.username,
            redemption_key(event),
            hours,
            rule,
            event.cost,
        )

    def why(self) -> str:
        """The audit's reason for a grant: the rule, or "redemption"."""
        return self.rule.label() if self.rule is not None else "redemption"


ELSEWHERE = "elsewhere"  # a Decision's action: the VIP is another server's grant


@dataclass(frozen=True)
class Decision:
    """What to do: ``extend`` an open grant of ours, ``add`` a VIP, ``refuse`` (reason), or
    nothing at all (:data:`ELSEWHERE`): another server following the channel holds the VIP."""

    action: str
    reason: str = ""
    grant: Grant | None = None
    expires_at: datetime | None = None


def decide_extension(grant: Grant, settings: VipSettings, now: datetime, hours: int) -> Decision:
    """A viewer earns VIP again while their grant of ours is open: extended by ``hours``, or
    refused when stacking is off or the new expiry would pass the cap."""
    if not settings.is_stacking:
        return Decision("refuse", "no_stacking")
    new_expiry = max(grant.expires_at or now, now) + timedelta(hours=hours)
    if new_expiry > now + timedelta(hours=settings.max_hours):
        return Decision("refuse", "stack_cap")
    return Decision("extend", grant=grant, expires_at=new_expiry)


def is_held_elsewhere(conn: Connection, earned: Earned) -> bool:
    """Whether the viewer's Twitch VIP is another server's grant on this channel (one channel,
    one VIP badge): not an outside VIP here, and not this server's to refuse or take over."""
    return earned.platform is Platform.TWITCH and (
        channel_repository.held_elsewhere(
            conn, earned.guild_id, earned.broadcaster_user_id, platform_user_id=earned.viewer_id
        )
        is not None
    )


def is_echo_of_our_add(conn: Connection, earned: Earned, grant: Grant | None) -> bool:
    """Whether ``grant``, an outside VIP seen since the event was claimed, is Twitch's "VIP
    added" for the Add VIP an earlier try made (its process stopped before it stored the grant):
    that add, for the earned hours, not a VIP given by hand and kept for good. Only asked of a
    try resumed from "adding"."""
    if grant is None or grant.source != OUTSIDE or earned.platform is not Platform.TWITCH:
        return False
    claimed = redemptions_repository.redemption_recorded_at(
        conn, earned.guild_id, earned.platform, earned.key
    )
    return claimed is not None and grant.granted_at >= claimed


def decide_new_grant(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    settings: VipSettings,
    now: datetime,
    hours: int,
) -> Decision:
    """A grant for ``hours``, or refused while the platform's temporary grants are at the
    guild's cap."""
    if settings.max_concurrent is not None and (
        repository.count_temporary(conn, guild_id, platform) >= settings.max_concurrent
    ):
        return Decision("refuse", "cap")
    return Decision("add", expires_at=now + timedelta(hours=hours))


def earned_grant(
    earned: Earned,
    decision: Decision,
    at: datetime,
    *,
    discord_user_id: int | None = None,
    role_id: int | None = None,
) -> Grant:
    """The grant an ``add`` stores; a Kick one (a temporary role) also names the member and the
    role."""
    return Grant(
        id=0,
        guild_id=earned.guild_id,
        platform=earned.platform,
        broadcaster_user_id=earned.broadcaster_user_id,
        platform_user_id=earned.viewer_id,
        username=earned.username,
        source=REDEMPTION if earned.is_redemption else RULE,
        granted_at=at,
        expires_at=decision.expires_at,
        discord_user_id=discord_user_id,
        role_id=role_id,
    )


def record_decision(conn: Connection, earned: Earned, decision: Decision, at: datetime) -> None:
    """The audit row of the outcome (granted, extended or refused), naming the rule, and the
    expiry it extends; the same for a Twitch VIP and a Kick role."""
    action = {"add": "granted", "extend": "extended", "refuse": "refused"}[decision.action]
    reason = texts.reason_text(decision.reason) if decision.reason else earned.why()
    if decision.reason and earned.rule is not None:
        reason = f"{reason} ({earned.rule.label()})"
    repository.add_audit(
        conn,
        AuditEntry(
            guild_id=earned.guild_id,
            platform=earned.platform,
            broadcaster_user_id=earned.broadcaster_user_id,
            platform_user_id=earned.viewer_id,
            username=earned.username,
            action=action,
            actor_kind="viewer",
            actor_id=earned.viewer_id,
            reason=reason[:200],
            at=at,
            redemption_id=earned.key[:64],
            reward_cost=earned.cost,
            previous_expires_at=decision.grant.expires_at if decision.grant else None,
            new_expires_at=decision.expires_at,
            rule_id=earned.rule.id if earned.rule is not None else None,
        ),
    )
    if decision.action == "extend" and decision.grant is not None:
        repository.set_expiry(conn, decision.grant.id, decision.expires_at)


def store_outcome(
    conn: Connection,
    earned: Earned,
    decision: Decision,
    at: datetime,
    *,
    discord_user_id: int | None = None,
    role_id: int | None = None,
) -> None:
    """Store what was decided, alike for a Twitch VIP and a Kick role: a viewer who was a VIP
    already (Twitch's "already a VIP", or a Kick member holding the role, given by hand) and is
    not tracked yet becomes an outside VIP, shown and never removed; the audit row; and an add's
    grant, which takes over an open outside one (Twitch: our own add, seen first as outside;
    Kick: a role once given by hand and taken away since) on ``discord_user_id``'s role. A VIP
    another server of the channel granted (:func:`is_held_elsewhere`) is no outside VIP: the
    callers decide it apart before they store anything; and a Twitch add closes the outside
    VIPs other servers saw of it before it was stored (its "VIP added", or Twitch's "already a
    VIP" to their own add of the same viewer)."""
    viewer = earned.guild_id, earned.platform, earned.viewer_id
    open_grant = repository.open_grant(conn, *viewer)
    if decision.reason == Refusal.ALREADY_VIP and open_grant is None:
        track_outside(
            conn,
            earned.guild_id,
            earned.platform,
            earned.broadcaster_user_id,
            earned.viewer_id,
            earned.username,
            at,
            discord_user_id=discord_user_id,
            role_id=role_id,
        )
    record_decision(conn, earned, decision, at)
    if decision.action != "add":
        return
    if earned.platform is Platform.TWITCH:  # Twitch added it: nobody's VIP until now
        channel_repository.close_outside_elsewhere(
            conn, earned.guild_id, earned.broadcaster_user_id, earned.viewer_id, at,
            texts.GRANTED_ELSEWHERE,
        )  # fmt: skip
    grant = earned_grant(earned, decision, at, discord_user_id=discord_user_id, role_id=role_id)
    if open_grant is None:
        repository.add_grant(conn, grant)
        return
    repository.adopt_grant(
        conn,
        open_grant.id,
        grant.source,
        decision.expires_at,
        discord_user_id=discord_user_id,
        role_id=role_id,
    )
