"""Role sync: give each member the watchtime roles they qualify for and take the others away.

A sync reads the server's members and roles from Discord, the tiers and linked watchtime from
the database, plans with :func:`~core.features.roles.service.plan_role_changes` and then edits
each member who needs a change once, pausing between edits so a big server stays well inside
Discord's rate limits; a few servers sync at once, so a big one holds up no other. Roles the bot
may not touch are reported, never attempted. One server's trouble stays its own: a failed edit
is counted and the next member goes on, a server whose edits Discord holds back (a long rate
limit) stops for this round, and a server whose sync fails is logged and reported while the
other servers go on.

Each edit is planned again from the member's roles and watchtime of that moment, under the
guild's edit lock, so a member synced right after linking (``sync_member``) waits for at most
one edit of a running sync, never for its pauses, and two syncs never both edit a member from
the same stale roles.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from core.bus.base import NotReady
from core.events import utc
from core.features.roles.ports import GuildRoles, MemberRoles, RoleEditFailed, RoleEditsHeld
from core.features.roles.repository import RoleSettings
from core.features.roles.service import MemberChange, RolePlan, RolesService, plan_role_changes

log = logging.getLogger(__name__)
EDIT_REASON = "StreamKeeper watchtime roles"
SYNC_FAILED = "the sync failed (see the bot's log)"
# Servers synced at the same time: each paces its own edits (Discord's role limits are per
# server), and a few together stay far inside the bot's global limit of 50 requests a second.
GUILDS_AT_ONCE = 8


@dataclass(frozen=True)
class SyncResult:
    guild_id: int
    finished_at: datetime
    skipped: str | None = None  # why nothing was looked at (off, no tiers, bot not there)
    members_checked: int = 0
    members_edited: int = 0
    roles_added: int = 0
    roles_removed: int = 0
    failed_edits: int = 0
    can_manage_roles: bool = True
    blocked_role_ids: frozenset[int] = field(default_factory=frozenset)
    missing_role_ids: frozenset[int] = field(default_factory=frozenset)
    # Why the sync ended before every needed edit (Discord holds this server's edits back, or
    # the sync failed), and how many members wait for the next sync.
    stopped: str | None = None
    edits_left: int = 0


@dataclass(frozen=True)
class _Planned:
    plan: RolePlan
    state: GuildRoles
    settings: RoleSettings


class RoleSync:
    def __init__(
        self,
        roles: RolesService,
        discord: MemberRoles,
        *,
        clock: Callable[[], datetime],
        pause_seconds: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.roles = roles
        self.discord = discord
        self.clock = clock
        self.pause_seconds = pause_seconds
        self.sleep = sleep
        self._last: dict[int, SyncResult] = {}
        # Per guild: one full sync at a time (the periodic one, !roles sync), and one member's
        # plan-and-edit at a time (any sync). A process lock is enough: a guild's role edits
        # are made only by the bot process of its Discord shard (the periodic sync, the
        # commands and the Discord outbox's calls alike), whatever the database.
        self._rounds: dict[int, asyncio.Lock] = {}
        self._edits: dict[int, asyncio.Lock] = {}

    def last_result(self, guild_id: int) -> SyncResult | None:
        """The last full sync of this guild since the process started."""
        return self._last.get(guild_id)

    async def sync_all(self) -> list[SyncResult]:
        """Sync every guild that has tiers, each on its own, ``GUILDS_AT_ONCE`` at a time: a
        server with many edits to pace (one a second) or whose edits Discord is slow to answer
        holds up only its own round, not the other servers' roles. A guild whose sync fails is
        logged and reported and the others go on, and so do they past a guild Discord has
        unavailable (an outage), which waits for the next run. ``DiscordUnavailable`` when no
        guild could sync for it (the bot is not connected: try later). The results are in the
        guilds' order."""
        slots = asyncio.Semaphore(GUILDS_AT_ONCE)

        async def one(guild_id: int) -> SyncResult | NotReady:
            async with slots:
                try:
                    return await self.sync_guild(guild_id)
                except NotReady as exc:
                    return exc  # this server's outage, or the bot's: the others are tried
                except Exception:
                    log.exception("guild %s: role sync failed; the other servers go on", guild_id)
                    result = SyncResult(guild_id, utc(self.clock()), stopped=SYNC_FAILED)
                    self._last[guild_id] = result
                    return result

        guild_ids = await asyncio.to_thread(self.roles.guild_ids_with_tiers)
        outcomes = await asyncio.gather(*(one(guild_id) for guild_id in guild_ids))
        results = [outcome for outcome in outcomes if isinstance(outcome, SyncResult)]
        not_ready = next((o for o in outcomes if isinstance(o, NotReady)), None)
        if not_ready is not None and not results:
            raise not_ready
        return results

    async def sync_guild(self, guild_id: int) -> SyncResult:
        async with self._rounds.setdefault(guild_id, asyncio.Lock()):
            result = await self._sync(guild_id, None)
        self._last[guild_id] = result
        return result

    async def sync_guild_unless_running(self, guild_id: int) -> SyncResult | None:
        """:meth:`sync_guild`, or None at once while a sync of the guild is under way (the
        periodic one of a server with 1,000 edits to pace takes about 17 minutes): that round
        makes every edit due, and an admin who asked is not kept waiting for it."""
        if self._rounds.setdefault(guild_id, asyncio.Lock()).locked():
            return None
        # No await before sync_guild takes the free lock: no other round can start between.
        return await self.sync_guild(guild_id)

    async def sync_member(self, guild_id: int, discord_user_id: int) -> SyncResult:
        """Sync one member now, e.g. right after they linked their account; a running sync of
        the guild holds it up for one edit at most."""
        return await self._sync(guild_id, discord_user_id)

    async def _plan(self, guild_id: int, only_member: int | None) -> _Planned | str:
        """The plan from the tiers, settings, roles and watchtime of now; why not, as a str."""
        tiers = await asyncio.to_thread(self.roles.tiers, guild_id)
        settings = await asyncio.to_thread(self.roles.settings, guild_id)
        if not tiers:
            return "no watchtime roles are set up"
        if not settings.enabled:
            return "watchtime roles are turned off"
        # A tier turned off on its own is left out of the plan, so its role is never touched.
        tiers = [tier for tier in tiers if tier.enabled]
        if not tiers:
            return "every watchtime role is turned off"
        state = await self.discord.guild_roles(guild_id, only_member)
        if state is None:
            return "Discord is off or the bot is not in this server"
        seconds = await asyncio.to_thread(self.roles.linked_seconds, guild_id, only_member)
        assignable = state.assignable_role_ids if state.can_manage_roles else frozenset()
        plan = plan_role_changes(
            tiers, settings.mode, state.members, seconds, assignable, state.existing_role_ids
        )
        return _Planned(plan, state, settings)

    async def _edit(self, guild_id: int, discord_user_id: int) -> MemberChange | None:
        """Plan this member again and make their edit, under the guild's edit lock: the change
        made, or None when none is needed any more (another sync made it, their link or the
        tiers changed) or they left."""
        async with self._edits.setdefault(guild_id, asyncio.Lock()):
            planned = await self._plan(guild_id, discord_user_id)
            if isinstance(planned, str) or not planned.plan.changes:
                return None
            [change] = planned.plan.changes
            done = await self.discord.edit_member_roles(
                guild_id,
                change.discord_user_id,
                add=sorted(change.add),
                remove=sorted(change.remove),
                reason=EDIT_REASON,
            )
        return change if done else None

    async def _sync(self, guild_id: int, only_member: int | None) -> SyncResult:
        started = time.perf_counter()
        # Which members need a change; each is planned again just before their edit.
        planned = await self._plan(guild_id, only_member)
        if isinstance(planned, str):
            return self._skipped(guild_id, planned)
        plan, state, settings = planned.plan, planned.state, planned.settings
        edited = added = removed = failed = left = 0
        stopped = None
        for index, needed in enumerate(plan.changes):
            if index and self.pause_seconds > 0:
                await self.sleep(self.pause_seconds)  # outside the edit lock
            try:
                change = await self._edit(guild_id, needed.discord_user_id)
            except RoleEditsHeld as exc:
                # The next edits would be refused alike: this one and the rest wait for the
                # next sync, which plans them again.
                stopped = str(exc)
                left = len(plan.changes) - index
                log.warning(
                    "guild %s: role sync stopped at member %s, %d edit(s) left: %s",
                    guild_id,
                    needed.discord_user_id,
                    left,
                    exc,
                )
                break
            except RoleEditFailed as exc:
                failed += 1
                log.warning(
                    "guild %s: could not change the roles of member %s: %s",
                    guild_id,
                    needed.discord_user_id,
                    exc,
                )
                continue
            if change is None:
                continue
            edited += 1
            added += len(change.add)
            removed += len(change.remove)
            if change.add and settings.dm_on_new_role:
                await self._announce(guild_id, change.discord_user_id, change.add)
        result = SyncResult(
            guild_id,
            utc(self.clock()),
            members_checked=len(state.members),
            members_edited=edited,
            roles_added=added,
            roles_removed=removed,
            failed_edits=failed,
            can_manage_roles=state.can_manage_roles,
            blocked_role_ids=plan.blocked_role_ids,
            missing_role_ids=plan.missing_role_ids,
            stopped=stopped,
            edits_left=left,
        )
        if edited or failed or stopped or plan.blocked_role_ids:
            log.info(
                "guild %s: role sync edited %d member(s) (+%d/-%d roles), %d failed, "
                "%d role(s) out of the bot's reach, in %.1f s",
                guild_id,
                edited,
                added,
                removed,
                failed,
                len(plan.blocked_role_ids),
                time.perf_counter() - started,
            )
        return result

    async def _announce(
        self, guild_id: int, discord_user_id: int, role_ids: frozenset[int]
    ) -> None:
        # Noted first, then told: a member hears about a role once, even if it comes and goes.
        fresh = await asyncio.to_thread(
            self.roles.record_awards, guild_id, discord_user_id, role_ids
        )
        if fresh:
            await self.discord.tell_member(guild_id, discord_user_id, fresh)

    def _skipped(self, guild_id: int, reason: str) -> SyncResult:
        return SyncResult(guild_id, utc(self.clock()), skipped=reason)
