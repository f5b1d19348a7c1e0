"""Kick connections: a guild's streamer authorizes the bot once; the bot keeps the token fresh
(``streamer_tokens.py``, shared with Twitch).

The sign-in that creates a connection is in ``signin.py`` (mixed in here). Tokens are stored
encrypted, refreshed five minutes before they expire and once more on a 401; a refresh Kick
refuses with ``invalid_grant`` marks the connection as needing re-authorization, which
``!kick status`` shows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from core.events import utc
from core.features.connections.app_token import AppToken
from core.features.connections.kick import repository
from core.features.connections.kick.repository import (
    StoredSubscription,
)
from core.features.connections.kick.signin import (
    PURPOSE_STREAMER,
    PURPOSE_VIEWER,
    STATE_LIFETIME,
    STREAMER_SCOPES,
    VIEWER_SCOPES,
    ApiFactory,
    AuthorizationFailed,
    KickSignIn,
    OAuthFactory,
)
from core.features.connections.streamer_tokens import StreamerTokens, TokenKind
from core.features.connections.tables import kick_connections
from core.platforms.kick.api import Unauthorized
from core.platforms.kick.oauth_client import InvalidGrant, NeedsReauthorization, OAuthError

__all__ = [
    "PURPOSE_STREAMER",
    "PURPOSE_VIEWER",
    "STATE_LIFETIME",
    "STREAMER_SCOPES",
    "VIEWER_SCOPES",
    "ApiFactory",
    "AppToken",
    "AuthorizationFailed",
    "KickAppToken",
    "KickConnections",
    "NeedsReauthorization",
    "OAuthFactory",
]

T = TypeVar("T")

REFRESH_MARGIN = timedelta(minutes=5)


class KickAppToken(AppToken):
    """The app's own token for channel look-ups and webhook subscriptions, minted again when
    Kick refuses it (:meth:`AppToken.call`)."""

    UNAUTHORIZED = Unauthorized


class KickConnections(StreamerTokens, KickSignIn):
    TABLE = kick_connections
    REFRESH_MARGIN = REFRESH_MARGIN
    UNAUTHORIZED = Unauthorized
    INVALID_GRANT = InvalidGrant
    OAUTH_ERROR = OAuthError
    NOT_CONNECTED = NeedsReauthorization

    async def _revoke(self, oauth: Any, token: str, kind: TokenKind) -> None:
        await oauth.revoke(token, kind)

    # --- stored subscriptions ----------------------------------------------------------------

    def stored_subscriptions(self, broadcaster_user_id: str) -> list[StoredSubscription]:
        with self.engine.connect() as conn:
            return repository.list_subscriptions_for_broadcaster(conn, broadcaster_user_id)

    def store_subscriptions(
        self, broadcaster_user_id: str, subscriptions: list[StoredSubscription]
    ) -> None:
        with self.engine.begin() as conn:
            repository.replace_subscriptions(
                conn, broadcaster_user_id, subscriptions, utc(self.clock())
            )

    def broadcaster_of_subscription(self, subscription_id: str) -> str | None:
        with self.engine.connect() as conn:
            return repository.find_broadcaster_by_subscription(conn, subscription_id)
