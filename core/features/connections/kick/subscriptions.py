"""Keeping Kick's webhook subscriptions in place for every connected guild.

Kick drops a subscription after a day of failed deliveries, so this runs at start, every 30
minutes, and right after a streamer connects: it creates what is missing for each connected
guild's channel (with the streamer's token) and stores the subscription ids, so a delivery can
also be routed by ``Kick-Event-Subscription-Id``. Nothing is subscribed as an account that does
not own the guild's channel (one connected before the channel changed). With an app token it
also removes subscriptions for channels no guild tracks any more. One guild's failure is its
report's problem (or a log line with its id), never a stop for the others or the clean-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.events import Platform
from core.features.connections.kick.repository import StoredSubscription
from core.features.connections.kick.service import ApiFactory, KickConnections, NeedsReauthorization
from core.features.guilds.service import GuildService
from core.platforms.kick.api import KickApiError, Subscription
from core.platforms.kick.oauth_client import OAuthError
from core.platforms.kick.webhook import KICK_EVENT_TYPES

log = logging.getLogger(__name__)
SYNC_EVERY_SECONDS = 30 * 60
WANTED_EVENTS = tuple(sorted(KICK_EVENT_TYPES))
# ``app_call(call)``: ``call(token)`` with the app's own token (``KickAppToken.call``).
AppCall = Callable[[Callable[[str], Awaitable[Any]]], Awaitable[Any]]
NEEDS_REAUTH_PROBLEM = "the Kick connection needs re-authorization (run !kick setup)"
OTHER_ACCOUNT_PROBLEM = (
    "the connected Kick account does not own this server's Kick channel (run !kick setup "
    "again and have the channel's owner open the new link)"
)
NO_CHANNEL_PROBLEM = "this server follows no Kick channel (run !kick setup)"
UNEXPECTED_PROBLEM = (
    "the sync failed unexpectedly (the bot's log says why); the bot tries again by itself"
)


def token_problem(error: OAuthError) -> str:
    """Why the streamer's token could not be renewed, for the admin: a sign-in service that did
    not answer is tried again; a refusal is said with Kick's words."""
    if error.status is None or error.status >= 500:
        return (
            f"Kick's sign-in service did not answer when the streamer's token was renewed "
            f"({error.status or 'no answer'}); the bot tries again by itself"
        )
    return f"Kick refused to renew the streamer's token ({error}); the bot tries again by itself"


@dataclass
class SyncReport:
    guild_id: int
    broadcaster_user_id: str | None
    kept: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    problem: str | None = None

    @property
    def is_complete(self) -> bool:
        return self.problem is None and not self.failed


