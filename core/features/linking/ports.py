"""What linking needs from Discord, and the hook through which watchtime roles follow a link.

The Discord side implements :class:`LinkDiscord` (``DiscordLinks`` in
``core/discord_bot/linking/outbound.py``); tests use recording fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.events import Platform


@dataclass(frozen=True)
class LinkNotice:
    """One link attempt or unlink, as the member and the link log are told about it.

    ``outcome`` is linked, unlinked or refused (``core.features.linking.service``); ``reason``
    says why a link was refused; ``actor_id`` is who unlinked (the member or an admin);
    ``is_held_elsewhere``: the account was refused because another Discord user linked it in
    another server, where this server's admins cannot unlink it.
    """

    guild_id: int
    discord_user_id: int
    outcome: str
    platform: Platform
    platform_user_id: str | None
    username: str | None
    at: datetime
    reason: str | None = None
    actor_id: int | None = None
    replaced_username: str | None = None
    is_held_elsewhere: bool = False


@dataclass(frozen=True)
class RoleChange:
    """What became of the linked role: given/removed (``is_done``), or why not (``problem``);
    ``for_admin``: whether an admin has something to fix (not when the member left)."""

    role_id: int
    is_done: bool
    problem: str | None = None
    for_admin: bool = True


class LinkDiscord(Protocol):
    async def tell_member(self, notice: LinkNotice) -> bool:
        """DM the member what happened; False when they cannot be reached (DMs closed)."""
        ...

    async def set_linked_role(
        self, guild_id: int, discord_user_id: int, role_id: int, *, present: bool
    ) -> RoleChange:
        """Give (``present``) or take the guild's linked role; never raises for a refusal."""
        ...

    async def post_log(
        self, channel_id: int, notice: LinkNotice, role: RoleChange | None
    ) -> str | None:
        """Post the attempt to the link log channel, which must belong to ``notice.guild_id``;
        why it was not posted (the channel gone, a permission missing), or None. Never raises
        for a refusal."""
        ...


class MemberRoleSync(Protocol):
    """Bring one member's watchtime roles up to date now (the roles feature implements it)."""

    async def sync_member(self, guild_id: int, discord_user_id: int) -> None: ...
