"""EventSub webhook subscriptions kept in place for every connected Twitch channel.

Twitch asks to reconcile instead of creating blindly (409 for an identical one, at most 3 per
type and condition): the keeper lists the broadcaster's subscriptions with the app token, keeps
the healthy ones pointing at our callback, deletes the failed or revoked ones and creates what is
missing, then records the result for ``!twitch status``. A create answered 409 exists (another
process made it since the list): it is listed again and recorded. One sync of a broadcaster runs
at a time, in every process on PostgreSQL (``core/ownership/exclusive.py``). Webhook
subscriptions need the app token; the streamer's consent (``user:read:chat``, ``user:bot``,
``channel:bot`` and the channel scopes) is what lets Twitch accept them.

Follows (version 2, read as the broadcaster acting as their own moderator) and cheers need scopes a
streamer who connected before StreamKeeper asked for them has not granted: the keeper creates
what the grant allows and reports the rest as ``skipped`` (the status tells them to connect
again), so nothing that worked before stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.features.connections.twitch.repository import StoredTwitchSubscription
from core.features.connections.twitch.service import TwitchConnections
from core.features.connections.twitch.signin import HelixFactory
from core.features.guilds.service import GuildService
from core.ownership.exclusive import Exclusive
from core.platforms.twitch.conditions import (
    VERSIONS,
    channel_of,
    condition_of,
    given_condition,
    version_of,
)
from core.platforms.twitch.helix import (
    Conflict,
    EventSubSubscription,
    HelixClient,
    HelixError,
    NotFound,
)

log = logging.getLogger(__name__)

SYNC_EVERY_SECONDS = 30 * 60
# The types StreamKeeper listens to, each in its version and condition
# (core/platforms/twitch/conditions.py): chat is read as the streamer, who consented with
# user:read:chat and user:bot.
WANTED_TYPES: tuple[str, ...] = (
    "channel.chat.message",
    "channel.chat.notification",
    "channel.subscribe",
    "channel.subscription.message",
    "channel.subscription.gift",
    "channel.subscription.end",  # ends the viewer's tier record (sub_tiers)
    "stream.online",
    "stream.offline",
    "channel.vip.add",
    "channel.vip.remove",
    "channel.channel_points_custom_reward_redemption.add",
    # fulfilled or canceled elsewhere (a moderator in the reward queue): VIP keeps in step
    "channel.channel_points_custom_reward_redemption.update",
    # for the alerts overlay (and, cheers, VIP rules)
    "channel.follow",  # version 2: the broadcaster is their own moderator
    "channel.raid",  # a raid into the channel: it is the "to" broadcaster
    "channel.cheer",
)
# The scope each type needs beyond what every StreamKeeper grant had before it was asked for.
REQUIRED_SCOPES: dict[str, str] = {
    "channel.follow": "moderator:read:followers",
    "channel.cheer": "bits:read",
}
# app_call(call): call(token) with the app token, minted again once on a 401.
AppCall = Callable[[Callable[[str], Awaitable[Any]]], Awaitable[Any]]
_HEALTHY = frozenset({"enabled", "webhook_callback_verification_pending"})


def condition_for(subscription_type: str, broadcaster_user_id: str) -> dict[str, str]:
    """The condition of ``subscription_type`` for the broadcaster's own channel."""
    return condition_of(subscription_type, broadcaster_user_id)


def lacking_scope(subscription_type: str, scopes: tuple[str, ...]) -> str | None:
    """The scope ``scopes`` (a grant) lacks for ``subscription_type``, or None."""
    needed = REQUIRED_SCOPES.get(subscription_type)
    return needed if needed is not None and needed not in scopes else None


@dataclass
class TwitchSyncReport:
    guild_id: int
    kept: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # type -> why
    skipped: dict[str, str] = field(default_factory=dict)  # type -> the scope the grant lacks


