"""What role sync needs from Discord: each member's roles, which roles the bot may hand out, one
role edit per member, and a direct message. ``core/discord_bot/roles/outbound.py`` implements it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class GuildRoles:
    """A server's roles as the bot sees them at the start of a sync."""

    can_manage_roles: bool
    # Roles below the bot's top role that no integration manages: the ones it may add or remove.
    assignable_role_ids: frozenset[int]
    existing_role_ids: frozenset[int]
    # Each member (bots excluded) and the role ids they hold now.
    members: Mapping[int, frozenset[int]] = field(default_factory=dict)


class RoleEditFailed(Exception):
    """Discord refused or failed one member's edit; the message says why (for the log)."""


class RoleEditsHeld(RoleEditFailed):
    """Discord takes no role edits in this server for a while (a rate limit longer than the
    bot waits, or a refusal every edit would meet): the server's sync stops for this round. The
    message says why and what to do, for the admin."""


class MemberRoles(Protocol):
    async def guild_roles(self, guild_id: int, only_member: int | None = None) -> GuildRoles | None:
        """The server's roles and members (just ``only_member`` when given).

        None when Discord is off or the bot is not in that server. Raises
        ``DiscordUnavailable`` while a configured bot is not connected yet.
        """
        ...

    async def edit_member_roles(
        self,
        guild_id: int,
        discord_user_id: int,
        *,
        add: Collection[int],
        remove: Collection[int],
        reason: str,
    ) -> bool:
        """Add and remove these roles in one edit; False when the member has left.

        Raises :class:`RoleEditFailed` when Discord refuses or does not answer, and
        :class:`RoleEditsHeld` when it takes no more edits in this server for a while.
        """
        ...

    async def tell_member(self, guild_id: int, discord_user_id: int, role_ids: list[int]) -> None:
        """DM the member that they reached these roles; a closed DM is not an error."""
        ...