class SubscriptionKeeper:
    def __init__(
        self,
        connections: KickConnections,
        guilds: GuildService,
        make_api: ApiFactory,
        *,
        app_call: AppCall | None = None,
    ) -> None:
        self.connections = connections
        self.guilds = guilds
        self.make_api = make_api
        self.app_call = app_call  # ``call(token)`` with the app token, minted again on a 401

    async def sync_guild(self, guild_id: int) -> SyncReport:
        """Make sure every event type is subscribed for the guild's connected Kick channel."""
        status = await asyncio.to_thread(self.connections.status, guild_id)
        broadcaster = status.broadcaster_user_id
        report = SyncReport(guild_id, broadcaster)
        if status.needs_reauthorization:
            report.problem = NEEDS_REAUTH_PROBLEM
            return report
        if broadcaster is None or not status.is_connected:
            report.problem = "the Kick channel is not connected (run !kick setup)"
            return report
        channel = await asyncio.to_thread(self.guilds.kick_channel_of, guild_id)
        if channel is None or channel.broadcaster_user_id != broadcaster:
            # Subscribing as this account would keep a channel the server does not follow.
            report.problem = NO_CHANNEL_PROBLEM if channel is None else OTHER_ACCOUNT_PROBLEM
            log.info(
                "guild %s: not subscribing as Kick user %s: %s",
                guild_id,
                broadcaster,
                report.problem,
            )
            return report
        try:
            async with self.make_api() as api:
                existing = await self.connections.call_as_streamer(
                    guild_id, lambda token: api.list_subscriptions(token)
                )
                have = {s.event: s for s in existing if s.broadcaster_user_id == broadcaster}
                missing = [name for name in WANTED_EVENTS if name not in have]
                report.kept = sorted(have)
                if missing:
                    results = await self.connections.call_as_streamer(
                        guild_id, lambda token: api.create_subscriptions(token, None, missing)
                    )
                    for result in results:
                        if result.is_subscribed:
                            report.created.append(result.name)
                            have[result.name] = Subscription(
                                str(result.subscription_id),
                                broadcaster,
                                result.name,
                                result.version,
                            )
                        else:
                            report.failed[result.name] = result.error or "no subscription id"
        except NeedsReauthorization:
            report.problem = NEEDS_REAUTH_PROBLEM
            return report
        except KickApiError as exc:
            report.problem = f"Kick answered {exc.status}: {exc}"
            log.warning("guild %s: subscription sync failed: %s", guild_id, report.problem)
            return report
        except OAuthError as exc:
            report.problem = token_problem(exc)
            log.warning("guild %s: subscription sync failed: %s", guild_id, exc)
            return report
        await asyncio.to_thread(
            self.connections.store_subscriptions,
            broadcaster,
            [StoredSubscription(s.id, broadcaster, s.event, s.version) for s in have.values()],
        )
        await asyncio.to_thread(self.connections.mark_synced, guild_id)
        if report.created or report.failed:
            log.info(
                "guild %s: Kick subscriptions: %d created, %d kept, %d failed",
                guild_id,
                len(report.created),
                len(report.kept),
                len(report.failed),
            )
        return report

    async def sync_all(self) -> list[SyncReport]:
        """Every connected guild, one after the other (one guild's failure is its report's
        problem, never the others'), then the subscriptions no guild needs."""
        reports = [
            await self._sync_guarded(guild_id)
            for guild_id in await asyncio.to_thread(self.connections.connected_guild_ids)
        ]
        await self.remove_untracked()
        return reports

    async def sync_requested(self) -> list[SyncReport]:
        """Sync the guilds that asked for it (a streamer just connected, or !kick sync)."""
        return [
            await self._sync_guarded(guild_id)
            for guild_id in await asyncio.to_thread(self.connections.guild_ids_needing_sync)
        ]

    async def _sync_guarded(self, guild_id: int) -> SyncReport:
        try:
            return await self.sync_guild(guild_id)
        except Exception:
            log.exception(
                "guild %s: Kick subscription sync failed; the other guilds go on", guild_id
            )
            return SyncReport(guild_id, None, problem=UNEXPECTED_PROBLEM)

    async def remove_untracked(self) -> list[str]:
        """With an app token, delete subscriptions of channels that no guild tracks."""
        if self.app_call is None:
            return []
        app_call = self.app_call
        try:
            async with self.make_api() as api:
                subscriptions = await app_call(lambda token: api.list_subscriptions(token))
                stale = await asyncio.to_thread(self._untracked, subscriptions)
                if stale:
                    await app_call(lambda token: api.delete_subscriptions(token, stale))
                    log.info("removed %d Kick subscription(s) no guild needs", len(stale))
                return stale
        except (KickApiError, OAuthError) as exc:
            log.warning("could not clean up Kick subscriptions: %s", exc)
            return []

    async def remove_broadcaster(self, guild_id: int, broadcaster_user_id: str) -> bool | None:
        """Delete the broadcaster's subscriptions (a server that is gone let the channel go)
        with the app token, or else the guild's streamer token, and forget the record; False
        when Kick did not answer or refused, None when no token can ask (no Kick app)."""
        try:
            async with self.make_api() as api:
                if self.app_call is not None:
                    app_call = self.app_call
                    listed = await app_call(
                        lambda token: api.list_subscriptions(token, broadcaster_user_id)
                    )
                    ids = [s.id for s in listed if s.broadcaster_user_id == broadcaster_user_id]
                    if ids:
                        await app_call(lambda token: api.delete_subscriptions(token, ids))
                elif (await asyncio.to_thread(self.connections.status, guild_id)).is_connected:

                    async def delete(token: str) -> None:
                        listed = await api.list_subscriptions(token)
                        ids = [s.id for s in listed if s.broadcaster_user_id == broadcaster_user_id]
                        if ids:
                            await api.delete_subscriptions(token, ids)

                    await self.connections.call_as_streamer(guild_id, delete)
                else:
                    return None
        except (KickApiError, OAuthError, NeedsReauthorization) as exc:
            log.warning("could not delete the Kick subscriptions of a channel (%s)", exc)
            return False
        finally:
            await asyncio.to_thread(self.connections.store_subscriptions, broadcaster_user_id, [])
        return True

    def _untracked(self, subscriptions: list[Subscription]) -> list[str]:
        return [
            s.id
            for s in subscriptions
            if not self.guilds.guilds_tracking(Platform.KICK, s.broadcaster_user_id)
        ]
