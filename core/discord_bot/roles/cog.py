"""Watchtime role commands: !roles list, add, update, remove, enable, disable, mode, dm, members
and sync. Everything but list needs Manage Server."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import Context, guild_of, manage_server
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.roles import render as render_roles
from core.discord_bot.roles.outbound import assignable_role_ids
from core.features.roles.service import RolesRefused, RolesService, parse_minutes
from core.features.roles.sync import RoleSync
from core.features.typed_numbers import whole_in

_ROLE_ID = re.compile(r"^(?:<@&)?([0-9]{15,21})>?$")


class TierRoleArgument(commands.Converter[discord.Role | int]):
    """A role of this server, or the bare id of one that was deleted (to remove its tier)."""

    async def convert(self, ctx: Context, argument: str) -> discord.Role | int:
        try:
            return await commands.RoleConverter().convert(ctx, argument)
        except commands.RoleNotFound:
            match = _ROLE_ID.match(argument.strip())
            role_id = None if match is None else whole_in(match.group(1), low=1)
            if role_id is None:
                raise
            return role_id


def refusal_for_new_tier(role: discord.Role) -> str | None:
    """Why ``role`` can't be a watchtime role, or None when it can."""
    if role.is_default():
        return render_roles.EVERYONE_REFUSED
    if role.managed:
        return render_roles.MANAGED_REFUSED
    if not role.is_assignable():
        return render_roles.above_me_refused(role.name)
    return None


