"""What ``!kick setup`` and ``!twitch setup`` share: the refusal, the result and the signed,
single-use link with which the streamer connects the guild's channel.

:class:`ChannelSetup` is the base of ``KickSetup`` and ``TwitchSetup``, which set the attributes
it declares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.events import utc
from core.features.connections.round_trip import RoundTrip
from core.features.guilds.repository import TrackedChannel
from core.features.refusals import Refused
from core.security.links import new_claims, signed_link


class SetupFailed(Refused):
    """Setup, sync or disconnect could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class SetupResult:
    channel: TrackedChannel
    connect_link: str


class ChannelSetup:
    connections: RoundTrip
    link_secret: str
    public_base_url: str
    clock: Callable[[], datetime]
    link_lifetime: timedelta

    def connect_link(self, guild_id: int, admin_id: int) -> str:
        """A signed, single-use link (for ``link_lifetime``) to the platform's consent for the
        guild's channel."""
        flow = self.connections
        claims = new_claims(
            flow.STREAMER_PURPOSE, admin_id, guild_id, utc(self.clock()), self.link_lifetime
        )
        path = f"/auth/{flow.PLATFORM.value}/streamer"
        return signed_link(self.public_base_url, path, self.link_secret, claims)
