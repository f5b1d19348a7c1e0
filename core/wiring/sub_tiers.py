"""Subscription tiers: the record fed from every subscription event, ``!tier`` in chat, and the
Helix lookup job for badge-wearing Twitch viewers without a record.

Helix is asked with the guild's streamer token (``rt.twitch_connections.call_as_streamer``,
refreshed on a 401, as VIP does); the broadcaster id is the guild's tracked Twitch channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from core.events import Subscribed, SubscriptionsGifted
from core.features.connections.twitch_service import TwitchNotConnected
from core.features.sub_tiers.chat import SubTierChat
from core.features.sub_tiers.ports import KnownSubscription, LookupBusy, LookupUnavailable
from core.features.sub_tiers.service import SubTierService
from core.platforms.twitch import helix
from core.platforms.twitch.helix import HelixClient, HelixError

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")
LOOKUP_INTERVAL_SECONDS = 2.0
CLEANUP_INTERVAL_SECONDS = 6 * 3600.0
StreamerCall = Callable[[int, Callable[[str], Awaitable[T]]], Awaitable[T]]

# Helix refusals that asking again will not cure (Twitch must be connected again, or the scope
# granted); anything else (429 after the client's own waiting, 5xx, unreachable) is for later.
_FOR_GOOD = (helix.Unauthorized, helix.Forbidden, helix.BadRequest, helix.NotFound)


class HelixSubscriptionLookup:
    """:class:`~core.features.sub_tiers.ports.SubscriptionLookup` on Helix's Get Broadcaster
    Subscriptions, one request per call (the service sends at most 100 ids)."""

    def __init__(
        self,
        make_client: Callable[[], HelixClient],
        call_as_streamer: Callable[[], StreamerCall],
        broadcaster_of: Callable[[int], str | None],
    ) -> None:
        self._make_client = make_client
        self._call_as_streamer = call_as_streamer
        self._broadcaster_of = broadcaster_of
        self._client: HelixClient | None = None

    @property
    def client(self) -> HelixClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def subscriptions(
        self, guild_id: int, user_ids: Sequence[str]
    ) -> dict[str, KnownSubscription]:
        broadcaster_id = await asyncio.to_thread(self._broadcaster_of, guild_id)
        if broadcaster_id is None:
            raise LookupUnavailable("no Twitch channel is followed")
        ids = list(user_ids)
        try:
            found = await self._call_as_streamer()(
                guild_id,
                lambda token: self.client.get_subscriptions(token, broadcaster_id, ids),
            )
        except TwitchNotConnected:
            raise LookupUnavailable("Twitch is not connected") from None
        except _FOR_GOOD as exc:
            raise LookupUnavailable(f"Twitch said {exc.status}") from None
        except HelixError as exc:
            raise LookupBusy(f"Twitch said {exc.status or 'nothing'}") from None
        return {
            sub.user_id: KnownSubscription(sub.user_id, sub.tier, sub.is_gift)
            for sub in found
            if sub.user_id in ids
        }


def install(rt: Runtime) -> None:
    twitch = rt.settings.twitch

    def broadcaster_of(guild_id: int) -> str | None:
        tracked = rt.guilds.twitch_channel_of(guild_id)
        return None if tracked is None else tracked.broadcaster_user_id

    lookup = HelixSubscriptionLookup(
        lambda: HelixClient(twitch.api_base_url, twitch.client_id or ""),
        lambda: rt.twitch_connections.call_as_streamer,
        broadcaster_of,
    )
    rt.sub_tier_lookup = lookup
    rt.sub_tiers = SubTierService(rt.engine, rt.clock, lookup)
    rt.handle(Subscribed, rt.sub_tiers.handle_subscribed)
    rt.handle(SubscriptionsGifted, rt.sub_tiers.handle_gifted)
    rt.sub_tier_chat = SubTierChat(rt.sub_tiers)
    for command in rt.sub_tier_chat.commands():
        rt.chat_commands.add(command)

    rt.scheduler.every(
        "looking up subscription tiers", lambda: LOOKUP_INTERVAL_SECONDS, rt.sub_tiers.run_lookups
    )

    async def forget_expired() -> None:
        await asyncio.to_thread(rt.sub_tiers.forget_expired)

    rt.scheduler.every(
        "forgetting expired subscription tiers", lambda: CLEANUP_INTERVAL_SECONDS, forget_expired
    )
    rt.on_shutdown(lookup.aclose)
