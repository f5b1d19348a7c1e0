"""What ``!kick setup`` and ``!twitch setup`` share: the refusal, the result and the signed,
single-use link with which the streamer connects the guild's channel.

:class:`ChannelSetup` is the base of ``KickSetup`` and ``TwitchSetup``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.events import utc
from core.features.connections.round_trip import RoundTrip
from core.features.connections.streamer_tokens import GivenBack
from core.features.guilds.repository import TrackedChannel
from core.features.guilds.service import GuildService
from core.features.refusals import Refused
from core.security.links import LINK_LIFETIME, new_claims, signed_link


class SetupFailed(Refused):
    """Setup, sync or disconnect could not be done; the message says why and what to do."""


class Unsubscribed(enum.Enum):
    """What became of a channel's event subscriptions when a server that is gone let it go."""

    DELETED = "deleted"  # the platform deleted them
    # Twitch: deleted although another server follows the channel, which is not connected as
    # its streamer: it got the channel's events through them, and gets none now.
    DELETED_WHILE_FOLLOWED = "deleted while followed"
    # Kept, as they deliver the channel's events to another server: on Kick one that follows the
    # channel; on Twitch one connected as its streamer (the upkeep keeps a channel's EventSub
    # subscriptions only while a server is, and they need that streamer's consent).
    SHARED = "shared"
    UNREACHABLE = "unreachable"  # the platform did not answer, or refused: they may remain


@dataclass(frozen=True)
class Replaced:
    """The streamer of the channel set up before, disconnected by a setup of another channel:
    their account's name and what the platform did with their tokens."""

    account: str
    given_back: GivenBack


@dataclass(frozen=True)
class SetupResult:
    channel: TrackedChannel
    connect_link: str
    replaced: Replaced | None = None  # a setup of another channel disconnected its streamer


def given_back_words(platform: str, given_back: GivenBack) -> str:
    """What became of a disconnected streamer's tokens, as a sentence for the admin. They are
    forgotten here whatever the platform did; where it did not take them back, the streamer is
    told where to finish the job."""
    if given_back is GivenBack.TAKEN_BACK:
        return f"The streamer's tokens were given back to {platform} and forgotten."
    what = {
        GivenBack.REFUSED: f"{platform} did not take the streamer's tokens back",
        GivenBack.UNREACHABLE: (
            f"{platform} could not be reached to take the streamer's tokens back"
        ),
        GivenBack.UNREADABLE: (
            "The streamer's tokens could not be given back (this bot's TOKEN_ENCRYPTION_KEY "
            "cannot read them)"
        ),
    }[given_back]
    return (
        f"{what}; they are forgotten here all the same, and the streamer may revoke the app in "
        f"their {platform} settings."
    )


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
