"""Whose StreamElements channel an import reads (``import streamelements-points``): the JWT
must be the named channel's, and the channel the guild's streamer's, as StreamElements says
(``GET /channels/me``: the Twitch account it belongs to) against the guild's Twitch channel.
A mistyped ``--guild``, or another streamer's channel and JWT, would credit that streamer's
viewers here. ``--unchecked`` imports without asking, as ``guild add --unchecked`` stores ids
as typed.

Every way the check can fail is an :class:`ImportProblem` whose message is one plain line.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.guilds.repository import list_channels_of_guild
from core.features.importers.errors import ImportProblem
from core.features.points.se_jwt import ChannelOfJwt
from core.platforms.streamelements.api import StreamElementsError

_UNCHECKED = "run again with --unchecked to import it all the same"


async def check_owner(
    client: ChannelOfJwt,
    guild_id: int,
    twitch_channels: list[tuple[str, str]],
    channel_id: str,
    jwt: str,
) -> None:
    """Raise :class:`ImportProblem` unless ``jwt`` is ``channel_id``'s and the channel belongs
    to one of the guild's ``twitch_channels`` (their login and user id)."""
    if not twitch_channels:
        raise ImportProblem(
            f"Guild {guild_id} has no Twitch channel to check StreamElements channel "
            f"{channel_id} against: add it (python -m core guild add), or {_UNCHECKED}."
        )
    try:
        found = await client.channel_of(jwt)
    except StreamElementsError as exc:
        raise ImportProblem(
            f"StreamElements could not say whose channel the JWT is ({exc.message}); nothing "
            f"was imported. Try again later, or {_UNCHECKED}."
        ) from None
    if found.channel_id != channel_id:
        raise ImportProblem(
            f"The JWT is StreamElements channel {found.channel_id}'s, not {channel_id}'s; "
            "nothing was imported. Give the JWT of the channel to import."
        )
    if found.provider == "twitch" and any(uid == found.provider_id for _, uid in twitch_channels):
        return
    login, user_id = twitch_channels[0]
    owner = (
        f"Twitch's {found.username or 'unknown'} (user id {found.provider_id or 'unknown'})"
        if found.provider == "twitch"
        else f"{found.username or 'an account'} on {found.provider or 'another platform'}"
    )
    raise ImportProblem(
        f"StreamElements channel {channel_id} is {owner}, not the streamer of guild "
        f"{guild_id} ({login}, user id {user_id}); nothing was imported. Check --guild, or "
        f"{_UNCHECKED}."
    )


def twitch_channels_of(conn: Connection, guild_id: int) -> list[tuple[str, str]]:
    """The guild's Twitch channels: (login, user id)."""
    return [
        (channel.channel_slug, channel.broadcaster_user_id)
        for channel in list_channels_of_guild(conn, guild_id)
        if channel.platform == Platform.TWITCH
    ]
