"""Keeping a guild's streamer token usable, the same way on every platform.

A token about to expire is refreshed before it is used, and once more when the platform answers
401. A 401 that stays with the token the refresh just gave is no expiry: the grant lacks a scope
the call needs, or the token belongs to another client id. Where the platform says so
(``STILL_UNAUTHORIZED``), the connection is then marked as needing re-authorization, with one
log line naming the likely cause, and nothing refreshes it again until the streamer connects.

Twitch rotates the refresh token (Kick's has stayed usable since late 2025, but may not always),
so two refreshes at once would make the second one fail: per guild, one refresh runs at a time
(in this process), and the new pair is stored in one statement only over the pair that was
refreshed (``replace_tokens``), so a newer consent or another process's refresh is never
overwritten. A refresh the platform refuses marks the connection as needing re-authorization,
which the platform's ``status`` command shows.

:class:`StreamerTokens` is mixed into each platform's connections service, which says the
platform's differences as class attributes and gives its repository's rows.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar, Literal, TypeVar

from sqlalchemy import Table
from sqlalchemy.engine import Engine

from core.events import utc
from core.features.connections import connection_rows
from core.features.connections.authorization import Identity, database
from core.features.connections.connection_rows import StoredConnection
from core.features.connections.round_trip_repository import PendingState
from core.features.connections.status import ConnectionStatus
from core.security.secrets import TokenCipher, UndecryptableToken
from core.storage import hooks

log = logging.getLogger(__name__)
T = TypeVar("T")
TokenKind = Literal["access_token", "refresh_token"]


class GivenBack(enum.Enum):
    """What the platform did with a disconnected streamer's tokens (forgotten in every case)."""

    TAKEN_BACK = "taken back"  # every token was revoked
    REFUSED = "refused"  # it answered, refusing one (an unknown token, another client id)
    UNREACHABLE = "unreachable"  # no answer, none that could be read, or a 5xx, for one
    UNREADABLE = "unreadable"  # one this TOKEN_ENCRYPTION_KEY cannot decrypt was not sent


