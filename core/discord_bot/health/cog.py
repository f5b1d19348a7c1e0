"""!health: the process checks of ``/health`` and ``python -m core health``, then this server's:
its Kick connection and subscriptions, the last event of each type, the watchtime tick's lag,
whether the bot may hand out the watchtime roles and the linked role, and what the bot could not
do for it lately (a partner's refusal). Each failing line says how to fix it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta

import discord
from discord.ext import commands

from core.bus.base import is_outage
from core.discord_bot.common import guild_of, manage_server
from core.discord_bot.connections.checks import fix_words
from core.discord_bot.health import render
from core.discord_bot.health.posts import (
    VIP_FIX,
    PostsChannel,
    posts_channel_check,
    posts_channels,
)
from core.discord_bot.linking.outbound import role_problem
from core.discord_bot.render import NO_MENTIONS, relative
from core.discord_bot.services import BotServices
from core.features.connections.checks import stored_platform_checks
from core.features.connections.kick.setup import KickSetup
from core.features.connections.twitch.setup import TwitchSetup
from core.features.linking.service import LinkingService
from core.features.roles.repository import RoleTier
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync, SyncResult
from core.features.watchtime.durations import format_duration
from core.features.watchtime.service import WatchtimeService
from core.health import Check, HealthReport, unless_down, unread
from core.outbox.undone import UndoneCalls

# A tick this many intervals late means the scheduler stopped or cannot keep up.
LATE_TICKS = 3


class HealthCog(commands.Cog, name="Health"):
    """Whether the bot's database, event pipeline and platform connections work."""

    def __init__(
        self,
        health: Callable[[], HealthReport],
        *,
        kick: KickSetup | None = None,
        twitch: TwitchSetup | None = None,
        watchtime: WatchtimeService | None = None,
        roles: RolesService | None = None,
        role_sync: RoleSync | None = None,
        linking: LinkingService | None = None,
        undone: UndoneCalls | None = None,
        services: BotServices | None = None,
    ) -> None:
        """``services``: the features whose posts channels the report checks."""
        self.health = health
        self.services = services
        self.linking = linking
        self.kick = kick
        self.twitch = twitch
        self.watchtime = watchtime
        self.roles = roles
        self.role_sync = role_sync
        self.undone = undone

    @commands.hybrid_command(name="health")
    @commands.guild_only()
    @manage_server()
    async def health_command(self, ctx: commands.Context[commands.Bot]) -> None:
        """Check the bot's database, connections and permissions here (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        # The checks probe the database and Redis, which may block.
        report = await asyncio.to_thread(self.health)
        checks = list(report.checks)
        checks += await asyncio.to_thread(self._stored_checks, guild.id, ctx.clean_prefix)
        checks += await self._role_checks(guild, ctx.clean_prefix)
        checks += await self._posts_checks(guild)
        for reply in render.health_messages(HealthReport(checks)):
            await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    async def _role_checks(self, guild: discord.Guild, prefix: str) -> list[Check]:
        checks = []
        if self.roles is not None:
            roles = self.roles
            tiers = await asyncio.to_thread(unless_down, lambda: roles.tiers(guild.id))
            checks += (
                role_checks(guild, tiers, prefix)
                if tiers is not None
                else [unread("watchtime roles")]
            )
        if self.role_sync is not None:
            checks += role_sync_checks(self.role_sync.last_result(guild.id))
        if self.linking is not None:
            linking = self.linking
            settings = await asyncio.to_thread(unless_down, lambda: linking.settings(guild.id))
            if settings is None:
                checks.append(unread("linked role"))
            elif settings.linked_role_id is not None:
                checks.append(linked_role_check(guild, settings.linked_role_id, prefix))
        return checks

    async def _posts_checks(self, guild: discord.Guild) -> list[Check]:
        """Whether the bot can post in each channel this server's posts go to."""
        if self.services is None:
            return []
        found = await asyncio.to_thread(posts_channels, self.services, guild.id)
        if (vip := self.services.vip) is not None:
            try:
                settings = await vip.settings(guild.id)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                found.append("VIP notice channel")
            else:
                if settings.notice_channel_id:
                    channel_id = settings.notice_channel_id
                    found.append(PostsChannel("VIP notice channel", channel_id, False, VIP_FIX))
        return [posts_channel_check(guild, posts) for posts in found]

    def _stored_checks(self, guild_id: int, prefix: str) -> list[Check]:
        checks = self._connection_checks(guild_id, prefix)
        if self.watchtime is not None:
            watchtime = self.watchtime
            tick = unless_down(
                lambda: tick_check(
                    watchtime.tick_lag(guild_id),
                    watchtime.settings.interval_seconds,
                    watchtime.tracking_status(guild_id).enabled,
                    prefix,
                )
            )
            checks.append(tick or unread("watchtime tick"))
        if self.undone is not None:
            checks.append(self.undone.check(guild_id))
        return checks

    def _connection_checks(self, guild_id: int, prefix: str) -> list[Check]:
        # Names unescaped: the reply passes each whole line through inert.
        words = fix_words(prefix, name=str)
        return stored_platform_checks(self.kick, self.twitch, guild_id, words)


