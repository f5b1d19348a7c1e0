"""The Kick sign-in round trip: from a signed start link to a stored streamer connection or a
viewer's verified identity.

A start link (``core/security/links.py``) starts a sign-in once. The state is single use, lives
10 minutes and is bound to the browser that opened the link; the PKCE verifier never leaves the
server (stored encrypted beside the state). Those steps, shared with Twitch, are in
``round_trip.py``. A streamer's token is kept only when the account that
consented owns the channel ``!kick setup`` named; a viewer's is given back to Kick at once. The
checks themselves are in ``authorization.py``.

:class:`SignInFlow` is mixed into ``KickConnections``, which provides the engine, cipher, clock,
client id, redirect URI and the OAuth and API client factories.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from core.events import Platform, utc
from core.features.connections.authorization import (
    KICK_ERROR,
    KICK_UNAVAILABLE,
    KICK_UNAVAILABLE_MESSAGE,
    LINK_USED_MESSAGE,
    NOT_CONFIGURED,
    WRONG_ACCOUNT,
    WRONG_BROWSER_MESSAGE,
    database,
    owner_refusal,
)
from core.features.connections.kick import repository
from core.features.connections.kick.repository import CONNECTED, PendingState, StoredConnection
from core.features.connections.round_trip import (
    STATE_LIFETIME,
    AuthorizationFailed,
    RoundTrip,
)
from core.platforms.kick.api import KickApi, KickApiError
from core.platforms.kick.api_models import KickUser
from core.platforms.kick.oauth_client import (
    KickOAuthClient,
    OAuthError,
    TokenSet,
    authorize_url,
    make_pkce_pair,
)
from core.security.links import LinkClaims

__all__ = ["STATE_LIFETIME", "AuthorizationFailed", "Authorized", "SignInFlow"]

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


@dataclass(frozen=True)
class Authorized:
    purpose: str
    guild_id: int
    discord_user_id: int
    kick_user_id: str
    kick_username: str


class SignInFlow(RoundTrip):
    PLATFORM = Platform.KICK
    PLATFORM_NAME = "Kick"
    PURPOSES = (PURPOSE_STREAMER, PURPOSE_VIEWER)
    ERROR_CODE = KICK_ERROR
    WRONG_BROWSER_MESSAGE = WRONG_BROWSER_MESSAGE

    oauth_base_url: str
    client_id: str | None
    redirect_uri: str
    make_oauth: OAuthFactory
    make_api: ApiFactory

    def begin(self, purpose: str, claims: LinkClaims, browser_nonce: str) -> str:
        """Use the start link (once), remember a new single-use state bound to the browser that
        holds ``browser_nonce`` (only its hash is stored) and return Kick's authorize URL.

        Raises :class:`AuthorizationFailed` (``link_used``, ``not_configured``) or
        :class:`DatabaseUnavailable`."""
        if not self.client_id:
            raise AuthorizationFailed(
                "Kick is not set up on this bot yet (KICK_CLIENT_ID).", code=NOT_CONFIGURED
            )
        verifier, challenge = make_pkce_pair()
        state = secrets.token_urlsafe(32)
        self._open_state(
            purpose,
            claims,
            browser_nonce,
            state=state,
            verifier=verifier,
            link_used_message=LINK_USED_MESSAGE[purpose],
        )
        scopes = STREAMER_SCOPES if purpose == PURPOSE_STREAMER else VIEWER_SCOPES
        return authorize_url(
            self.oauth_base_url,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=challenge,
        )

    async def complete(
        self, *, state: str, code: str | None, error: str | None, browser_nonce: str | None
    ) -> Authorized:
        """Finish the round trip Kick redirected back with, in the browser that holds
        ``browser_nonce`` (the cookie). Raises :class:`AuthorizationFailed` or
        :class:`DatabaseUnavailable`."""
        pending, code = await self._returned(
            state=state, code=code, error=error, browser_nonce=browser_nonce
        )
        tokens, user = await self._exchange_and_identify(pending, code)
        authorized = Authorized(
            pending.purpose, pending.guild_id, pending.discord_user_id, user.user_id, user.name
        )
        if pending.purpose == PURPOSE_STREAMER:
            channel = await asyncio.to_thread(self.channel_to_connect, pending.guild_id)
            refusal = owner_refusal(channel, user)
            if refusal is not None:
                await self._revoke_quietly(tokens)
                log.info(
                    "guild %s: refused a Kick sign-in by an account that does not own the "
                    "guild's channel",
                    pending.guild_id,
                )
                raise AuthorizationFailed(refusal, pending=pending, code=WRONG_ACCOUNT)
            await asyncio.to_thread(self._store, authorized, tokens)
            log.info("guild %s: Kick channel of %s connected", pending.guild_id, user.name)
        else:
            # A viewer link needs the identity only: give the token back at once.
            await self._revoke_quietly(tokens)
        return authorized

    async def _exchange_and_identify(
        self, pending: PendingState, code: str
    ) -> tuple[TokenSet, KickUser]:
        """Trade the code for tokens and ask Kick whose they are."""
        verifier = self.cipher.decrypt(pending.code_verifier)
        try:
            async with self.make_oauth() as oauth:
                tokens = await oauth.exchange_code(code, self.redirect_uri, verifier)
        except OAuthError as exc:
            log.warning(
                "guild %s: Kick refused the code exchange (%s)", pending.guild_id, exc.error
            )
            if exc.status is None or exc.status >= 500 or exc.error == "invalid_response":
                raise AuthorizationFailed(
                    KICK_UNAVAILABLE_MESSAGE, pending=pending, code=KICK_UNAVAILABLE
                ) from exc
            raise AuthorizationFailed(
                "Kick refused the sign-in. Please try again with a new link.", pending=pending
            ) from exc
        try:
            async with self.make_api() as api:
                users = await api.get_users(tokens.access_token)
        except KickApiError as exc:
            log.warning(
                "guild %s: Kick's users endpoint failed after a sign-in (%s)",
                pending.guild_id,
                exc.status or "no answer",
            )
            await self._revoke_quietly(tokens)
            raise AuthorizationFailed(
                KICK_UNAVAILABLE_MESSAGE, pending=pending, code=KICK_UNAVAILABLE
            ) from exc
        if not users:
            await self._revoke_quietly(tokens)
            raise AuthorizationFailed(
                "Kick did not say who signed in.", pending=pending, code=KICK_UNAVAILABLE
            )
        return tokens, users[0]

    def _store(self, authorized: Authorized, tokens: TokenSet) -> None:
        connection = StoredConnection(
            guild_id=authorized.guild_id,
            broadcaster_user_id=authorized.kick_user_id,
            kick_username=authorized.kick_username,
            access_token=self.cipher.encrypt(tokens.access_token),
            refresh_token=self.cipher.encrypt(tokens.refresh_token)
            if tokens.refresh_token
            else None,
            expires_at=tokens.expires_at,
            scopes=" ".join(tokens.scopes),
            status=CONNECTED,
            connected_by=authorized.discord_user_id,
            needs_sync=True,
        )
        with database(self.engine, write=True) as conn:
            repository.save_connection(conn, connection, utc(self.clock()))

    async def _revoke_quietly(self, tokens: TokenSet) -> None:
        try:
            async with self.make_oauth() as oauth:
                await oauth.revoke(tokens.access_token, "access_token")
        except Exception:
            log.warning("could not give a Kick token back; it expires on its own")
