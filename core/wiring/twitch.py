"""Twitch: the EventSub webhook receiver and the record of revoked subscriptions.

Twitch chat replies need Helix (not built yet): no chat sender is registered for
``Platform.TWITCH``, so ``chat_sender_for`` answers None and replies to Twitch chat are skipped
with a log line, while every feature still handles Twitch's events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.connections.twitch_repository import StoredRevocation
from core.features.connections.twitch_revocations import TwitchRevocations
from core.platforms.sockets import is_public_https
from core.platforms.twitch.eventsub_sources import ARRIVAL_PREFIX, EventSubSupervisor
from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.receiver import TwitchWebhookReceiver
from core.platforms.twitch.webhook import Revocation

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.runtime import Runtime


def install(rt: Runtime) -> None:
    rt.twitch_revocations = TwitchRevocations(rt.engine)

    def record_revocation(revocation: Revocation) -> None:
        rt.twitch_revocations.record(
            StoredRevocation(
                subscription_id=revocation.subscription_id,
                subscription_type=revocation.subscription_type,
                status=revocation.status,
                broadcaster_user_id=revocation.broadcaster_user_id,
                revoked_at=revocation.revoked_at,
            )
        )

    rt.twitch_receiver = TwitchWebhookReceiver(
        secret=rt.settings.twitch.eventsub_secret,
        replay_guard=rt.replay_guard,
        is_tracked=lambda platform, user_id: bool(rt.guilds.guilds_tracking(platform, user_id)),
        publish=rt.bus.publish,
        record_revocation=record_revocation,
        metrics=rt.metrics,
        clock=rt.clock,
        publish_delivery=rt.publish_delivery,
        on_arrival=lambda broadcaster, kind: rt.webhook_arrivals.record(
            broadcaster, ARRIVAL_PREFIX + kind
        ),
    )
    install_eventsub_socket(rt, record_revocation)


def install_eventsub_socket(rt: Runtime, record_revocation: Callable[[Revocation], None]) -> None:
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
        token_for=lambda: getattr(rt, "twitch_token_for", None),
        make_api=lambda: HelixClient(twitch.api_base_url, twitch.client_id or ""),
        publish=rt.bus.publish,
        record_revocation=record_revocation,
        arrivals=lambda: rt.webhook_arrivals.deliveries().arrived,
        clock=rt.clock,
    )
    rt.scheduler.loop("Twitch EventSub WebSocket", rt.twitch_eventsub.run)
