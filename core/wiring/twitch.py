"""Twitch: the streamer's connection (consent, tokens kept valid, validated hourly), EventSub
webhook subscriptions kept in place (when OAUTH_BASE_URL is public and TWITCH_EVENTSUB_SECRET is
set), the webhook receiver, the record of revoked subscriptions and replies in Twitch chat."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from core.config import TwitchSettings
from core.events import Platform
from core.features.connections.channel_setup import ConnectLinks
from core.features.connections.twitch.revocations import TwitchRevocations
from core.features.connections.twitch.revocations_repository import StoredRevocation
from core.features.connections.twitch.service import (
    VALIDATE_EVERY_SECONDS,
    TwitchAppToken,
    TwitchConnections,
)
from core.features.connections.twitch.setup import TwitchSetup
from core.features.connections.twitch.subscriptions import (
    TwitchSubscriptionKeeper,
)
from core.platforms.sockets import is_public_https
from core.platforms.twitch.chat import TwitchChatSender
from core.platforms.twitch.eventsub_sources import ARRIVAL_PREFIX, EventSubSupervisor
from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.oauth_client import TwitchOAuthClient
from core.platforms.twitch.receiver import TwitchWebhookReceiver
from core.platforms.twitch.webhook import Revocation
from core.wiring.platform_clients import PlatformClients, receiver_options
from core.wiring.upkeep import SubscriptionUpkeep

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.wiring.assembly import Assembly

log = logging.getLogger(__name__)
# Revocation statuses that mean the broadcaster's authorization itself is gone.
GRANT_GONE = frozenset({"authorization_revoked", "user_removed"})


class TwitchClients(PlatformClients[TwitchChatSender]):
    """Twitch's HTTP clients, made from settings (one per use, closed by ``async with``)."""

    oauth_type = TwitchOAuthClient
    settings: TwitchSettings
    connections: TwitchConnections | None

    def helix(self) -> HelixClient:
        """A Helix client pacing on the process's windows (Twitch's VIP limit)."""
        return HelixClient(
            self.settings.api_base_url, self.settings.client_id or "", windows=self.windows
        )

    def chat_client(self) -> HelixClient:
        return self.helix()

    def chat_sender(self, client: HelixClient, streamer_call: Any) -> TwitchChatSender:
        """Replies in Twitch chat, as the streamer."""
        return TwitchChatSender(
            client, streamer_call=streamer_call, failures=self.metrics.chat_failed
        )


