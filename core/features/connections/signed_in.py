"""What a sign-in round trip (``round_trip.py``) ends with: a streamer's connected channel, or
a viewer's identity as the platform confirmed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connected:
    """A streamer's channel, connected for the guild the start link named."""

    guild_id: int
    discord_user_id: int
    broadcaster_user_id: str
    username: str
    missing_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ViewerIdentity:
    """Whom the platform says signed in, for the member and guild the start link named."""

    guild_id: int
    discord_user_id: int
    platform_user_id: str
    username: str