class TwitchSubscriptionKeeper:
    def __init__(
        self,
        connections: TwitchConnections,
        guilds: GuildService,
        make_helix: HelixFactory,
        *,
        app_token: Callable[[], Awaitable[str]],
        app_call: AppCall,
        callback_url: str,
        secret: str,
        exclusive: Exclusive | None = None,
    ) -> None:
        self.connections = connections
        self.guilds = guilds
        self.make_helix = make_helix
        self.app_token = app_token
        self.app_call = app_call
        self.callback_url = callback_url
        self.secret = secret
        # One sync of a channel at a time, in every process (PostgreSQL) or in this one.
        self.exclusive = exclusive if exclusive is not None else Exclusive(connections.engine)

    async def sync_guild(self, guild_id: int) -> TwitchSyncReport:
        """Reconcile the guild's channel's subscriptions and record them. Raises HelixError or
        TwitchOAuthError when Twitch cannot be reached (the request to sync stays)."""
        report = TwitchSyncReport(guild_id)
        status = await asyncio.to_thread(self.connections.status, guild_id)
        broadcaster = status.broadcaster_user_id
        if not status.is_connected or broadcaster is None:
            return report
        async with self.exclusive.held(lock_name(broadcaster)):
            # Read again now that it is ours: a disconnect may have come while this waited.
            status = await asyncio.to_thread(self.connections.status, guild_id)
            if not status.is_connected or status.broadcaster_user_id != broadcaster:
                return report
            kept = await self._reconcile(guild_id, broadcaster, status.scopes, report)
            stored = [
                StoredTwitchSubscription(sub.id, broadcaster, sub.type, sub.status)
                for sub in kept.values()
            ]
            await asyncio.to_thread(self.connections.store_subscriptions, broadcaster, stored)
        await asyncio.to_thread(self.connections.mark_synced, guild_id)
        return report

    async def _reconcile(
        self, guild_id: int, broadcaster: str, scopes: tuple[str, ...], report: TwitchSyncReport
    ) -> dict[str, EventSubSubscription]:
        """List, delete what is broken, create what is missing; what exists now, by type."""
        async with self.make_helix() as helix:
            listed = await self._list_ours(helix, broadcaster)
            token = await self.app_token()  # the one that just worked
            kept: dict[str, EventSubSubscription] = {}
            for sub in listed:
                healthy = sub.status in _HEALTHY and _is_current(sub, broadcaster)
                if healthy and sub.type not in kept:
                    kept[sub.type] = sub
                    continue
                with contextlib.suppress(NotFound):  # already gone is as good
                    await helix.delete_eventsub_subscription(token, sub.id)
                report.removed.append(sub.type)
            report.kept = sorted(kept)
            conflicted: list[str] = []
            for subscription_type in WANTED_TYPES:
                if subscription_type in kept:
                    continue
                scope = lacking_scope(subscription_type, scopes)
                if scope is not None:
                    report.skipped[subscription_type] = scope
                    continue
                try:
                    created = await helix.create_eventsub_subscription(
                        token,
                        subscription_type,
                        version_of(subscription_type),
                        condition_for(subscription_type, broadcaster),
                        {"method": "webhook", "callback": self.callback_url, "secret": self.secret},
                    )
                except Conflict:
                    conflicted.append(subscription_type)  # made meanwhile: listed below
                    continue
                except HelixError as exc:
                    report.failed[subscription_type] = f"{exc.status}: {exc}"
                    log.warning(
                        "guild %s: Twitch refused the %s subscription (%s)",
                        guild_id,
                        subscription_type,
                        exc.status,
                    )
                    continue
                kept[subscription_type] = created
                report.created.append(subscription_type)
            if conflicted:
                await self._record_conflicted(helix, broadcaster, conflicted, kept, report)
        return kept

    async def _record_conflicted(
        self,
        helix: HelixClient,
        broadcaster: str,
        conflicted: list[str],
        kept: dict[str, EventSubSubscription],
        report: TwitchSyncReport,
    ) -> None:
        """Twitch answered 409 for ``conflicted``: an identical subscription exists, made since
        the list (another process, or a bot from before a deploy, syncing the channel too).
        Listed again, each is kept as made; one Twitch still does not list is reported."""
        for sub in await self._list_ours(helix, broadcaster):
            healthy = sub.status in _HEALTHY and _is_current(sub, broadcaster)
            if healthy and sub.type in conflicted and sub.type not in kept:
                kept[sub.type] = sub
                report.kept.append(sub.type)
        report.kept.sort()
        for subscription_type in conflicted:
            if subscription_type not in kept:
                report.failed[subscription_type] = "409: it exists, but Twitch did not list it"

    async def _list_ours(self, helix: HelixClient, broadcaster: str) -> list[EventSubSubscription]:
        listed = await self.app_call(
            lambda token: helix.list_eventsub_subscriptions(token, user_id=broadcaster)
        )
        return [s for s in listed.subscriptions if self._is_ours(s, broadcaster)]

    def _is_ours(self, sub: EventSubSubscription, broadcaster: str) -> bool:
        """Ours for the broadcaster's channel, in any version or condition that names them (an
        older one is replaced by the sync, deleted on disconnect)."""
        return (
            sub.transport_method == "webhook"
            and sub.callback == self.callback_url
            and sub.type in WANTED_TYPES
            and broadcaster in given_condition(sub.condition).values()
        )

    async def remove_broadcaster(self, broadcaster_user_id: str) -> bool:
        """Delete every subscription of ours for the broadcaster (on disconnect) and forget the
        record; False when Twitch did not answer or refused. Best effort: what Twitch keeps is
        revoked once the grant is gone, or, needing no grant (stream and raid events), deleted
        by the next full pass (:meth:`remove_unneeded`)."""
        async with self.exclusive.held(lock_name(broadcaster_user_id)):
            is_deleted = True
            try:
                async with self.make_helix() as helix:
                    listed = await self._list_ours(helix, broadcaster_user_id)
                    token = await self.app_token()
                    for sub in listed:
                        with contextlib.suppress(NotFound):  # already gone is as good
                            await helix.delete_eventsub_subscription(token, sub.id)
            except Exception as exc:
                log.warning("could not delete the Twitch subscriptions of a channel (%s)", exc)
                is_deleted = False
            await asyncio.to_thread(self.connections.store_subscriptions, broadcaster_user_id, [])
        return is_deleted

    async def sync_requested(self) -> list[TwitchSyncReport]:
        """Guilds that just connected or asked with ``!twitch sync``."""
        ids = await asyncio.to_thread(self.connections.guild_ids_needing_sync)
        return await self._sync_each(ids)

    async def sync_all(self) -> list[TwitchSyncReport]:
        """Every connected guild, then the sweep of what no guild needs."""
        ids = await asyncio.to_thread(self.connections.connected_guild_ids)
        reports = await self._sync_each(ids)
        try:
            await self.remove_unneeded()
        except Exception:
            log.exception("the sweep of Twitch subscriptions no server needs failed")
        return reports

    async def _sync_each(self, guild_ids: list[int]) -> list[TwitchSyncReport]:
        """The reports of the guilds synced; one that fails (Twitch refused or did not answer
        its calls) is logged and stays requested, and the others go on."""
        reports = []
        for guild_id in guild_ids:
            try:
                reports.append(await self.sync_guild(guild_id))
            except Exception:
                log.exception("guild %s: Twitch subscription upkeep failed", guild_id)
        return reports

    async def remove_unneeded(self) -> list[str]:
        """Delete our subscriptions whose channel no guild is connected as (a disconnect whose
        deletes failed left them; stream and raid events need no grant, so Twitch never revokes
        them and they keep costing the app's budget). Ours: webhook subscriptions of our types
        on this deployment's callback URL. Another deployment sharing the app has another
        callback, and is left alone; so is an old callback of ours (Twitch revokes those once
        deliveries fail); WebSocket subscriptions end with their session. A channel's deletes
        stop at the first failure, to be tried again at the next full pass. The ids deleted."""
        async with self.make_helix() as helix:
            listed = await self.app_call(lambda token: helix.list_eventsub_subscriptions(token))
            token = await self.app_token()
            by_channel: dict[str, list[EventSubSubscription]] = {}
            for sub in listed.subscriptions:
                channel = channel_of(sub.type, sub.condition)
                if channel is not None and self._is_ours(sub, channel):
                    by_channel.setdefault(channel, []).append(sub)
            needed = await asyncio.to_thread(self.connections.broadcasters_with_a_connection)
            deleted: list[str] = []
            for channel in sorted(set(by_channel) - needed):
                async with self.exclusive.held(lock_name(channel)):
                    # Connected since the list: its sync, which waited for this, keeps them.
                    needed = await asyncio.to_thread(
                        self.connections.broadcasters_with_a_connection
                    )
                    if channel not in needed:
                        deleted += await self._delete_all(helix, token, by_channel[channel])
        if deleted:
            log.info("removed %d Twitch subscription(s) no server needs", len(deleted))
        return deleted

    async def _delete_all(
        self, helix: HelixClient, token: str, subscriptions: list[EventSubSubscription]
    ) -> list[str]:
        deleted = []
        for sub in subscriptions:
            try:
                with contextlib.suppress(NotFound):  # already gone is as good
                    await helix.delete_eventsub_subscription(token, sub.id)
            except HelixError as exc:
                log.warning("could not delete a Twitch subscription no server needs (%s)", exc)
                break
            deleted.append(sub.id)
        return deleted


