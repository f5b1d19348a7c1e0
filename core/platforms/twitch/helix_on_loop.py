"""A Helix client made on first use and closed at shutdown: what every adapter on Helix holds.

httpx's async client belongs to the event loop it first ran on, so an adapter built with the
runtime (before the pipeline's loop runs) makes its client when first asked, on that loop.
"""

from __future__ import annotations

from collections.abc import Callable

from core.platforms.twitch.helix import HelixClient


class HelixOnLoop:
    def __init__(self, make_client: Callable[[], HelixClient]) -> None:
        self._make_client = make_client
        self._client: HelixClient | None = None

    @property
    def client(self) -> HelixClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
