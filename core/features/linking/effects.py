"""What follows a link attempt on Discord: the member hears how it went, gets (or loses) the
guild's linked role, their watchtime roles follow, and the link log records it.

``account_linked`` and ``link_failed`` handle bus events, which can arrive more than once: each
effect is marked done per event, so a redelivery (say, after Discord dropped mid-way) repeats
only what did not happen yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from core.events import AccountLinked, AccountLinkFailed, AccountUnlinked, Platform, utc
from core.features.linking.ports import LinkDiscord, LinkNotice, MemberRoleSync, RoleChange
from core.features.linking.repository import AccountLink, LinkSettings
from core.features.linking.service import LINKED, REFUSED, UNLINKED, LinkingService

log = logging.getLogger(__name__)
T = TypeVar("T")

STEP_TELL = "linking.tell"
STEP_ROLE = "linking.role"
STEP_LOG = "linking.log"


@dataclass(frozen=True)
class Unlinked:
    link: AccountLink
    role: RoleChange | None


class LinkEffects:
    """``role_sync`` (the roles feature) brings the member's watchtime roles up to date right
    after a link or unlink; without it they follow at the next scheduled sync."""

    def __init__(
        self,
        linking: LinkingService,
        discord: LinkDiscord,
        *,
        role_sync: MemberRoleSync | None = None,
    ) -> None:
        self.linking = linking
        self.discord = discord
        self.role_sync = role_sync

    async def account_linked(self, guild_id: int, event: AccountLinked) -> RoleChange | None:
        """Tell the member, give the linked role, sync their watchtime roles, log it; what
        became of the role (None: no linked role, or given by an earlier try)."""
        notice = _sign_in_notice(guild_id, event, LINKED, replaced_username=event.replaced_username)
        settings = await asyncio.to_thread(self.linking.settings, guild_id)
        await self._once(guild_id, STEP_TELL, event.key, partial(self.discord.tell_member, notice))
        role: RoleChange | None = None
        if settings.linked_role_id is not None:
            give = partial(
                self.discord.set_linked_role,
                guild_id,
                event.discord_user_id,
                settings.linked_role_id,
                present=True,
            )
            role = await self._once(guild_id, STEP_ROLE, event.key, give)
        # The member's watchtime now counts for them on Discord: sync their roles at once.
        await self._sync_watchtime_roles(guild_id, event.discord_user_id)
        await self._post_log(guild_id, settings, event.key, notice, role)
        log.info(
            "guild %s: member %s linked a %s account",
            guild_id,
            event.discord_user_id,
            event.platform.value,
        )
        return role

    async def link_failed(self, guild_id: int, event: AccountLinkFailed) -> None:
        notice = _sign_in_notice(guild_id, event, REFUSED, reason=event.reason)
        settings = await asyncio.to_thread(self.linking.settings, guild_id)
        await self._once(guild_id, STEP_TELL, event.key, partial(self.discord.tell_member, notice))
        await self._post_log(guild_id, settings, event.key, notice, None)
        log.info(
            "guild %s: member %s could not link a %s account (%s)",
            guild_id,
            event.discord_user_id,
            event.platform.value,
            event.reason,
        )

    async def _post_log(
        self,
        guild_id: int,
        settings: LinkSettings,
        event_key: str,
        notice: LinkNotice,
        role: RoleChange | None,
    ) -> None:
        """Post ``notice`` in the guild's link log, when it has one; once per event."""
        if settings.log_channel_id is not None:
            post = partial(self.discord.post_log, settings.log_channel_id, notice, role)
            await self._once(guild_id, STEP_LOG, event_key, post)

    async def unlink(
        self,
        guild_id: int,
        discord_user_id: int,
        *,
        actor_id: int,
        platform: Platform = Platform.KICK,
    ) -> Unlinked | None:
        """Remove the member's link on ``platform``, take this guild's linked role back (unless
        a link on another platform remains) and log it; None when the member had no link."""
        removed = await asyncio.to_thread(
            self.linking.unlink, guild_id, discord_user_id, actor_id=actor_id, platform=platform
        )
        if removed is None:
            return None
        role = await self._after_unlink(guild_id, discord_user_id, removed, actor_id, None)
        return Unlinked(removed, role)

    async def account_unlinked(self, guild_id: int, event: AccountUnlinked) -> RoleChange | None:
        """What follows an unlink made outside Discord (the dashboard): the same as after
        :meth:`unlink`, each step once per event."""
        removed = AccountLink(
            event.platform,
            event.viewer.platform_user_id,
            event.discord_user_id,
            event.viewer.username,
            utc(event.occurred_at),
        )
        return await self._after_unlink(
            guild_id,
            event.discord_user_id,
            removed,
            event.actor_id,
            event.key,
            at=event.occurred_at,
        )

    async def _after_unlink(
        self,
        guild_id: int,
        discord_user_id: int,
        removed: AccountLink,
        actor_id: int,
        event_key: str | None,
        at: datetime | None = None,
    ) -> RoleChange | None:
        """Take this guild's linked role back (unless a link on another platform remains),
        bring the watchtime roles up to date and log it; with ``event_key``, each step once."""

        async def step(name: str, effect: Callable[[], Awaitable[T]]) -> T | None:
            if event_key is None:
                return await effect()
            return await self._once(guild_id, name, event_key, effect)

        settings = await asyncio.to_thread(self.linking.settings, guild_id)
        remaining = await asyncio.to_thread(self.linking.links_of, discord_user_id)
        role: RoleChange | None = None
        if settings.linked_role_id is not None and not remaining:
            take = partial(
                self.discord.set_linked_role,
                guild_id,
                discord_user_id,
                settings.linked_role_id,
                present=False,
            )
            role = await step(STEP_ROLE, take)
        # Without a link their watchtime no longer counts for them: their roles follow.
        await self._sync_watchtime_roles(guild_id, discord_user_id)
        if settings.log_channel_id is not None:
            notice = LinkNotice(
                guild_id=guild_id,
                discord_user_id=discord_user_id,
                outcome=UNLINKED,
                platform=removed.platform,
                platform_user_id=removed.platform_user_id,
                username=removed.username,
                at=utc(at or self.linking.clock()),
                actor_id=actor_id,
            )
            await step(
                STEP_LOG, partial(self.discord.post_log, settings.log_channel_id, notice, role)
            )
        log.info("guild %s: member %s unlinked by %s", guild_id, discord_user_id, actor_id)
        return role

    async def _sync_watchtime_roles(self, guild_id: int, discord_user_id: int) -> None:
        # The roles feature plugs in here (Runtime passes its MemberRoleSync as role_sync).
        if self.role_sync is not None:
            await self.role_sync.sync_member(guild_id, discord_user_id)

    async def _once(
        self, guild_id: int, step: str, event_key: str, effect: Callable[[], Awaitable[T]]
    ) -> T | None:
        """Run ``effect`` unless it already ran for this event; None when it had."""
        if await asyncio.to_thread(self.linking.effect_done, guild_id, step, event_key):
            return None
        result = await effect()
        await asyncio.to_thread(self.linking.mark_effect_done, guild_id, step, event_key)
        return result


def _sign_in_notice(
    guild_id: int,
    event: AccountLinked | AccountLinkFailed,
    outcome: str,
    *,
    reason: str | None = None,
    replaced_username: str | None = None,
) -> LinkNotice:
    """What the member who signed in is told, and the link log: the account they signed in as
    (none when they declined consent)."""
    viewer = event.viewer
    return LinkNotice(
        guild_id=guild_id,
        discord_user_id=event.discord_user_id,
        outcome=outcome,
        platform=event.platform,
        platform_user_id=viewer.platform_user_id if viewer else None,
        username=viewer.username if viewer else None,
        at=utc(event.occurred_at),
        reason=reason,
        actor_id=event.discord_user_id,
        replaced_username=replaced_username,
    )
