"""Kick connections: a guild's streamer authorizes the bot once; the bot keeps the token fresh.

The sign-in that creates a connection is in ``signin.py`` (mixed in here). Tokens are stored
encrypted, refreshed five minutes before they expire and once more on a 401; a refresh Kick
refuses with ``invalid_grant`` marks the connection as needing re-authorization, which
``!kick status`` shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.connections.kick import repository
from core.features.connections.kick.repository import (
    CONNECTED,
    StoredConnection,
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
    OAuthFactory,
    SignInFlow,
)
from core.platforms.kick.api import Unauthorized
from core.platforms.kick.oauth_client import InvalidGrant, NeedsReauthorization, TokenSet
from core.security.secrets import TokenCipher

__all__ = [
    "PURPOSE_STREAMER",
    "PURPOSE_VIEWER",
    "STATE_LIFETIME",
    "STREAMER_SCOPES",
    "VIEWER_SCOPES",
    "ApiFactory",
    "AppToken",
    "AuthorizationFailed",
    "ConnectionStatus",
    "KickConnections",
    "NeedsReauthorization",
    "OAuthFactory",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class ConnectionStatus:
    guild_id: int
    is_connected: bool
    needs_reauthorization: bool
    kick_username: str | None
    broadcaster_user_id: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]


class KickConnections(SignInFlow):
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