def lock_name(broadcaster_user_id: str) -> str:
    """What one sync of the broadcaster's subscriptions holds while it lists, changes and stores
    them (two side by side would each store what only its own list saw)."""
    return f"twitch-eventsub:{broadcaster_user_id}"


def _is_current(sub: EventSubSubscription, broadcaster: str) -> bool:
    return sub.version == version_of(sub.type) and given_condition(sub.condition) == condition_for(
        sub.type, broadcaster
    )


def subscribed_types(stored: list[StoredTwitchSubscription]) -> tuple[str, ...]:
    return tuple(sorted({s.subscription_type for s in stored}))


def missing_types(subscribed: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in WANTED_TYPES if t not in subscribed)


def types_needing_consent(missing: tuple[str, ...], scopes: tuple[str, ...]) -> tuple[str, ...]:
    """Of the ``missing`` types, those the grant's ``scopes`` do not allow: connecting again,
    not a sync, brings them."""
    return tuple(t for t in missing if lacking_scope(t, scopes) is not None)


__all__ = [
    "REQUIRED_SCOPES",
    "SYNC_EVERY_SECONDS",
    "VERSIONS",
    "WANTED_TYPES",
    "TwitchSubscriptionKeeper",
    "TwitchSyncReport",
    "condition_for",
    "given_condition",
    "lacking_scope",
    "missing_types",
    "subscribed_types",
    "types_needing_consent",
    "version_of",
]
