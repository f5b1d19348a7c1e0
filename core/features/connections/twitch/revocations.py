"""What Twitch said when it stopped an EventSub subscription, kept for ``!twitch status``."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core.features.connections.twitch import revocations_repository as twitch_repository
from core.features.connections.twitch.revocations_repository import StoredRevocation


class TwitchRevocations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, revocation: StoredRevocation) -> bool:
        """Keep ``revocation`` (a retry of one already kept changes nothing). Raises on a
        database failure, so that the webhook answers 503 and Twitch retries."""
        with self.engine.begin() as conn:
            return twitch_repository.record_revocation(conn, revocation)

    def of_broadcaster(self, broadcaster_user_id: str) -> list[StoredRevocation]:
        """The broadcaster's revoked subscriptions, the latest first."""
        with self.engine.connect() as conn:
            return twitch_repository.list_revocations_of_broadcaster(conn, broadcaster_user_id)