def install(rt: Assembly) -> None:
    twitch = rt.settings.twitch
    rt.twitch = TwitchClients(twitch, rt.clock, rt.metrics, rt.windows)
    rt.twitch_revocations = TwitchRevocations(rt.engine)
    rt.twitch_connections = rt.twitch.streamer_connections(TwitchConnections, rt, rt.twitch.helix)
    rt.twitch_app_token = TwitchAppToken(rt.twitch.oauth_client, rt.clock)
    configured = rt.twitch.is_configured
    if configured:
        # Twitch requires every token in use to be validated at start and then hourly.
        rt.scheduler.every(
            "Twitch token validation",
            lambda: VALIDATE_EVERY_SECONDS,
            rt.twitch_connections.validate_all,
        )
    rt.twitch_subscriptions = None
    public_url = rt.settings.web.oauth_base_url
    # Twitch delivers webhooks to a public HTTPS address only; elsewhere the WebSocket runs.
    if configured and is_public_https(public_url) and twitch.eventsub_secret:
        rt.twitch_subscriptions = TwitchSubscriptionKeeper(
            rt.twitch_connections,
            rt.guilds,
            rt.twitch.helix,
            app_token=rt.twitch_app_token.get,
            app_call=rt.twitch_app_token.call,
            callback_url=f"{public_url}/webhooks/twitch",
            secret=twitch.eventsub_secret,
        )
        rt.twitch_upkeep = SubscriptionUpkeep(rt.twitch_subscriptions, "Twitch")
        rt.scheduler.loop("Twitch subscription upkeep", rt.twitch_upkeep.run)
    rt.twitch_setup = TwitchSetup(
        guilds=rt.guilds,
        connections=rt.twitch_connections,
        revocations=rt.twitch_revocations,
        subscriptions=rt.twitch_subscriptions,
        make_helix=rt.twitch.helix,
        app_call=rt.twitch_app_token.call,
        links=ConnectLinks(rt.link_secret, rt.public_base_url, rt.clock, rt.link_lifetime),
        client_configured=configured,
        socket_enabled=configured and not is_public_https(public_url),  # install_eventsub_socket
        socket_states=lambda: rt.twitch_eventsub.states() if rt.twitch_eventsub else {},
    )
    if configured:
        rt.chat_senders[Platform.TWITCH] = lambda: rt.twitch.chat
        rt.on_shutdown(rt.twitch.close_chat)

    def record_revocation(revocation: Revocation) -> bool:
        """Keep a revocation; False when it is of a subscription replaced since (logged)."""
        stored = StoredRevocation(
            subscription_id=revocation.subscription_id,
            subscription_type=revocation.subscription_type,
            status=revocation.status,
            broadcaster_user_id=revocation.broadcaster_user_id,
            revoked_at=revocation.revoked_at,
        )
        if rt.twitch_revocations.is_of_a_replaced_subscription(stored):
            return False
        rt.twitch_revocations.record(stored)
        if revocation.broadcaster_user_id and revocation.status in GRANT_GONE:
            rt.twitch_connections.grant_revoked(revocation.broadcaster_user_id)
        return True

    rt.twitch_receiver = TwitchWebhookReceiver(
        secret=twitch.eventsub_secret,
        record_revocation=record_revocation,
        on_arrival=lambda broadcaster, kind: rt.webhook_arrivals.record(
            broadcaster, ARRIVAL_PREFIX + kind
        ),
        **receiver_options(rt),
    )

    async def token_for(broadcaster_user_id: str) -> str:
        """The broadcaster's own access token (EventSub WebSocket subscriptions need it), from a
        guild that follows the channel and has it connected; LookupError when none has."""
        following = await asyncio.to_thread(
            rt.guilds.guilds_tracking, Platform.TWITCH, broadcaster_user_id
        )
        connected = set(await asyncio.to_thread(rt.twitch_connections.connected_guild_ids))
        for guild_id in following:
            if guild_id in connected:
                return await rt.twitch_connections.access_token(guild_id)
        raise LookupError(f"no guild has connected Twitch channel {broadcaster_user_id}")

    rt.twitch_token_for = token_for
    install_eventsub_socket(rt, record_revocation)


def install_eventsub_socket(rt: Assembly, record_revocation: Callable[[Revocation], bool]) -> None:
    """The EventSub WebSocket, when Twitch's webhooks cannot reach us (like Kick's Pusher).
    Its token provider, ``rt.twitch_token_for(broadcaster_user_id)``, comes with the Twitch
    connection; without it the supervisor idles."""
    rt.twitch_eventsub = None
    if is_public_https(rt.settings.web.oauth_base_url):
        return
    twitch = rt.settings.twitch

    def broadcasters() -> list[str]:
        channels = (rt.guilds.twitch_channel_of(guild_id) for guild_id in rt.guilds.guild_ids())
        return sorted({c.broadcaster_user_id for c in channels if c and c.broadcaster_user_id})

    rt.twitch_eventsub = EventSubSupervisor(
        twitch.eventsub_ws_url,
        broadcasters=broadcasters,
        token_for=lambda: rt.twitch_token_for,
        make_api=rt.twitch.helix,
        publish=rt.bus.publish,
        record_revocation=record_revocation,
        arrivals=lambda: rt.webhook_arrivals.deliveries().arrived,
        clock=rt.clock,
    )
    rt.scheduler.loop("Twitch EventSub WebSocket", rt.twitch_eventsub.run)