class StreamerTokens:
    engine: Engine
    cipher: TokenCipher
    clock: Callable[[], datetime]
    make_oauth: Callable[[], AbstractAsyncContextManager[Any]]

    PLATFORM_NAME: ClassVar[str]
    SETUP_COMMAND: ClassVar[str]
    TABLE: ClassVar[Table]  # the platform's connections table (one row per guild)
    REFRESH_MARGIN: ClassVar[timedelta]  # refresh a token this long before it expires
    UNAUTHORIZED: ClassVar[type[Exception]]  # the platform's API said 401
    INVALID_GRANT: ClassVar[type[Exception]]  # the platform refused the refresh token
    # The platform's OAuth client's error: its ``status`` is None when no answer came back.
    OAUTH_ERROR: ClassVar[type[Exception]]
    NOT_CONNECTED: ClassVar[type[Exception]]  # what callers catch: no working connection
    # A NOT_CONNECTED raised when a fresh token still gets 401 (the connection is marked);
    # None: that 401 is raised as it came. The hint names the likely causes for the log.
    STILL_UNAUTHORIZED: ClassVar[type[Exception] | None] = None
    # Emitted (core/storage/hooks.py) with the guild id in the transaction that stores a
    # streamer's consent, so what waited for it follows at once; None: not emitted.
    CONNECTED_HOOK: ClassVar[str | None] = None
    STILL_UNAUTHORIZED_HINT: ClassVar[str] = "a missing scope or another client id"

    @cached_property
    def _refresh_locks(self) -> dict[int, asyncio.Lock]:
        """One refresh at a time per guild, in this process."""
        return {}

    async def access_token(self, guild_id: int) -> str:
        """A usable streamer token for the guild, refreshed first when it expires soon."""
        stored = await asyncio.to_thread(self._working, guild_id)
        if stored.expires_at - self.REFRESH_MARGIN > utc(self.clock()):
            return self._decrypt(guild_id, stored.access_token)
        return await self._refresh(guild_id, stored.access_token)

    async def call_as_streamer(self, guild_id: int, call: Callable[[str], Awaitable[T]]) -> T:
        """``call(token)`` with the guild's streamer token; on a 401 the token is refreshed
        and the call made once more. ``NOT_CONNECTED`` when the grant is gone."""
        stored = await asyncio.to_thread(self._working, guild_id)
        if stored.expires_at - self.REFRESH_MARGIN > utc(self.clock()):
            used = stored.access_token
            token = self._decrypt(guild_id, used)
        else:
            token = await self._refresh(guild_id, stored.access_token)
            used = (await asyncio.to_thread(self._working, guild_id)).access_token
        try:
            return await call(token)
        except self.UNAUTHORIZED:
            log.info(
                "guild %s: %s answered 401; refreshing the streamer token",
                guild_id,
                self.PLATFORM_NAME,
            )
            token = await self._refresh(guild_id, used)
        try:
            return await call(token)
        except self.UNAUTHORIZED as exc:
            if self.STILL_UNAUTHORIZED is None:
                raise
            why = (
                f"{self.PLATFORM_NAME} still answers 401 to a token it has just issued ({exc}); "
                f"likely {self.STILL_UNAUTHORIZED_HINT}"
            )
            await asyncio.to_thread(self._mark_needs_reauth, guild_id, why)
            raise self.STILL_UNAUTHORIZED(
                f"guild {guild_id} must connect {self.PLATFORM_NAME} again: {exc}"
            ) from None

    async def call_with_held_token(self, guild_id: int, call: Callable[[str], Awaitable[T]]) -> T:
        """``call(token)`` once with the guild's stored access token, whatever the connection's
        status, never refreshed: for the one call still worth trying once a connection was
        marked for a 401 its scopes explain (giving a viewer's points back). ``NOT_CONNECTED``
        when there is no stored connection; the platform's errors as they come."""
        stored = await asyncio.to_thread(self._stored, guild_id)
        if stored is None:
            raise self.NOT_CONNECTED(f"guild {guild_id} has no {self.PLATFORM_NAME} connection")
        return await call(self._decrypt(guild_id, stored.access_token))

    def _decrypt(self, guild_id: int, encrypted: str) -> str:
        """One of the guild's stored tokens in plain text. ``NOT_CONNECTED`` when this
        ``TOKEN_ENCRYPTION_KEY`` cannot read it (the key changed, or the database came back
        from a backup without its key): the status says the streamer must connect again, and
        the same token works again if the key that sealed it comes back."""
        try:
            return self.cipher.decrypt(encrypted)
        except UndecryptableToken:
            log.warning(
                "guild %s: the stored %s token cannot be decrypted with TOKEN_ENCRYPTION_KEY "
                "(changed, or a backup restored without it?): put that key back (after the "
                "new one: TOKEN_ENCRYPTION_KEY=new,old), or a server admin runs %s again",
                guild_id,
                self.PLATFORM_NAME,
                self.SETUP_COMMAND,
            )
            raise self.NOT_CONNECTED(
                f"guild {guild_id}'s {self.PLATFORM_NAME} token cannot be decrypted"
            ) from None

    def _is_readable(self, stored: StoredConnection) -> bool:
        """Whether this ``TOKEN_ENCRYPTION_KEY`` reads the connection's tokens."""
        return all(token is not None for _, token in self._plain_tokens(stored))

    async def disconnect(self, guild_id: int) -> bool:
        """Give the guild's tokens back and forget them (:meth:`give_back`); False when there
        was no connection."""
        return await self.give_back(guild_id) is not None

    async def give_back(self, guild_id: int) -> GivenBack | None:
        """Give the guild's tokens back to the platform and forget them, whatever it answers: a
        token it does not take back is forgotten all the same (it expires), and the streamer
        may revoke the app in the platform's settings. What the platform did; None when there
        was no connection. Only a platform's failures are caught here, never a mistake of ours."""
        stored = await asyncio.to_thread(self._stored, guild_id)
        if stored is None:
            return None
        outcome = GivenBack.TAKEN_BACK
        plain = self._plain_tokens(stored)
        tokens = [(kind, token) for kind, token in plain if token is not None]
        if len(tokens) < len(plain):  # forgotten all the same
            outcome = GivenBack.UNREADABLE
            log.info(
                "guild %s: a stored %s token cannot be decrypted: forgotten without giving it back",
                guild_id,
                self.PLATFORM_NAME,
            )
        for kind, token in tokens:
            try:
                async with self.make_oauth() as oauth:
                    await self._revoke(oauth, token, kind)
            except self.OAUTH_ERROR as exc:  # unreachable and unreadable answers included
                status = getattr(exc, "status", None)
                if status is None or status >= 500:  # down, or no answer it could give
                    outcome = GivenBack.UNREACHABLE
                    why = "could not be reached to take a token back"
                else:
                    if outcome is GivenBack.TAKEN_BACK:
                        outcome = GivenBack.REFUSED
                    why = f"did not take a token back ({status})"
                log.info("guild %s: %s %s", guild_id, self.PLATFORM_NAME, why)
        await asyncio.to_thread(self._delete, guild_id)
        log.info(
            "guild %s: %s connection of %s removed", guild_id, self.PLATFORM_NAME, stored.username
        )
        return outcome

    async def _revoke(self, oauth: Any, token: str, kind: TokenKind) -> None:
        """Revoke one token with the platform's OAuth client (a platform says how)."""
        raise NotImplementedError

    def _delete(self, guild_id: int) -> None:
        with self.engine.begin() as conn:
            connection_rows.delete(conn, self.TABLE, guild_id)

    def _plain_tokens(self, stored: StoredConnection) -> list[tuple[TokenKind, str | None]]:
        """The connection's stored tokens in plain text (None: this key cannot read it)."""
        kinds: tuple[tuple[TokenKind, str | None], ...] = (
            ("access_token", stored.access_token),
            ("refresh_token", stored.refresh_token),
        )
        plain: list[tuple[TokenKind, str | None]] = []
        for kind, encrypted in kinds:
            if encrypted is None:
                continue
            try:
                plain.append((kind, self.cipher.decrypt(encrypted)))
            except UndecryptableToken:
                plain.append((kind, None))
        return plain

    def _stored(self, guild_id: int) -> StoredConnection | None:
        with self.engine.connect() as conn:
            return connection_rows.get(conn, self.TABLE, guild_id)

    def _store(
        self, pending: PendingState, user: Identity, tokens: Any, missing: tuple[str, ...]
    ) -> None:
        """Keep the streamer's new grant (the sign-in's last step), replacing an older one."""
        stored = StoredConnection(
            guild_id=pending.guild_id,
            broadcaster_user_id=user.user_id,
            username=user.name,
            access_token=self.cipher.encrypt(tokens.access_token),
            refresh_token=self.cipher.encrypt(tokens.refresh_token)
            if tokens.refresh_token
            else None,
            expires_at=tokens.expires_at,
            scopes=tuple(tokens.scopes),
            status=connection_rows.CONNECTED,
            connected_by=pending.discord_user_id,
            missing_scopes=missing,
        )
        with database(self.engine, write=True) as conn:
            connection_rows.save(conn, self.TABLE, stored, utc(self.clock()))
            if self.CONNECTED_HOOK is not None:
                hooks.emit(conn, self.CONNECTED_HOOK, pending.guild_id)

    def _working(self, guild_id: int) -> StoredConnection:
        stored = self._stored(guild_id)
        if stored is None or stored.status != connection_rows.CONNECTED:
            raise self.NOT_CONNECTED(
                f"guild {guild_id} has no working {self.PLATFORM_NAME} connection"
            )
        return stored

    async def _refresh(self, guild_id: int, failed: str) -> str:
        """Refresh the guild's token unless the stored one is no longer ``failed`` (the
        ciphertext that expired or got a 401): then another refresh got there first."""
        lock = self._refresh_locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            stored = await asyncio.to_thread(self._working, guild_id)
            if stored.access_token != failed:
                return self._decrypt(guild_id, stored.access_token)
            if stored.refresh_token is None:
                await asyncio.to_thread(self._mark_needs_reauth, guild_id, "no refresh token")
                raise self._must_connect_again(guild_id)
            try:
                async with self.make_oauth() as oauth:
                    tokens = await oauth.refresh(self._decrypt(guild_id, stored.refresh_token))
            except self.INVALID_GRANT as exc:
                why = f"{self.PLATFORM_NAME} refused the refresh token"
                if not await asyncio.to_thread(self._mark_needs_reauth, guild_id, why, failed):
                    # A new consent (or another process's refresh) replaced the pair meanwhile.
                    return await self.access_token(guild_id)
                raise self._must_connect_again(guild_id) from exc
            # A platform that keeps the refresh token answers without one: keep ours.
            refresh = (
                self.cipher.encrypt(tokens.refresh_token)
                if tokens.refresh_token
                else stored.refresh_token
            )
            is_saved = await asyncio.to_thread(
                self._save_refreshed, guild_id, failed, tokens, refresh
            )
            if not is_saved:
                log.info(
                    "guild %s: a new %s consent arrived during a refresh",
                    guild_id,
                    self.PLATFORM_NAME,
                )
                return await self.access_token(guild_id)
            log.info("guild %s: %s token refreshed", guild_id, self.PLATFORM_NAME)
            return tokens.access_token

    def _must_connect_again(self, guild_id: int) -> Exception:
        return self.NOT_CONNECTED(f"guild {guild_id} must connect {self.PLATFORM_NAME} again")

    def _save_refreshed(self, guild_id: int, expected: str, tokens: Any, refresh: str) -> bool:
        """The new access and refresh tokens, both at once, over the pair that was refreshed."""
        with self.engine.begin() as conn:
            return connection_rows.replace_tokens(
                conn,
                self.TABLE,
                guild_id,
                expected_access_token=expected,
                access_token=self.cipher.encrypt(tokens.access_token),
                refresh_token=refresh,
                expires_at=tokens.expires_at,
                now=utc(self.clock()),
            )

    def _mark_needs_reauth(self, guild_id: int, why: str, failed: str | None = None) -> bool:
        """Mark the connection (while its access token is still ``failed``, when given);
        False when it was replaced meanwhile."""
        with self.engine.begin() as conn:
            now = utc(self.clock())
            marked = connection_rows.mark_needs_reauth(
                conn, self.TABLE, guild_id, now, access_token=failed
            )
        if not marked:
            return False
        log.warning(
            "guild %s: %s connection needs re-authorization (%s); a server admin should run %s "
            "again",
            guild_id,
            self.PLATFORM_NAME,
            why,
            self.SETUP_COMMAND,
        )
        return True

    # --- the rows every platform keeps the same way --------------------------------------------

    def status(self, guild_id: int) -> ConnectionStatus:
        stored = self._stored(guild_id)
        is_readable = stored is None or self._is_readable(stored)
        return ConnectionStatus.of(guild_id, stored, is_readable=is_readable)

    def connected_guild_ids(self) -> list[int]:
        with self.engine.connect() as conn:
            return connection_rows.list_guild_ids(conn, self.TABLE, connection_rows.CONNECTED)

    def needing_reauthorization(self) -> list[int]:
        with self.engine.connect() as conn:
            return connection_rows.list_guild_ids(conn, self.TABLE, connection_rows.NEEDS_REAUTH)

    def guild_ids_needing_sync(self) -> list[int]:
        with self.engine.connect() as conn:
            return connection_rows.list_guild_ids_needing_sync(conn, self.TABLE)

    def request_sync(self, guild_id: int) -> None:
        with self.engine.begin() as conn:
            connection_rows.set_needs_sync(conn, self.TABLE, guild_id, True)

    def mark_synced(self, guild_id: int) -> None:
        with self.engine.begin() as conn:
            connection_rows.set_needs_sync(conn, self.TABLE, guild_id, False)
