"""The app's own access token (client credentials), the same on every platform: fetched once
and reused until it is about to expire (Kick issues these for about 60 days)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from core.events import utc
from core.platforms.tokens import TokenSet


class AppToken:
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
