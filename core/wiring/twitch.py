"""Twitch: the streamer's connection (consent, tokens kept valid, validated hourly), the EventSub
webhook receiver and the record of revoked subscriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.config import TwitchSettings
from core.features.connections.twitch_repository import StoredRevocation
from core.features.connections.twitch_revocations import TwitchRevocations
from core.features.connections.twitch_service import (
    VALIDATE_EVERY_SECONDS,
    TwitchAppToken,
    TwitchConnections,
)
from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.oauth_client import TwitchOAuthClient
from core.platforms.twitch.receiver import TwitchWebhookReceiver
from core.platforms.twitch.webhook import Revocation

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from core.runtime import Runtime


class TwitchClients:
    """Twitch's HTTP clients, made from settings (one per use, closed by ``async with``)."""

    def __init__(self, settings: TwitchSettings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock

    @property
    def is_configured(self) -> bool:
        return bool(self.settings.client_id and self.settings.client_secret)

    def oauth_client(self) -> TwitchOAuthClient:
        twitch = self.settings
        return TwitchOAuthClient(
            twitch.oauth_base_url,
            twitch.client_id or "",
            twitch.client_secret or "",
            clock=self.clock,
        )

    def helix(self) -> HelixClient:
        return HelixClient(self.settings.api_base_url, self.settings.client_id or "")


def install(rt: Runtime) -> None:
    twitch = rt.settings.twitch
    rt.twitch = TwitchClients(twitch, rt.clock)
    rt.twitch_revocations = TwitchRevocations(rt.engine)
    rt.twitch_connections = TwitchConnections(
        rt.engine,
        rt.cipher,
        oauth_base_url=twitch.oauth_base_url,
        client_id=twitch.client_id,
        redirect_uri=f"{rt.public_base_url}/auth/twitch/callback",
        make_oauth=rt.twitch.oauth_client,
        make_helix=rt.twitch.helix,
        clock=rt.clock,
    )
    rt.twitch_app_token = TwitchAppToken(rt.twitch.oauth_client, rt.clock)
    if rt.twitch.is_configured:
        # Twitch requires every token in use to be validated at start and then hourly.
        rt.scheduler.every(
            "Twitch token validation",
            lambda: VALIDATE_EVERY_SECONDS,
            rt.twitch_connections.validate_all,
        )

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
        secret=twitch.eventsub_secret,
        replay_guard=rt.replay_guard,
        is_tracked=lambda platform, user_id: bool(rt.guilds.guilds_tracking(platform, user_id)),
        publish=rt.bus.publish,
        record_revocation=record_revocation,
        metrics=rt.metrics,
        clock=rt.clock,
        publish_delivery=rt.publish_delivery,
    )
