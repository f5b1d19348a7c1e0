"""What follows a link attempt on Discord: the member hears how it went, gets (or loses) the
guild's linked role, their watchtime roles follow, and the link log records it.

``account_linked``, ``link_failed`` and ``account_unlinked`` are made by the Discord worker
(``queued.py``), and may be made more than once: each effect is marked done per event, so a call
made again (say, after Discord dropped mid-way) repeats only what did not happen yet. ``unlink``
(``!unlink``) queues its call in the transaction that removes the link, as the dashboard's
unlink queues one through the bus: a Discord error or a restart never leaves the linked role on
a member who is no longer linked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from sqlalchemy.engine import Connection

from core.events import AccountLinked, AccountLinkFailed, AccountUnlinked, Platform, utc
from core.features.linking import calls
from core.features.linking.ports import LinkDiscord, LinkNotice, MemberRoleSync, RoleChange
from core.features.linking.repository import AccountLink, LinkSettings
from core.features.linking.service import (
    ALREADY_LINKED,
    LINKED,
    REFUSED,
    UNLINKED,
    LinkingService,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

STEP_TELL = "linking.tell"
STEP_ROLE = "linking.role"
STEP_LOG = "linking.log"


@dataclass(frozen=True)
class Aftermath:
    """What became of a call's steps that an admin may have to fix: the linked role (None: no
    linked role, or changed by an earlier try) and why the link log was not written (None:
    written, or no log)."""

    role: RoleChange | None = None
    log_problem: str | None = None


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

    async def account_linked(self, guild_id: int, event: AccountLinked) -> Aftermath:
        """Tell the member, give the linked role, sync their watchtime roles, log it."""
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
        log_problem = await self._post_log(guild_id, settings, event.key, notice, role)
        log.info(
            "guild %s: member %s linked a %s account",
            guild_id,
            event.discord_user_id,
            event.platform.value,
        )
        return Aftermath(role, log_problem)

    async def link_failed(self, guild_id: int, event: AccountLinkFailed) -> Aftermath:
        notice = _sign_in_notice(guild_id, event, REFUSED, reason=event.reason)
        if event.reason == ALREADY_LINKED and event.viewer is not None:
            holder = await asyncio.to_thread(
                self.linking.holder_of, event.platform, event.viewer.platform_user_id
            )
            if holder is not None and holder.linked_in_guild_id != guild_id:
                notice = replace(notice, is_held_elsewhere=True)
        settings = await asyncio.to_thread(self.linking.settings, guild_id)
        await self._once(guild_id, STEP_TELL, event.key, partial(self.discord.tell_member, notice))
        log_problem = await self._post_log(guild_id, settings, event.key, notice, None)
        log.info(
            "guild %s: member %s could not link a %s account (%s)",
            guild_id,
            event.discord_user_id,
            event.platform.value,
            event.reason,
        )
        return Aftermath(None, log_problem)

    async def _post_log(
        self,
        guild_id: int,
        settings: LinkSettings,
        event_key: str,
        notice: LinkNotice,
        role: RoleChange | None,
    ) -> str | None:
        """Post ``notice`` in the guild's link log, when it has one; once per event. Why it was
        not written (None: written, by this try or an earlier one, or no log)."""
        if settings.log_channel_id is None:
            return None
        post = partial(self.discord.post_log, settings.log_channel_id, notice, role)
        return await self._once(guild_id, STEP_LOG, event_key, post)

    async def unlink(
        self,
        guild_id: int,
        discord_user_id: int,
        *,
        actor_id: int,
        platform: Platform = Platform.KICK,
    ) -> AccountLink | None:
        """Remove the member's link on ``platform`` and queue, in the same transaction, the
        Discord worker's call that takes this guild's linked role back (unless a link on
        another platform remains), syncs the watchtime roles and logs it
        (:meth:`account_unlinked`, retried while Discord fails); the removed link, or None when
        the member had none."""

        def queue(conn: Connection, removed: AccountLink) -> None:
            calls.enqueue_unlinked(
                conn, guild_id, removed, discord_user_id=discord_user_id, actor_id=actor_id,
                platform=platform, now=utc(self.linking.clock()),
            )  # fmt: skip

        return await asyncio.to_thread(
            lambda: self.linking.unlink(
                guild_id, discord_user_id, actor_id=actor_id, platform=platform, then=queue
            )
        )

    async def account_unlinked(self, guild_id: int, event: AccountUnlinked) -> Aftermath:
        """What follows an unlink (``!unlink``, the dashboard's): take this guild's linked role
        back (unless a link on another platform remains), bring the watchtime roles up to date
        and log it; each step once per event."""
        member = event.discord_user_id
        settings = await asyncio.to_thread(self.linking.settings, guild_id)
        remaining = await asyncio.to_thread(self.linking.links_of, member)
        role: RoleChange | None = None
        if settings.linked_role_id is not None and not remaining:
            take = partial(
                self.discord.set_linked_role,
                guild_id,
                member,
                settings.linked_role_id,
                present=False,
            )
            role = await self._once(guild_id, STEP_ROLE, event.key, take)
        # Without a link their watchtime no longer counts for them: their roles follow.
        await self._sync_watchtime_roles(guild_id, member)
        notice = LinkNotice(
            guild_id=guild_id,
            discord_user_id=member,
            outcome=UNLINKED,
            platform=event.platform,
            platform_user_id=event.viewer.platform_user_id,
            username=event.viewer.username,
            at=utc(event.occurred_at),
            actor_id=event.actor_id,
        )
        log_problem = await self._post_log(guild_id, settings, event.key, notice, role)
        log.info("guild %s: member %s unlinked by %s", guild_id, member, event.actor_id)
        return Aftermath(role, log_problem)

    async def member_joined(self, guild_id: int, discord_user_id: int) -> Aftermath:
        """A member with a linked account came back to the server: give them its linked role
        and bring their watchtime roles up to date, as right after a link. Both are idempotent,
        so a call made again changes nothing twice; nothing when their links are gone since."""
        if not await asyncio.to_thread(self.linking.links_of, discord_user_id):
            return Aftermath()
        settings = await asyncio.to_thread(self.linking.settings, guild_id)
        role: RoleChange | None = None
        if settings.linked_role_id is not None:
            role = await self.discord.set_linked_role(
                guild_id, discord_user_id, settings.linked_role_id, present=True
            )
        await self._sync_watchtime_roles(guild_id, discord_user_id)
        return Aftermath(role)

    async def unlinked_elsewhere(self, guild_id: int, discord_user_id: int) -> Aftermath:
        """A member who linked an account here had a link removed in another server (where
        they made it, or to where it moved): take this server's linked role back once no link
        remains, and bring their watchtime roles up to date. Both are idempotent, as after a
        join; this server's link log is not written, since the unlink was not made here."""
        remaining = await asyncio.to_thread(self.linking.links_of, discord_user_id)
        settings = await asyncio.to_thread(self.linking.settings, guild_id)
        role: RoleChange | None = None
        if settings.linked_role_id is not None and not remaining:
            role = await self.discord.set_linked_role(
                guild_id, discord_user_id, settings.linked_role_id, present=False
            )
        await self._sync_watchtime_roles(guild_id, discord_user_id)
        return Aftermath(role)

    async def forgotten(self, guild_id: int, call: tuple[int, tuple[int, ...]]) -> Aftermath:
        """A member's data was forgotten (``privacy forget``): as after an unlink elsewhere
        (the linked role back once no link remains, the watchtime roles), and the other roles
        the forgotten data gave (``call``: the member, those role ids) taken off. Each change
        is idempotent, so a call made again changes nothing twice."""
        member, role_ids = call
        after = await self.unlinked_elsewhere(guild_id, member)
        role = after.role
        for role_id in role_ids:
            change = await self.discord.set_linked_role(guild_id, member, role_id, present=False)
            if role is None or (role.is_done and not change.is_done):
                role = change
        return Aftermath(role)

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
