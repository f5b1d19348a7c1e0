"""What Twitch said when it stopped an EventSub subscription, kept for ``!twitch status``."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from core.features.connections.twitch import repository as connections_repository
from core.features.connections.twitch import revocations_repository as twitch_repository
from core.features.connections.twitch.revocations_repository import StoredRevocation

log = logging.getLogger(__name__)


class TwitchRevocations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, revocation: StoredRevocation) -> bool:
        """Keep ``revocation`` (a retry of one already kept changes nothing). Raises on a
        database failure, so that the webhook answers 503 and Twitch retries."""
        with self.engine.begin() as conn:
            return twitch_repository.record_revocation(conn, revocation)

    def is_of_a_replaced_subscription(self, revocation: StoredRevocation) -> bool:
        """Whether we hold the broadcaster's webhook subscriptions and ``revocation`` names none
        of them: a late revocation (delivered again, or after the streamer connected again and
        the upkeep made new ones) says nothing about the subscriptions or the grant in use.
        With none held (the EventSub WebSocket, or no sync yet) it cannot be told: False."""
        if revocation.broadcaster_user_id is None:
            return False
        with self.engine.connect() as conn:
            held = connections_repository.list_subscriptions_for_broadcaster(
                conn, revocation.broadcaster_user_id
            )
        if not held or revocation.subscription_id in {s.subscription_id for s in held}:
            return False
        log.info(
            "Twitch revoked subscription %s (%s) of broadcaster %s: %s; ignored, it is not one "
            "of the %d subscriptions held now",
            revocation.subscription_id,
            revocation.subscription_type,
            revocation.broadcaster_user_id,
            revocation.status,
            len(held),
        )
        return True

    def of_broadcaster(self, broadcaster_user_id: str) -> list[StoredRevocation]:
        """The broadcaster's revoked subscriptions, the latest first."""
        with self.engine.connect() as conn:
            return twitch_repository.list_revocations_of_broadcaster(conn, broadcaster_user_id)

    def standing(self, broadcaster_user_id: str) -> list[StoredRevocation]:
        """The broadcaster's revocations not made good since, the latest first: one whose type
        the upkeep has subscribed again (a subscription of that type held now, under another
        id: the streamer connected again, or a failing one was made anew) is history, and
        ``!twitch status`` no longer warns of it."""
        with self.engine.connect() as conn:
            revoked = twitch_repository.list_revocations_of_broadcaster(conn, broadcaster_user_id)
            held = connections_repository.list_subscriptions_for_broadcaster(
                conn, broadcaster_user_id
            )
        held_ids = {s.subscription_id for s in held}
        held_types = {s.subscription_type for s in held}
        return [
            r
            for r in revoked
            if r.subscription_id in held_ids or r.subscription_type not in held_types
        ]
