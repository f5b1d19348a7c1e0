"""What ``!kick setup`` and ``!twitch setup`` share: the refusal, the result and the signed,
single-use link with which the streamer connects the guild's channel.

:class:`ChannelSetup` is the base of ``KickSetup`` and ``TwitchSetup``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.events import utc
from core.features.connections.round_trip import RoundTrip
from core.features.guilds.repository import TrackedChannel
from core.features.guilds.service import GuildService
from core.features.refusals import Refused
from core.security.links import LINK_LIFETIME, new_claims, signed_link


class SetupFailed(Refused):
    """Setup, sync or disconnect could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class SetupResult:
    channel: TrackedChannel
    connect_link: str


@dataclass(frozen=True)
class ConnectLinks:
    """What makes the connect links: the secret that signs them, the public address they point
    at, the clock they are dated by and how long each holds."""

    secret: str = field(repr=False)  # never in a log line or a traceback's locals
    public_base_url: str
    clock: Callable[[], datetime]
    lifetime: timedelta = LINK_LIFETIME


@dataclass(eq=False, kw_only=True)
class ChannelSetup:
    """A platform's setup service, made of its dependencies (each subclass adds its own);
    ``client_configured`` says whether this bot has the platform's app (client id and secret)."""

    guilds: GuildService
    connections: RoundTrip
    links: ConnectLinks
    client_configured: bool

    def connect_link(self, guild_id: int, admin_id: int) -> str:
        """A signed, single-use link (for the links' ``lifetime``) to the platform's consent for
        the guild's channel."""
        flow, links = self.connections, self.links
        claims = new_claims(
            flow.STREAMER_PURPOSE, admin_id, guild_id, utc(links.clock()), links.lifetime
        )
        path = f"/auth/{flow.PLATFORM.value}/streamer"
        return signed_link(links.public_base_url, path, links.secret, claims)
