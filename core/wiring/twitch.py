"""Twitch: the EventSub webhook receiver and the record of revoked subscriptions.

Twitch chat replies need Helix (not built yet): no chat sender is registered for
``Platform.TWITCH``, so ``chat_sender_for`` answers None and replies to Twitch chat are skipped
with a log line, while every feature still handles Twitch's events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.connections.twitch_repository import StoredRevocation
from core.features.connections.twitch_revocations import TwitchRevocations
from core.platforms.twitch.receiver import TwitchWebhookReceiver
from core.platforms.twitch.webhook import Revocation

if TYPE_CHECKING:
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
    )
