"""The running Discord client, for the outbound ports that features call.

The runtime builds services (and the ports they talk through) before the bot exists, and the
bot may be off (no ``DISCORD_TOKEN``) or still connecting. Ports hold a :class:`DiscordGateway`
and ask it for the client each time they need one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import discord

from core.bus.base import NotReady


class DiscordUnavailable(NotReady):
    """The bot is configured but not connected yet; raise it so the bus delivers the event again
    later (waiting as long as it takes, without counting a failure) instead of losing the
    effect."""


@dataclass
class DiscordStatus:
    """Where the bot's connection to Discord stands, for ``/health`` and ``!health``."""

    state: str = "off"  # off, connecting, connected, reconnecting, retrying, refused
    since: datetime | None = None
    problem: str = ""  # the last error, in plain words (never the token)
    retry_in: float | None = None

    def set(self, state: str, problem: str = "", retry_in: float | None = None) -> None:
        if state != self.state:
            self.since = datetime.now(UTC)
        self.state, self.problem, self.retry_in = state, problem, retry_in

    @property
    def is_connected(self) -> bool:
        return self.state == "connected"

    def describe(self) -> str:
        since = "" if self.since is None else f" since {self.since:%Y-%m-%d %H:%M:%S} UTC"
        words = {
            "connecting": "connecting",
            "connected": "connected",
            "reconnecting": "connection lost, reconnecting",
            "retrying": "unreachable, trying again",
            "refused": "refused the bot",
            "off": "not running",
        }.get(self.state, self.state)
        detail = f": {self.problem}" if self.problem else ""
        return f"Discord {words}{since}{detail}"


class DiscordGateway:
    def __init__(self) -> None:
        self._client: discord.Client | None = None
        self.enabled = False  # True once a bot is attached: effects then wait for it
        self.status = DiscordStatus()

    def attach(self, client: discord.Client) -> None:
        self._client = client
        self.enabled = True

    def detach(self) -> None:
        self._client = None

    def guild_name(self, guild_id: int) -> str | None:
        """The guild's name in the bot's cache; None when no bot is connected or it is not
        there. Never raises and never waits: log lines ask it (``core/logs.py``)."""
        client = self._client
        guild = None if client is None else client.get_guild(guild_id)
        return None if guild is None else guild.name

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

    def client_for(self, guild_id: int) -> discord.Client | None:
        """:meth:`client`, for an effect in ``guild_id``: also :class:`DiscordUnavailable` while
        Discord has that server unavailable (an outage: the bot then knows none of its channels,
        roles or members, and an effect that looked them up would find nothing and be lost)."""
        client = self.client()
        guild = None if client is None else client.get_guild(guild_id)
        if guild is not None and guild.unavailable:
            raise DiscordUnavailable(f"Discord has server {guild_id} unavailable (an outage)")
        return client
