"""Twitch's side of the sign-in round trip (``round_trip.py``): Twitch's consent URL (a streamer
is asked for the union of scopes in ``oauth_client.SCOPES``, a viewer for none), the code
exchange, Helix's Get Users to learn who signed in, the scopes a streamer did not grant, and the
streamer's tokens kept in ``twitch_connections``. Twitch has no PKCE: the state row's verifier
column holds an encrypted empty string. A viewer is identified differently
(``viewer_signin.py``).

:class:`TwitchSignIn` is mixed into ``TwitchConnections``, which provides the engine, cipher,
clock, client id, redirect URI and the OAuth and Helix client factories.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import ClassVar

from core.events import Platform
from core.features.connections.authorization import Identity
from core.features.connections.round_trip import RoundTrip, ViewerIdentity
from core.features.connections.round_trip_repository import PendingState
from core.features.connections.twitch.viewer_signin import (
    PURPOSE_TWITCH_VIEWER,
    TWITCH_VIEWER_LINK_USED_MESSAGE,
    VIEWER_SCOPES,
    identify_viewer,
    revoke_quietly,
)
from core.platforms.twitch.helix import HelixClient, HelixError
from core.platforms.twitch.oauth_client import (
    SCOPES,
    TokenSet,
    TwitchOAuthClient,
    TwitchOAuthError,
    authorize_url,
)

log = logging.getLogger(__name__)

PURPOSE_TWITCH_STREAMER = "twitch-streamer"
TWITCH_LINK_USED_MESSAGE = (
    "This link was already used. A server admin can get a new one with !twitch setup in Discord."
)

OAuthFactory = Callable[[], AbstractAsyncContextManager[TwitchOAuthClient]]
HelixFactory = Callable[[], AbstractAsyncContextManager[HelixClient]]


class TwitchSignIn(RoundTrip[TokenSet]):
    PLATFORM = Platform.TWITCH
    LINK_USED_MESSAGES: ClassVar[dict[str, str]] = {
        PURPOSE_TWITCH_STREAMER: TWITCH_LINK_USED_MESSAGE,
        PURPOSE_TWITCH_VIEWER: TWITCH_VIEWER_LINK_USED_MESSAGE,
    }
    OAUTH_ERROR = TwitchOAuthError
    API_ERROR = HelixError

    oauth_base_url: str
    redirect_uri: str
    make_oauth: OAuthFactory
    make_api: HelixFactory

    def _consent_url(self, client_id: str, purpose: str, state: str, challenge: str) -> str:
        return authorize_url(
            self.oauth_base_url,
            client_id=client_id,
            redirect_uri=self.redirect_uri,
            scopes=VIEWER_SCOPES if purpose == PURPOSE_TWITCH_VIEWER else SCOPES,
            state=state,
            # Twitch's page then names the account: a browser signed in to someone else's
            # account that granted us before would otherwise come back at once, linked as them.
            force_verify=True,
        )

    async def _exchange_code(self, code: str, verifier: str) -> TokenSet:
        async with self.make_oauth() as oauth:
            return await oauth.exchange_code(code, self.redirect_uri)

    def _is_outage(self, error: TwitchOAuthError) -> bool:  # type: ignore[override]
        return error.status is None or error.status >= 500 or error.status == 200

    async def _users(self, tokens: TokenSet) -> list[Identity]:
        async with self.make_api() as helix:
            users = await helix.get_users(tokens.access_token)
        return [Identity(user.id, user.login) for user in users]

    async def _identify_viewer(self, pending: PendingState, tokens: TokenSet) -> ViewerIdentity:
        return await identify_viewer(
            pending, tokens, make_oauth=self.make_oauth, client_id=self.client_id
        )

    def _missing_scopes(self, tokens: TokenSet) -> tuple[str, ...]:
        return tuple(scope for scope in SCOPES if scope not in tokens.scopes)

    async def _revoke_quietly(self, tokens: TokenSet) -> None:
        await revoke_quietly(self.make_oauth, tokens)
