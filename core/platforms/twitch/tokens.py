"""One Twitch token kept usable: refreshed before it expires and once on a 401, validated at
start and then hourly (Twitch requires both), its scopes checked against what we need.

Storage stays with the caller: ``save`` gets every new :class:`TokenSet` and must persist the
access **and** the refresh token together (the refresh token rotates; the old one may already
be dead). A grant that cannot be refreshed raises :class:`GrantRevoked`, the one error that
means "the streamer must connect again".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

from core.platforms.twitch.helix_transport import Unauthorized
from core.platforms.twitch.oauth_client import (
    SCOPES,
    InvalidGrant,
    InvalidToken,
    TokenSet,
    TokenValidation,
    TwitchOAuthClient,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
REFRESH_MARGIN = timedelta(minutes=10)
VALIDATE_EVERY = timedelta(hours=1)


class GrantRevoked(Exception):
    """The grant is gone (revoked, password changed, app disconnected, refresh token dead): end
    every session that uses it and ask the streamer to connect again."""


class ManagedToken:
    """``kind="user"`` refreshes with the refresh token; ``kind="app"`` mints a new app token
    (app tokens have none). ``clock`` gives the aware now."""

    def __init__(
        self,
        oauth: TwitchOAuthClient,
        tokens: TokenSet,
        *,
        save: Callable[[TokenSet], Awaitable[object]],
        kind: Literal["user", "app"] = "user",
        required_scopes: Iterable[str] = SCOPES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresh_margin: timedelta = REFRESH_MARGIN,
        validate_every: timedelta = VALIDATE_EVERY,
    ) -> None:
        self._oauth = oauth
        self._tokens = tokens
        self._save = save
        self._kind = kind
        self._required = tuple(required_scopes) if kind == "user" else ()
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._validate_every = validate_every
        self._lock = asyncio.Lock()
        self.validation: TokenValidation | None = None
        self.validated_at: datetime | None = None
        self.is_revoked = False

    def __repr__(self) -> str:
        return f"ManagedToken(kind={self._kind!r}, tokens={self._tokens!r})"

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    @property
    def missing_scopes(self) -> tuple[str, ...]:
        """Required scopes the last validation did not list (empty before any validation)."""
        return () if self.validation is None else self.validation.missing_scopes(self._required)

    async def access_token(self) -> str:
        """The access token, refreshed first when it expires within the margin."""
        if self._tokens.is_expiring(self._clock(), margin=self._refresh_margin):
            await self.refresh(self._tokens.access_token)
        return self._tokens.access_token

    async def call(self, request: Callable[[str], Awaitable[T]]) -> T:
        """``request(access_token)``; on a 401 the token is refreshed and the request made once
        more (a second 401 is raised: look at :attr:`missing_scopes` after :meth:`validate`)."""
        token = await self.access_token()
        try:
            return await request(token)
        except Unauthorized:
            log.info("Twitch answered 401; refreshing the %s token", self._kind)
            await self.refresh(token)
        return await request(self._tokens.access_token)

    async def validate(self, *, force: bool = False) -> TokenValidation:
        """Ask ``/validate`` when due (never yet, or an hour since) or ``force``; an invalid
        token is refreshed and validated again. :class:`GrantRevoked` when that fails too."""
        now = self._clock()
        due = self.validated_at is None or now - self.validated_at >= self._validate_every
        if self.validation is not None and not (due or force):
            return self.validation
        try:
            validation = await self._oauth.validate(await self.access_token())
        except InvalidToken:
            await self.refresh(self._tokens.access_token)
            try:
                validation = await self._oauth.validate(self._tokens.access_token)
            except InvalidToken:
                self.is_revoked = True
                raise GrantRevoked("Twitch does not accept the new token either") from None
        self.validation, self.validated_at = validation, self._clock()
        if self.missing_scopes:
            log.warning("the Twitch token lacks %s", ", ".join(self.missing_scopes))
        return validation

    async def refresh(self, failed_token: str | None = None) -> TokenSet:
        """A new token set, saved. With ``failed_token``, nothing happens when another task
        has already replaced that token (one refresh for many concurrent 401s)."""
        async with self._lock:
            if failed_token is not None and failed_token != self._tokens.access_token:
                return self._tokens
            if self.is_revoked:
                raise GrantRevoked("the Twitch grant was revoked")
            try:
                if self._kind == "app":
                    fresh = await self._oauth.app_token()
                elif self._tokens.refresh_token is None:
                    raise GrantRevoked("no refresh token to renew the Twitch token with")
                else:
                    fresh = await self._oauth.refresh(self._tokens.refresh_token)
            except InvalidGrant:
                self.is_revoked = True
                raise GrantRevoked("Twitch refused the refresh token") from None
            # Keep the new pair even if saving fails: the old refresh token may be dead now.
            self._tokens = fresh
            await self._save(fresh)
            return fresh


__all__ = ["REFRESH_MARGIN", "VALIDATE_EVERY", "GrantRevoked", "ManagedToken"]
