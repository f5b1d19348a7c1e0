"""The app's own access token (client credentials), the same on every platform: fetched once
and reused until it is about to expire (Kick issues these for about 60 days), or until the
platform refuses it (:meth:`AppToken.call`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from core.events import utc
from core.platforms.tokens import TokenSet

T = TypeVar("T")


class AppToken:
    """A platform's subclass names its API's 401 (``UNAUTHORIZED``)."""

    UNAUTHORIZED: ClassVar[type[Exception]]

    def __init__(
        self,
        make_oauth: Callable[[], AbstractAsyncContextManager[Any]],
        clock: Callable[[], datetime],
    ) -> None:
        self.make_oauth = make_oauth
        self.clock = clock
        self._tokens: TokenSet | None = None

    async def get(self) -> str:
        if self._tokens is None or self._tokens.is_expiring(utc(self.clock())):
            async with self.make_oauth() as oauth:
                self._tokens = await oauth.app_token()
        return self._tokens.access_token

    async def call(self, call: Callable[[str], Awaitable[T]]) -> T:
        """``call(token)`` with the app token; on a 401 (the platform forgot or revoked it, or
        the client secret changed) a new one is minted and the call made once more. Without
        it a refused token would be kept until the expiry the platform first gave: weeks."""
        token = await self.get()
        try:
            return await call(token)
        except self.UNAUTHORIZED:
            if self._tokens is not None and self._tokens.access_token == token:
                self._tokens = None
            return await call(await self.get())
