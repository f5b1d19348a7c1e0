"""Kick connections: a guild's streamer authorizes the bot once; the bot keeps the token fresh.

The OAuth dance (authorization code + PKCE) starts from a signed link a guild admin got in
Discord. The state is single use and lives 10 minutes; the PKCE verifier never leaves the server
(it is stored encrypted beside the state). Tokens are stored encrypted, refreshed five minutes
before they expire and once more on a 401; a refresh Kick refuses with ``invalid_grant`` marks the
connection as needing re-authorization, which ``!kick status`` shows.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.connections import repository
from core.features.connections.repository import (
    CONNECTED,
    PendingState,
    StoredConnection,
    StoredSubscription,
)
from core.platforms.kick.api import KickApi, Unauthorized
from core.platforms.kick.oauth_client import (
    InvalidGrant,
    KickOAuthClient,
    NeedsReauthorization,
    OAuthError,
    TokenSet,
    authorize_url,
    make_pkce_pair,
)
from core.security.links import LinkClaims
from core.security.secrets import TokenCipher

log = logging.getLogger(__name__)
T = TypeVar("T")

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
REFRESH_MARGIN = timedelta(minutes=5)

OAuthFactory = Callable[[], AbstractAsyncContextManager[KickOAuthClient]]
ApiFactory = Callable[[], AbstractAsyncContextManager[KickApi]]


class AuthorizationFailed(Exception):
    """The OAuth round trip did not give a usable connection; ``reason`` is for the user.

    When the state was valid, ``pending`` says whose round trip it was; ``code`` is
    ``declined`` (the user said no on Kick), ``kick_error`` or ``unknown_state``.
    """

    def __init__(
        self,
        reason: str,
        *,
        guild_id: int | None = None,
        pending: PendingState | None = None,
        code: str = "kick_error",
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


@dataclass(frozen=True)
class ConnectionStatus:
    guild_id: int
    is_connected: bool
    needs_reauthorization: bool
    kick_username: str | None
    broadcaster_user_id: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]


class KickConnections:
    def __init__(
        self,
        engine: Engine,
        cipher: TokenCipher,
        *,
        oauth_base_url: str,
        client_id: str | None,
        redirect_uri: str,
        make_oauth: OAuthFactory,
        make_api: ApiFactory,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.cipher = cipher
        self.oauth_base_url = oauth_base_url
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.make_oauth = make_oauth
        self.make_api = make_api
        self.clock = clock

    # --- the OAuth round trip ----------------------------------------------------------------

    def begin(self, purpose: str, claims: LinkClaims) -> str:
        """Remember a new single-use state for this request and return Kick's authorize URL."""
        if not self.client_id:
            raise AuthorizationFailed("Kick is not set up on this bot yet (KICK_CLIENT_ID).")
        verifier, challenge = make_pkce_pair()
        state = secrets.token_urlsafe(32)
        now = utc(self.clock())
        pending = PendingState(
            purpose, claims.guild_id, claims.discord_user_id, self.cipher.encrypt(verifier)
        )
        with self.engine.begin() as conn:
            repository.create_state(conn, state, pending, now, now + STATE_LIFETIME)
            repository.forget_states_before(conn, now - timedelta(days=1))
        scopes = STREAMER_SCOPES if purpose == PURPOSE_STREAMER else VIEWER_SCOPES
        return authorize_url(
            self.oauth_base_url,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=challenge,
        )

    async def complete(self, *, state: str, code: str | None, error: str | None) -> Authorized:
        """Finish the round trip Kick redirected back with. Raises :class:`AuthorizationFailed`."""
        pending = await asyncio.to_thread(self._consume_state, state)
        if pending is None:
            raise AuthorizationFailed(
                "This sign-in link was already used or is older than 10 minutes. "
                "Ask for a new one in Discord.",
                code="unknown_state",
            )
        if error or not code:
            is_declined = error == "access_denied"
            denied = "You declined on Kick" if is_declined else "Kick did not finish"
            raise AuthorizationFailed(
                f"{denied}, so nothing was connected.",
                pending=pending,
                code="declined" if is_declined else "kick_error",
            )
        verifier = self.cipher.decrypt(pending.code_verifier)
        try:
            async with self.make_oauth() as oauth:
                tokens = await oauth.exchange_code(code, self.redirect_uri, verifier)
            async with self.make_api() as api:
                users = await api.get_users(tokens.access_token)
        except OAuthError as exc:
            log.warning(
                "guild %s: Kick refused the code exchange (%s)", pending.guild_id, exc.error
            )
            raise AuthorizationFailed(
                "Kick refused the sign-in. Please try again with a new link.", pending=pending
            ) from exc
        if not users:
            raise AuthorizationFailed("Kick did not say who signed in.", pending=pending)
        user = users[0]
        authorized = Authorized(
            pending.purpose, pending.guild_id, pending.discord_user_id, user.user_id, user.name
        )
        if pending.purpose == PURPOSE_STREAMER:
            await asyncio.to_thread(self._store, authorized, tokens)
            log.info("guild %s: Kick channel of %s connected", pending.guild_id, user.name)
        else:
            # A viewer link needs the identity only: give the token back at once.
            await self._revoke_quietly(tokens)
        return authorized

    def _consume_state(self, state: str) -> PendingState | None:
        with self.engine.begin() as conn:
            return repository.consume_state(conn, state, utc(self.clock()))

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
        with self.engine.begin() as conn:
            repository.save_connection(conn, connection, utc(self.clock()))

    async def _revoke_quietly(self, tokens: TokenSet) -> None:
        try:
            async with self.make_oauth() as oauth:
                await oauth.revoke(tokens.access_token, "access_token")
        except Exception:
            log.warning("could not give a viewer's Kick token back; it expires on its own")

    # --- using the connection ----------------------------------------------------------------

    async def access_token(self, guild_id: int, *, force_refresh: bool = False) -> str:
        """A valid streamer token for the guild, refreshed when it is about to expire."""
        stored = await asyncio.to_thread(self._stored, guild_id)
        if stored is None or stored.status != CONNECTED:
            raise NeedsReauthorization(f"guild {guild_id} has no working Kick connection")
        now = utc(self.clock())
        if not force_refresh and stored.expires_at - REFRESH_MARGIN > now:
            return self.cipher.decrypt(stored.access_token)
        if stored.refresh_token is None:
            await asyncio.to_thread(self._mark_needs_reauth, guild_id, "no refresh token")
            raise NeedsReauthorization(f"guild {guild_id} must connect Kick again")
        try:
            async with self.make_oauth() as oauth:
                tokens = await oauth.refresh(self.cipher.decrypt(stored.refresh_token))
        except InvalidGrant as exc:
            why = "Kick refused the refresh token (invalid_grant)"
            await asyncio.to_thread(self._mark_needs_reauth, guild_id, why)
            raise NeedsReauthorization(f"guild {guild_id} must connect Kick again") from exc
        refresh = tokens.refresh_token or self.cipher.decrypt(stored.refresh_token)
        await asyncio.to_thread(self._save_refreshed, guild_id, tokens, refresh, now)
        log.info("guild %s: Kick token refreshed", guild_id)
        return tokens.access_token

    async def call_as_streamer(self, guild_id: int, call: Callable[[str], Awaitable[T]]) -> T:
        """Run ``call(token)``; on a 401 refresh the token once and try again."""
        token = await self.access_token(guild_id)
        try:
            return await call(token)
        except Unauthorized:
            token = await self.access_token(guild_id, force_refresh=True)
            return await call(token)

    def _stored(self, guild_id: int) -> StoredConnection | None:
        with self.engine.connect() as conn:
            return repository.get_connection(conn, guild_id)

    def _save_refreshed(self, guild_id: int, tokens: TokenSet, refresh: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            repository.update_tokens(
                conn,
                guild_id,
                self.cipher.encrypt(tokens.access_token),
                self.cipher.encrypt(refresh),
                tokens.expires_at,
                now,
            )

    def _mark_needs_reauth(self, guild_id: int, why: str) -> None:
        with self.engine.begin() as conn:
            repository.mark_needs_reauth(conn, guild_id, utc(self.clock()))
        log.warning(
            "guild %s: Kick connection needs re-authorization (%s); a server admin should "
            "run !kick setup again",
            guild_id,
            why,
        )

    def status(self, guild_id: int) -> ConnectionStatus:
        with self.engine.connect() as conn:
            stored = repository.get_connection(conn, guild_id)
        if stored is None:
            return ConnectionStatus(guild_id, False, False, None, None, None, ())
        return ConnectionStatus(
            guild_id=guild_id,
            is_connected=stored.status == CONNECTED,
            needs_reauthorization=stored.status != CONNECTED,
            kick_username=stored.kick_username,
            broadcaster_user_id=stored.broadcaster_user_id,
            expires_at=stored.expires_at,
            scopes=tuple(stored.scopes.split()),
        )

    def connected_guild_ids(self) -> list[int]:
        with self.engine.connect() as conn:
            return repository.list_connected_guild_ids(conn)

    def guild_ids_needing_sync(self) -> list[int]:
        with self.engine.connect() as conn:
            return repository.list_guild_ids_needing_sync(conn)

    def request_sync(self, guild_id: int) -> None:
        with self.engine.begin() as conn:
            repository.request_sync(conn, guild_id)

    def mark_synced(self, guild_id: int) -> None:
        with self.engine.begin() as conn:
            repository.clear_sync_request(conn, guild_id)

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


class AppToken:
    """The app's own access token (client credentials), fetched once and reused until it is
    about to expire. Kick issues these for about 60 days."""

    def __init__(self, make_oauth: OAuthFactory, clock: Callable[[], datetime]) -> None:
        self.make_oauth = make_oauth
        self.clock = clock
        self._tokens: TokenSet | None = None

    async def get(self) -> str:
        now = utc(self.clock())
        if self._tokens is None or self._tokens.expires_at - REFRESH_MARGIN <= now:
            async with self.make_oauth() as oauth:
                self._tokens = await oauth.app_token()
        return self._tokens.access_token
