"""Expiry and the VIPs granted elsewhere.

:meth:`VipExpiry.expire_due` queues the removal of every temporary VIP whose expiry has passed,
in every guild: a scheduled job that catches up after downtime (it reads the stored expiries, so a
restart re-arms it); the platform's worker makes each (:meth:`VipExpiry.remove_expired`,
``removal_calls.py``), leaves what Twitch could not do now for the next run, and treats "not a
VIP any more" (someone removed them by hand) and "unknown user" (the account was deleted or
suspended) as done. Outside VIPs (``channel.vip.add`` for
someone StreamKeeper did not grant, here or in another server following the channel) are
tracked and shown, never removed; a
``channel.vip.remove`` closes whatever grant is open. Twitch delivers these out of order at
times: a removal with no open grant is kept as a closed outside grant (at the time Twitch sent
it), and an add sent before a removal we know of (that one, or the end of one of our grants) is
the old VIP told late, not tracked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from core.bus.base import NotReady
from core.events import Platform, VipAdded, VipRemoved, utc
from core.features.vip import channel_repository, repository, texts
from core.features.vip.effects import VipEffects, log
from core.features.vip.ports import Refusal, RoleRefused, TwitchAccount, TwitchBusy, TwitchRefused
from core.features.vip.removal_calls import is_due, queue_removal
from core.features.vip.repository import OUTSIDE, AuditEntry, Grant, VipSettings
from core.outbox.worker import Done, Outcome, Refused, Retry

EXPIRED = "expired"
REMOVED = "removed"
NOT_GIVEN_BACK = "extended while it was being removed, and not given back"


@dataclass(frozen=True)
class ExpiryRun:
    queued: int = 0  # removals queued: Twitch's for the Helix worker, Kick's for Discord's


def grant_entry(
    grant: Grant,
    action: str,
    reason: str,
    actor_kind: str,
    at: datetime,
    actor_id: str | None,
    *,
    is_ending: bool,
) -> AuditEntry:
    """The audit row of ``action`` on ``grant``: its expiry is the row's previous one when the
    grant ends (``is_ending``), else its new one."""
    return AuditEntry(
        guild_id=grant.guild_id,
        platform=grant.platform,
        broadcaster_user_id=grant.broadcaster_user_id,
        platform_user_id=grant.platform_user_id,
        username=grant.username,
        action=action,
        actor_kind=actor_kind,
        actor_id=actor_id,
        reason=reason,
        at=at,
        previous_expires_at=grant.expires_at if is_ending else None,
        new_expires_at=None if is_ending else grant.expires_at,
    )


def removal_entry(
    grant: Grant, action: str, reason: str, actor_kind: str, at: datetime, actor_id: str | None
) -> AuditEntry:
    return grant_entry(grant, action, reason, actor_kind, at, actor_id, is_ending=True)


class VipExpiry:
    def __init__(self, effects: VipEffects) -> None:
        self.effects = effects

    async def expire_due(self) -> ExpiryRun:
        """Queue the removal of every temporary VIP whose expiry has passed, in every guild
        that removes them (at most ``due_grants``' 500, in turns): a Twitch VIP for the Twitch
        Helix worker, a Kick grant's role for the Discord worker of the guild's shard. Each
        guild's removals are made in its own lane, so a guild whose Twitch hangs holds only
        its own; a removal that cannot be made now notes why, and a later run queues it
        again (:func:`~core.features.vip.removal_calls.retry_wait`), behind the grants never
        tried."""
        now = self.effects.clock()
        due = await self.effects.in_transaction(lambda conn: repository.due_grants(conn, now))
        by_guild: dict[int, list[Grant]] = defaultdict(list)
        for grant in due:
            if is_due(grant, now):  # one that keeps failing waits longer each time
                by_guild[grant.guild_id].append(grant)
        queued = 0
        for guild_id, grants in by_guild.items():
            settings = await self.effects.settings(guild_id)
            if not settings.is_auto_removal:  # turned off since ``due_grants`` read it
                continue
            queued += await self.effects.in_transaction(
                lambda conn, grants=grants: sum(queue_removal(conn, g, now) for g in grants)
            )
        return ExpiryRun(queued)

    async def remove_expired(self, guild_id: int, grant_id: int) -> Outcome:
        """A worker's call for an expired grant: remove the VIP (Twitch) or the role (Kick)
        and close the grant, or note why not (the next expiry run queues it again)."""
        grant = await self.effects.in_transaction(
            lambda conn: repository.get_grant(conn, guild_id, grant_id)
        )
        if grant is None or grant.removed_at is not None:
            return Done("closed already")
        if grant.expires_at is not None and grant.expires_at > self.effects.clock():
            if (grant.last_error or "").startswith(NOT_GIVEN_BACK):  # this call's try again
                return await self._give_back(grant)
            # Extended since the removal was queued (a redemption made just after it ran out,
            # handled first in the guild's order): the viewer paid for the time, so it stays.
            return Done("extended meanwhile: kept")
        problem, closed_here = await self._remove(grant)
        if problem is None and closed_here is None:
            return await self._give_back(grant)
        if problem is None:
            if closed_here:  # told once, by the call that closed it (two at once close one)
                await self._tell_removed(grant, await self.effects.settings(guild_id))
            return Done(REMOVED)
        now = self.effects.clock()
        text = texts.removal_reason_text(problem)
        await self.effects.in_transaction(
            lambda conn: repository.note_removal_error(conn, [grant_id], text, now)
        )
        return Refused(text)

    async def _tell_removed(self, grant: Grant, settings: VipSettings) -> None:
        await self.effects.notify(
            grant.guild_id,
            grant.broadcaster_user_id,
            settings,
            texts.removed_notice(grant.username, "the VIP time is over"),
            platform=grant.platform,
        )

    async def _give_back(self, grant: Grant) -> Outcome:
        """The grant was extended while its VIP was being removed (a redemption or an admin's
        extension during the call): the viewer has the time, so the VIP (or role) goes back;
        tried again later while Twitch or Discord does not answer."""
        problem: object = None
        retry_after: float | None = None
        is_passing = False  # Twitch busy, Discord away: worth trying again
        try:
            if grant.platform is Platform.TWITCH:
                await self.effects.add_vip(
                    grant.guild_id, grant.broadcaster_user_id, grant.platform_user_id
                )
            elif self.effects.roles is None or grant.discord_user_id is None:
                problem = "Discord roles are not available"
            else:
                await self.effects.roles.add_role(
                    grant.guild_id, grant.discord_user_id, grant.role_id or 0
                )
        except TwitchRefused as refused:
            problem = None if refused.reason == Refusal.ALREADY_VIP else refused
        except NotReady:
            problem, is_passing = "Discord is not connected", True
        except TwitchBusy as busy:
            problem, is_passing, retry_after = busy, True, busy.retry_after
        except RoleRefused as refused:
            problem = refused
        now = self.effects.clock()
        if problem is not None:
            text = f"{NOT_GIVEN_BACK}: {problem}"
            log.warning("guild %s: VIP %s %s", grant.guild_id, grant.id, text)
            await self.effects.in_transaction(
                lambda conn: repository.note_removal_error(conn, [grant.id], text, now)
            )
            return Retry(text, retry_after) if is_passing else Refused(text)
        if grant.last_error:  # an earlier try's words no longer hold
            await self.effects.in_transaction(
                lambda conn: repository.clear_removal_error(conn, grant.id)
            )
        return Done("extended while it was being removed: given back")

    async def _remove(self, grant: Grant) -> tuple[str | None, bool | None]:
        """Remove one expired VIP: (None, whether this call closed the grant, None when the
        grant was extended meanwhile and stays open) when done, else (why it has to wait (a
        ``Refusal`` when Twitch refused), False)."""
        reason = "expired"
        try:
            if grant.platform is Platform.KICK:
                if self.effects.roles is None or grant.discord_user_id is None:
                    return "Discord roles are not available", False
                await self.effects.roles.remove_role(
                    grant.guild_id, grant.discord_user_id, grant.role_id or 0
                )
            else:
                await self.effects.remove_vip(
                    grant.guild_id, grant.broadcaster_user_id, grant.platform_user_id
                )
        except RoleRefused as refused:
            log.warning(
                "guild %s: role of grant %s not removed: %s", grant.guild_id, grant.id, refused
            )
            return str(refused), False
        except NotReady:
            return "Discord is not connected", False
        except TwitchRefused as refused:
            if refused.reason == Refusal.NOT_VIP:
                reason = "expired (already removed on Twitch)"
            elif refused.reason == Refusal.NOT_FOUND:  # deleted or suspended: no VIP is left
                reason = texts.ACCOUNT_GONE
            else:
                log.warning("guild %s: VIP %s not removed: %s", grant.guild_id, grant.id, refused)
                return refused.reason, False
        except TwitchBusy as busy:
            log.warning("guild %s: VIP of %s not removed yet: %s", grant.guild_id, grant.id, busy)
            return str(busy) or "Twitch did not answer", False
        now = self.effects.clock()

        def close(conn: Connection) -> bool | None:
            if not repository.close_grant(conn, grant.id, now, reason, if_expired=True):
                extended = repository.get_grant(conn, grant.guild_id, grant.id)
                return None if extended is not None and extended.removed_at is None else False
            entry = removal_entry(grant, "removed", reason, "system", now, None)
            repository.add_audit(conn, entry)
            return True

        return None, await self.effects.in_transaction(close)

    # --- VIPs changed on Twitch ------------------------------------------------------------

    def vip_added(self, conn: Connection, guild_id: int, event: VipAdded) -> bool:
        """Track a VIP StreamKeeper did not grant (True when it is new to us)."""
        viewer_id = event.viewer.platform_user_id
        if viewer_id is None or repository.open_grant(conn, guild_id, event.platform, viewer_id):
            return False
        if channel_repository.held_elsewhere(
            conn, guild_id, event.broadcaster_user_id, platform_user_id=viewer_id
        ):
            return False  # another server of the channel granted it: theirs, not outside
        if repository.removed_since(conn, guild_id, event.platform, viewer_id, event.occurred_at):
            # Twitch sent it before a removal we already had: that VIP is gone, told late
            log.info(
                "guild %s: a VIP add of %s sent before their removal is ignored",
                guild_id,
                viewer_id,
            )
            return False
        track_outside(
            conn,
            guild_id,
            event.platform,
            event.broadcaster_user_id,
            viewer_id,
            event.viewer.username,
            # when Twitch sent it, the clock a removal of it is compared with (vip_removed)
            utc(event.occurred_at),
        )
        return True

    def vip_removed(self, conn: Connection, guild_id: int, event: VipRemoved) -> bool:
        """Close the open grant of a VIP removed outside StreamKeeper."""
        viewer_id = event.viewer.platform_user_id
        if viewer_id is None:
            return False
        grant = repository.open_grant(conn, guild_id, event.platform, viewer_id)
        if grant is None:
            _keep_removal(conn, guild_id, event, viewer_id)
            return False
        if event.occurred_at < grant.granted_at:
            # Twitch sent it before this grant began: the end of an earlier VIP (ours, or one
            # given by hand), delivered late. Closing this grant would leave the VIP on Twitch
            # with nothing here to remove it.
            log.info(
                "guild %s: a VIP removal of %s sent before their grant %s began is ignored",
                guild_id,
                viewer_id,
                grant.id,
            )
            return False
        now = self.effects.clock()
        reason = "removed outside StreamKeeper"
        if repository.close_grant(conn, grant.id, now, reason):
            repository.add_audit(conn, removal_entry(grant, "removed", reason, "system", now, None))
        return True

    async def handle_vip_added(self, guild_id: int, event: VipAdded) -> None:
        await self.effects.in_transaction(lambda conn: self.vip_added(conn, guild_id, event))

    async def handle_vip_removed(self, guild_id: int, event: VipRemoved) -> None:
        await self.effects.in_transaction(lambda conn: self.vip_removed(conn, guild_id, event))


def _keep_removal(conn: Connection, guild_id: int, event: VipRemoved, viewer_id: str) -> None:
    """A removal of a VIP with no open grant: the VIP's add may still arrive (Twitch delivered
    them out of order), so the removal is kept as a closed outside grant, shown nowhere, that
    makes such an add old news (:meth:`VipExpiry.vip_added`)."""
    at = event.occurred_at
    if repository.removed_since(conn, guild_id, event.platform, viewer_id, at):
        return  # a removal we know of already covers it (our own removal's echo, a repeat)
    grant = Grant(
        id=0,
        guild_id=guild_id,
        platform=event.platform,
        broadcaster_user_id=event.broadcaster_user_id,
        platform_user_id=viewer_id,
        username=event.viewer.username,
        source=OUTSIDE,
        granted_at=at,
        expires_at=None,
        removed_at=at,
        removal_reason="removed outside StreamKeeper before its add arrived",
    )
    repository.add_grant(conn, grant)


def track_outside(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    broadcaster_user_id: str,
    viewer_id: str,
    username: str,
    now: datetime,
    *,
    discord_user_id: int | None = None,
    role_id: int | None = None,
) -> None:
    """Track a VIP StreamKeeper did not grant (on Kick: the member holding the VIP role,
    given by hand); it is shown and never removed."""
    grant = Grant(
        id=0,
        guild_id=guild_id,
        platform=platform,
        broadcaster_user_id=broadcaster_user_id,
        platform_user_id=viewer_id,
        username=username,
        source=OUTSIDE,
        granted_at=now,
        expires_at=None,
        discord_user_id=discord_user_id,
        role_id=role_id,
    )
    repository.add_grant(conn, grant)
    reason = (
        "VIP role given outside StreamKeeper"
        if platform is Platform.KICK
        else "VIP granted outside StreamKeeper"
    )
    repository.add_audit(
        conn, grant_entry(grant, "seen", reason, "system", now, None, is_ending=False)
    )


def track_outside_vips(
    conn: Connection,
    guild_id: int,
    broadcaster_id: str,
    vips: Sequence[TwitchAccount],
    now: datetime,
) -> int:
    """Track Twitch's VIPs that hold no grant here, nor another server's of the channel, as
    outside VIPs; how many were new."""
    added = 0
    for vip in vips:
        if repository.open_grant(
            conn, guild_id, Platform.TWITCH, vip.user_id
        ) is None and not channel_repository.held_elsewhere(
            conn, guild_id, broadcaster_id, platform_user_id=vip.user_id
        ):
            track_outside(
                conn, guild_id, Platform.TWITCH, broadcaster_id, vip.user_id, vip.login, now
            )
            added += 1
    return added