# --- the checks, as plain functions of what the services and Discord report -----------------


def tick_check(lag: timedelta | None, interval_seconds: int, enabled: bool, prefix: str) -> Check:
    if not enabled:
        return Check("watchtime tick", True, f"tracking is off ({prefix}tracking on to resume)")
    if lag is None:
        return Check(
            "watchtime tick",
            False,
            f"no tick yet for this server: run {prefix}tracking on to register it, and check "
            "that the bot process runs",
        )
    late = lag.total_seconds() > LATE_TICKS * interval_seconds
    seconds = max(0, int(lag.total_seconds()))
    detail = f"last tick {format_duration(seconds) if seconds >= 60 else f'{seconds} s'} ago"
    detail += f" (every {interval_seconds} s)"
    if late:
        detail += ": the scheduler is stopped or behind; check the bot process and its log"
    return Check("watchtime tick", not late, detail)


def role_checks(guild: discord.Guild, tiers: Sequence[RoleTier], prefix: str) -> list[Check]:
    """Manage Roles and role order, for this server's watchtime roles."""
    if not tiers:
        return [Check("watchtime roles", True, f"none set up ({prefix}roles add to add one)")]
    checks = []
    can_manage = guild.me.guild_permissions.manage_roles
    checks.append(
        Check("manage roles", True, "granted")
        if can_manage
        else Check("manage roles", False, "missing: give my role the Manage Roles permission")
    )
    roles = [(tier, guild.get_role(tier.role_id)) for tier in tiers]
    deleted = [str(tier.role_id) for tier, role in roles if role is None]
    too_high = [role.name for _, role in roles if role is not None and not role.is_assignable()]
    if too_high:
        checks.append(
            Check(
                "role order",
                False,
                f"{', '.join(too_high)} at or above my highest role: in Server Settings > Roles, "
                "drag my role above them",
            )
        )
    else:
        checks.append(Check("role order", True, "every watchtime role is below my highest role"))
    if deleted:
        checks.append(
            Check(
                "watchtime roles",
                False,
                f"deleted roles still set up ({', '.join(deleted)}): {prefix}roles remove <id>",
            )
        )
    return checks


def linked_role_check(guild: discord.Guild, role_id: int, prefix: str) -> Check:
    """Whether the bot can give the role linked members get (``!linkrole``)."""
    role = guild.get_role(role_id)
    if role is None:
        fix = f"set another with {prefix}linkrole @role, or {prefix}linkrole off"
        return Check("linked role", False, f"deleted ({role_id}): {fix}")
    problem = role_problem(role)
    if problem is not None:
        return Check("linked role", False, f"{role.name}: {problem}")
    return Check("linked role", True, f"{role.name}: I can give it")


def role_sync_checks(result: SyncResult | None) -> list[Check]:
    if result is None:
        return [Check("role sync", True, "not run yet since the bot started")]
    if result.skipped is not None:
        return [
            Check("role sync", True, f"{relative(result.finished_at)}: skipped, {result.skipped}")
        ]
    detail = (
        f"{relative(result.finished_at)}: {result.members_edited} member(s) updated, "
        f"{result.roles_added} role(s) given, {result.roles_removed} taken away"
    )
    if result.stopped is not None:
        return [Check("role sync", False, f"{detail}, stopped early: {result.stopped}")]
    if result.failed_edits:
        return [
            Check(
                "role sync",
                False,
                f"{detail}, {result.failed_edits} edit(s) failed: see the bot's log",
            )
        ]
    return [Check("role sync", True, detail)]