class RolesCog(commands.Cog, name="Roles"):
    """Discord roles that members earn with their watchtime."""

    def __init__(self, roles: RolesService, sync: RoleSync | None = None) -> None:
        self.roles = roles
        self.sync = sync

    async def _reply(self, ctx: Context, text: str) -> None:
        await ctx.send(text, allowed_mentions=NO_MENTIONS)

    async def _refuse(self, ctx: Context, text: str) -> None:
        await ctx.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @commands.hybrid_group(name="roles", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    async def roles_group(self, ctx: Context) -> None:
        """Watchtime roles: list them, or set them up (Manage Server)."""
        await self._reply(ctx, render_roles.roles_usage(ctx.clean_prefix))

    @roles_group.command(name="list")
    @commands.guild_only()
    async def roles_list(self, ctx: Context) -> None:
        """Show the roles members earn and the watchtime each needs."""
        guild = guild_of(ctx)
        await ctx.defer()
        tiers = await asyncio.to_thread(self.roles.tiers, guild.id)
        settings = await asyncio.to_thread(self.roles.settings, guild.id)
        existing = {role.id for role in guild.roles}
        deleted = frozenset(t.role_id for t in tiers if t.role_id not in existing)
        reachable = assignable_role_ids(guild)
        out_of_reach = frozenset(
            t.role_id for t in tiers if t.role_id in existing and t.role_id not in reachable
        )
        messages = render_roles.tier_list(
            tiers,
            settings,
            deleted=deleted,
            out_of_reach=out_of_reach,
            prefix=ctx.clean_prefix,
            can_manage_roles=guild.me.guild_permissions.manage_roles,
        )
        for text in messages:
            await self._reply(ctx, text)

    # ignore_extra=False: "!roles add @Regular 10 hours" is refused, not a tier of 10 minutes.
    @roles_group.command(name="add", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="The role to give", minutes="Watchtime it needs, in minutes")
    async def roles_add(self, ctx: Context, role: discord.Role, minutes: str) -> None:
        """Make a role a watchtime role, earned after so many minutes (Manage Server)."""
        guild = guild_of(ctx)
        problem = refusal_for_new_tier(role)
        if problem is not None:
            await self._refuse(ctx, problem)
            return
        await ctx.defer()
        tier = await asyncio.to_thread(
            self.roles.add_tier, guild.id, role.id, parse_minutes(minutes)
        )
        settings = await asyncio.to_thread(self.roles.settings, guild.id)
        holders = sum(1 for member in role.members if not member.bot)
        reply = render_roles.tier_added(
            tier,
            holders,
            ctx.clean_prefix,
            can_manage_roles=guild.me.guild_permissions.manage_roles,
            roles_on=settings.enabled,
        )
        await self._reply(ctx, reply)

    @roles_group.command(name="update", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="A watchtime role", minutes="Watchtime it needs, in minutes")
    async def roles_update(self, ctx: Context, role: discord.Role, minutes: str) -> None:
        """Change the minutes a watchtime role needs (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        tier = await asyncio.to_thread(
            self.roles.update_tier, guild.id, role.id, parse_minutes(minutes)
        )
        settings = await asyncio.to_thread(self.roles.settings, guild.id)
        reply = render_roles.tier_updated(tier, ctx.clean_prefix, roles_on=settings.enabled)
        await self._reply(ctx, reply)

    @roles_group.command(name="remove")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="A watchtime role (or the id of one that was deleted)")
    async def roles_remove(
        self, ctx: Context, role: Annotated[discord.Role | int, TierRoleArgument]
    ) -> None:
        """Stop managing a watchtime role; members keep it (Manage Server)."""
        guild = guild_of(ctx)
        role_id = role if isinstance(role, int) else role.id
        await ctx.defer()
        await asyncio.to_thread(self.roles.remove_tier, guild.id, role_id)
        await self._reply(ctx, render_roles.tier_removed(role_id))

    @roles_group.command(name="enable", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="One watchtime role to turn back on (none: all of them)")
    async def roles_enable(
        self, ctx: Context, role: Annotated[discord.Role | int, TierRoleArgument] | None = None
    ) -> None:
        """Give and take watchtime roles at every role sync, or one role again (Manage Server)."""
        await self._set_enabled(ctx, role, enabled=True)

    @roles_group.command(name="disable", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="One watchtime role to leave alone (none: all of them)")
    async def roles_disable(
        self, ctx: Context, role: Annotated[discord.Role | int, TierRoleArgument] | None = None
    ) -> None:
        """Leave everyone's roles alone, or one watchtime role, until enabled (Manage Server)."""
        await self._set_enabled(ctx, role, enabled=False)

    async def _set_enabled(
        self, ctx: Context, role: discord.Role | int | None, *, enabled: bool
    ) -> None:
        guild = guild_of(ctx)
        await ctx.defer()
        if role is None:
            settings = await asyncio.to_thread(self.roles.set_enabled, guild.id, enabled)
            await self._reply(ctx, render_roles.enabled_changed(settings))
            return
        role_id = role if isinstance(role, int) else role.id
        try:
            tier = await asyncio.to_thread(self.roles.set_tier_enabled, guild.id, role_id, enabled)
        except RolesRefused as refused:
            await self._refuse(ctx, str(refused))
            return
        await self._reply(ctx, render_roles.tier_switched(tier))

    @roles_group.command(name="mode")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(mode="all: every role reached; highest: only the highest one")
    async def roles_mode(self, ctx: Context, mode: str) -> None:
        """Give every watchtime role reached (all), or only the highest (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        try:
            settings = await asyncio.to_thread(self.roles.set_mode, guild.id, mode)
        except RolesRefused as refused:
            # Said with the usage line (plain: it holds a | that escaping would show).
            await self._refuse(ctx, f"{refused} Usage: {ctx.clean_prefix}roles mode all|highest")
            return
        await self._reply(ctx, render_roles.mode_changed(settings))

    @roles_group.command(name="dm")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(state="on or off")
    async def roles_dm(self, ctx: Context, state: str) -> None:
        """DM members when they reach a new watchtime role: on or off (Manage Server)."""
        guild = guild_of(ctx)
        wanted = state.strip().lower()
        if wanted not in ("on", "off"):
            await self._refuse(ctx, f"Usage: {ctx.clean_prefix}roles dm on|off")
            return
        await ctx.defer()
        settings = await asyncio.to_thread(self.roles.set_dm, guild.id, wanted == "on")
        await self._reply(ctx, render_roles.dm_changed(settings))

    @roles_group.command(name="members")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="A role of this server")
    async def roles_members(self, ctx: Context, role: discord.Role) -> None:
        """List the members who hold a watchtime role (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        tiers = await asyncio.to_thread(self.roles.tiers, guild.id)
        tier = next((t for t in tiers if t.role_id == role.id), None)
        holders = sorted((m for m in role.members if not m.bot), key=lambda m: m.display_name)
        reply = render_roles.role_members(role.id, [m.id for m in holders], tier)
        await self._reply(ctx, reply)

    @roles_group.command(name="sync")
    @commands.guild_only()
    @manage_server()
    @commands.max_concurrency(1, commands.BucketType.guild)
    async def roles_sync(self, ctx: Context) -> None:
        """Give and take watchtime roles now instead of at the next sync (Manage Server)."""
        guild = guild_of(ctx)
        if self.sync is None:
            await self._refuse(ctx, "Role sync is not running in this bot.")
            return
        await ctx.defer()
        result = await self.sync.sync_guild_unless_running(guild.id)
        if result is None:
            await self._refuse(ctx, render_roles.sync_running(ctx.clean_prefix))
            return
        await self._reply(ctx, render_roles.sync_result(result, ctx.clean_prefix))
