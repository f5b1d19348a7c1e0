"""The running Discord client, for the outbound ports that features call.

The runtime builds services (and the ports they talk through) before the bot exists, and the
bot may be off (no ``DISCORD_TOKEN``) or still connecting. Ports hold a :class:`DiscordGateway`
and ask it for the client each time they need one.
"""

from __future__ import annotations

import discord

from core.bus.base import NotReady


class DiscordUnavailable(NotReady):
    """The bot is configured but not connected yet; raise it so the bus delivers the event again
    later (waiting as long as it takes, without counting a failure) instead of losing the
    effect."""


class DiscordGateway:
    def __init__(self) -> None:
        self._client: discord.Client | None = None
        self.enabled = False  # True once a bot is attached: effects then wait for it

    def attach(self, client: discord.Client) -> None:
        self._client = client
        self.enabled = True

    def detach(self) -> None:
        self._client = None

    def client(self) -> discord.Client | None:
        """The connected client; None when Discord is off (the effect is skipped, with a log line).

        Raises :class:`DiscordUnavailable` while a configured bot is not connected and ready.
        """
        if not self.enabled:
            return None
        client = self._client
        if client is None or client.is_closed() or not client.is_ready():
            raise DiscordUnavailable("the Discord bot is not connected yet")
        return client
