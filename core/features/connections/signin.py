"""The Kick sign-in round trip: from a signed start link to a stored streamer connection or a
viewer's verified identity.

A start link (``core/security/links.py``) starts a sign-in once. The state is single use, lives
10 minutes and is bound to the browser that opened the link; the PKCE verifier never leaves the
server (stored encrypted beside the state). A streamer's token is kept only when the account that
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
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import Platform, utc
from core.features.connections import repository
from core.features.connections.authorization import (
    DECLINED,
    KICK_ERROR,
    KICK_UNAVAILABLE,
    KICK_UNAVAILABLE_MESSAGE,
    LINK_USED,
    LINK_USED_MESSAGE,
    NOT_CONFIGURED,
    UNKNOWN_STATE,
    WRONG_ACCOUNT,
    WRONG_BROWSER,
    WRONG_BROWSER_MESSAGE,
    browser_hash,
    database,
    is_same_browser,
    owner_refusal,
)
from core.features.connections.repository import CONNECTED, PendingState, StoredConnection
from core.features.guilds import repository as guilds_repository
from core.features.guilds.repository import TrackedChannel
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
from core.security.secrets import TokenCipher

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
STATE_LIFETIME = timedelta(minutes=10)

OAuthFactory = Callable[[], AbstractAsyncContextManager[KickOAuthClient]]
ApiFactory = Callable[[], AbstractAsyncContextManager[KickApi]]


class AuthorizationFailed(Exception):
    """The OAuth round trip did not give a usable connection; ``reason`` is for the user.

    When the state was valid, ``pending`` says whose round trip it was; ``code`` is one of
    the codes in ``authorization.py`` (``declined``, ``wrong_browser``, ``wrong_account``...).
    """

    def __init__(
        self,
        reason: str,
        *,
        guild_id: int | None = None,
        pending: PendingState | None = None,
        code: str = KICK_ERROR,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.guild_id = pending.guild_id if pending is not None else guild_id
        self.pending = pending
        self.code = code


@dataclass(frozen=True)
class Authorized:
    purpose: str
    guild_id: int
    discord_user_id: int
    kick_user_id: str
    kick_username: str


class SignInFlow:
    engine: Engine
    cipher: TokenCipher
    oauth_base_url: str
    client_id: str | None
    redirect_uri: str
    make_oauth: OAuthFactory
    make_api: ApiFactory
    clock: Callable[[], datetime]

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
        now = utc(self.clock())
        pending = PendingState(
            purpose,
            claims.guild_id,
            claims.discord_user_id,
            self.cipher.encrypt(verifier),
            browser_hash(browser_nonce),
        )
        with database(self.engine, write=True) as conn:
            is_first_use = repository.claim_link(
                conn,
                claims.link_id,
                purpose=purpose,
                guild_id=claims.guild_id,
                discord_user_id=claims.discord_user_id,
                now=now,
                expires_at=claims.expires_at,
            )
            if is_first_use:
                repository.create_state(conn, state, pending, now, now + STATE_LIFETIME)
                repository.forget_states_before(conn, now - timedelta(days=1))
                repository.forget_links_expired_before(conn, now)
        if not is_first_use:
            raise AuthorizationFailed(LINK_USED_MESSAGE[purpose], code=LINK_USED)
        scopes = STREAMER_SCOPES if purpose == PURPOSE_STREAMER else VIEWER_SCOPES
        return authorize_url(
            self.oauth_base_url,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=challenge,
        )

    def is_link_used(self, link_id: str) -> bool:
        """Whether this start link has started a sign-in already. Raises DatabaseUnavailable."""
        with database(self.engine) as conn:
            return repository.is_link_used(conn, link_id)

    def channel_to_connect(self, guild_id: int) -> TrackedChannel | None:
        """The Kick channel ``!kick setup`` named for the guild: its owner must consent."""
        with database(self.engine) as conn:
            channels = guilds_repository.list_channels_of_guild(conn, guild_id)
        return next((c for c in channels if c.platform == Platform.KICK), None)

    async def complete(
        self, *, state: str, code: str | None, error: str | None, browser_nonce: str | None
    ) -> Authorized:
        """Finish the round trip Kick redirected back with, in the browser that holds
        ``browser_nonce`` (the cookie). Raises :class:`AuthorizationFailed` or
        :class:`DatabaseUnavailable`."""
        pending = await asyncio.to_thread(self._consume_state, state)
        if pending is None:
            raise AuthorizationFailed(
                "This sign-in link was already used or is older than 10 minutes. "
                "Ask for a new one in Discord.",
                code=UNKNOWN_STATE,
            )
        if not is_same_browser(pending.browser_hash, browser_nonce):
            # Someone else's consent page, or another browser than the one that opened the
            # link: nothing is exchanged, so a code sent here is never used.
            log.info("guild %s: a Kick sign-in came back to another browser", pending.guild_id)
            raise AuthorizationFailed(WRONG_BROWSER_MESSAGE, pending=pending, code=WRONG_BROWSER)
        if error or not code:
            is_declined = error == "access_denied"
            denied = "You declined on Kick" if is_declined else "Kick did not finish"
            raise AuthorizationFailed(
                f"{denied}, so nothing was connected.",
                pending=pending,
                code=DECLINED if is_declined else KICK_ERROR,
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

    def _consume_state(self, state: str) -> PendingState | None:
        with database(self.engine, write=True) as conn:
            return repository.consume_state(
                conn, state, utc(self.clock()), purposes=(PURPOSE_STREAMER, PURPOSE_VIEWER)
            )

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
