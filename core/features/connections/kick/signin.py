"""Kick's side of the sign-in round trip (``round_trip.py``): PKCE (the verifier never leaves the
server, stored encrypted beside the state), Kick's consent URL and scopes, the code exchange,
``/users`` to learn who signed in, and the streamer's tokens kept in ``kick_connections``. A
viewer's token is given back to Kick at once.

:class:`KickSignIn` is mixed into ``KickConnections``, which provides the engine, cipher, clock,
client id, redirect URI and the OAuth and API client factories.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Literal

from core.events import Platform
from core.features.connections.authorization import (
    LINK_USED_MESSAGE,
)
from core.features.connections.round_trip import (
    STATE_LIFETIME,
    AuthorizationFailed,
    Identity,
    RoundTrip,
)
from core.platforms.kick.api import KickApi, KickApiError
from core.platforms.kick.oauth_client import (
    KickOAuthClient,
    OAuthError,
    TokenSet,
    authorize_url,
    make_pkce_pair,
)

__all__ = ["STATE_LIFETIME", "AuthorizationFailed", "KickSignIn"]

log = logging.getLogger(__name__)

PURPOSE_STREAMER = "kick-streamer"
PURPOSE_VIEWER = "kick-viewer"
STREAMER_SCOPES = (
    "user:read",
    "channel:read",
    "chat:write",
    "events:subscribe",
    "channel:rewards:read",
    "channel:rewards:write",
    "moderation:ban",
)
VIEWER_SCOPES = ("user:read",)

OAuthFactory = Callable[[], AbstractAsyncContextManager[KickOAuthClient]]
ApiFactory = Callable[[], AbstractAsyncContextManager[KickApi]]


class KickSignIn(RoundTrip[TokenSet]):
    PLATFORM = Platform.KICK
    LINK_USED_MESSAGES = LINK_USED_MESSAGE
    OAUTH_ERROR = OAuthError
    API_ERROR = KickApiError

    oauth_base_url: str
    redirect_uri: str
    make_oauth: OAuthFactory
    make_api: ApiFactory

    def _pkce_pair(self) -> tuple[str, str]:
        return make_pkce_pair()

    def _consent_url(self, client_id: str, purpose: str, state: str, challenge: str) -> str:
        return authorize_url(
            self.oauth_base_url,
            client_id=client_id,
            redirect_uri=self.redirect_uri,
            scopes=STREAMER_SCOPES if purpose == PURPOSE_STREAMER else VIEWER_SCOPES,
            state=state,
            code_challenge=challenge,
        )

    async def _exchange_code(self, code: str, verifier: str) -> TokenSet:
        async with self.make_oauth() as oauth:
            return await oauth.exchange_code(code, self.redirect_uri, verifier)

    def _is_outage(self, error: OAuthError) -> bool:  # type: ignore[override]
        return error.status is None or error.status >= 500 or error.error == "invalid_response"

    async def _users(self, tokens: TokenSet) -> list[Identity]:
        async with self.make_api() as api:
            users = await api.get_users(tokens.access_token)
        return [Identity(str(user.user_id), user.name) for user in users]

    async def _revoke_quietly(self, tokens: TokenSet) -> None:
        """Give back the access token and the refresh token: Kick revokes each on its own, and
        a refresh token left alive (Kick's are reusable) keeps the grant as long as Kick lets it
        live, although nothing here holds it any more."""
        given: list[tuple[str, Literal["access_token", "refresh_token"]]] = [
            (tokens.access_token, "access_token")
        ]
        if tokens.refresh_token:
            given.append((tokens.refresh_token, "refresh_token"))
        for token, kind in given:
            try:
                async with self.make_oauth() as oauth:
                    await oauth.revoke(token, kind)
            except Exception:
                log.warning("could not give a Kick %s back; it expires on its own", kind)
