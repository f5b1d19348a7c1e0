"""Role sync's Discord side: reads members and roles from the cache, edits one member at a time.

The members intent keeps ``guild.members`` complete, so a sync reads no member list from the API;
each member who needs a change costs one request per role given or taken (Discord's role
endpoints: a role given meanwhile by someone else, or by the bot a moment ago, is never taken
away by a list built from a cache that does not show it yet). Whatever
Discord answers stays with that member or that server: a refusal, a timeout or a lost connection
is one failed edit, and a rate limit longer than the bot waits (``discord.RateLimited``) or a
403 (``discord.Forbidden``: every other member's edit would meet it too) stops this server's sync
for the round, said to the admin with its fix; none of them stops the other servers'.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection

import aiohttp
import discord

from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.roles import render as render_roles
from core.features.roles.ports import GuildRoles, RoleEditFailed, RoleEditsHeld
from core.features.watchtime.durations import describe_seconds

log = logging.getLogger(__name__)
# Discord did not answer: aiohttp's connection errors, a lost socket, a request that timed out.
NO_ANSWER = (aiohttp.ClientError, OSError, TimeoutError)
TWO_FACTOR_REQUIRED = 60003  # Discord's code: the server wants 2FA for moderation actions


def refused_in_words(exc: discord.Forbidden) -> str:
    """Why Discord refuses this server's role changes, with what the admin can do about it."""
    if exc.code == TWO_FACTOR_REQUIRED:
        return (
            "Discord refused to change roles in this server: it requires two-factor "
            "authentication for moderation, and my owner's Discord account has none"
        )
    return (
        f"Discord refused to change roles in this server ({exc.status} "
        f"{exc.text or 'Forbidden'}): give my role Manage Roles and drag it above the "
        "watchtime roles"
    )


def assignable_role_ids(guild: discord.Guild) -> frozenset[int]:
    """Roles the bot may hand out: not @everyone, not an integration's, below its top role."""
    return frozenset(role.id for role in guild.roles if role.is_assignable())


def member_role_ids(member: discord.Member) -> frozenset[int]:
    return frozenset(role.id for role in member.roles if not role.is_default())


class DiscordMemberRoles:
    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway
        self._said_off = False

    def _guild(self, guild_id: int) -> discord.Guild | None:
        client = self.gateway.client_for(guild_id)
        if client is None:
            if not self._said_off:
                log.info("Discord is off: watchtime roles are not synced")
                self._said_off = True
            return None
        return client.get_guild(guild_id)

    async def guild_roles(self, guild_id: int, only_member: int | None = None) -> GuildRoles | None:
        guild = self._guild(guild_id)
        if guild is None:
            return None
        if only_member is not None:
            member = guild.get_member(only_member)
            members = [] if member is None else [member]
        else:
            members = list(guild.members)
        return GuildRoles(
            can_manage_roles=guild.me.guild_permissions.manage_roles,
            assignable_role_ids=assignable_role_ids(guild),
            existing_role_ids=frozenset(role.id for role in guild.roles),
            members={m.id: member_role_ids(m) for m in members if not m.bot},
        )

    async def edit_member_roles(
        self,
        guild_id: int,
        discord_user_id: int,
        *,
        add: Collection[int],
        remove: Collection[int],
        reason: str,
    ) -> bool:
        guild = self._guild(guild_id)
        member = guild.get_member(discord_user_id) if guild is not None else None
        if guild is None or member is None:
            return False
        # One request per role (Discord's add and remove role endpoints), never the whole list:
        # the cache may not show yet a role given a moment ago (the linked role, an admin's),
        # and a list built from it would take that role away again.
        gained = [role for role_id in add if (role := guild.get_role(role_id)) is not None]
        lost = [role for role_id in remove if (role := guild.get_role(role_id)) is not None]
        try:
            if gained:
                await member.add_roles(*gained, reason=reason)
            if lost:
                await member.remove_roles(*lost, reason=reason)
        except discord.NotFound:
            return False  # left the server meanwhile
        except discord.Forbidden as exc:
            # The cache said the bot may give these roles; Discord says otherwise (2FA, a
            # permission or role order changed): one request per round, not one per member.
            raise RoleEditsHeld(refused_in_words(exc)) from exc
        except discord.HTTPException as exc:
            raise RoleEditFailed(f"{exc.status} {exc.text or type(exc).__name__}") from exc
        except discord.RateLimited as exc:
            seconds = exc.retry_after  # from the 429's body: a huge number reads as infinity
            usable = math.isfinite(seconds) and seconds >= 0
            wait = describe_seconds(math.ceil(seconds)) if usable else "a while"
            raise RoleEditsHeld(
                f"Discord rate-limits role changes in this server for {wait}"
            ) from exc
        except NO_ANSWER as exc:
            raise RoleEditFailed(f"Discord did not answer: {type(exc).__name__} {exc}") from exc
        return True

    async def tell_member(self, guild_id: int, discord_user_id: int, role_ids: list[int]) -> None:
        guild = self._guild(guild_id)
        member = guild.get_member(discord_user_id) if guild is not None else None
        if guild is None or member is None:
            return
        names = [role.name for role_id in role_ids if (role := guild.get_role(role_id))]
        if not names:
            return
        try:
            await member.send(
                render_roles.role_reached_dm(names, guild.name), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            # Closed DMs are common and not a fault of the bot.
            log.debug("guild %s: could not DM member %s: %s", guild_id, discord_user_id, exc)
        except (discord.RateLimited, *NO_ANSWER) as exc:
            # The role is given; only the DM about it is lost (it is noted as told).
            log.warning("guild %s: could not DM member %s: %r", guild_id, discord_user_id, exc)
