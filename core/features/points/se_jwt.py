"""The channel id and JWT a streamer gives for the StreamElements backend (``!points backend
streamelements <channel id> <JWT>``): their shape, and whether StreamElements says the JWT is
that channel's (``GET /channels/me``). A JWT and a channel id copied from two accounts would
otherwise be taken, and every balance and payment refused ("refused the JWT") for hours."""

from __future__ import annotations

from typing import Protocol

from core.features.points.service import PointsRefused
from core.platforms.streamelements.api import (
    SeChannel,
    StreamElementsError,
    StreamElementsRefused,
    checked_channel_id,
)


class ChannelOfJwt(Protocol):
    async def channel_of(self, jwt: str) -> SeChannel: ...


def checked_account(channel_id: str, jwt: str) -> tuple[str, str]:
    """The channel id and JWT as stored; :class:`PointsRefused` saying what is wrong."""
    try:
        channel = checked_channel_id(channel_id)
    except ValueError:
        raise PointsRefused(
            "A StreamElements channel id is the 24 hexadecimal characters shown in its "
            "dashboard (Account > Channels)."
        ) from None
    token = jwt.strip()
    if len(token) < 20 or any(ch.isspace() or not ch.isprintable() for ch in token):
        raise PointsRefused("That does not look like a StreamElements JWT.")
    return channel, token


async def jwt_refused(client: ChannelOfJwt, channel_id: str, jwt: str) -> str | None:
    """Why StreamElements says this JWT is not ``channel_id``'s, in words; None when it is, when
    it could not say (unreachable: every call checks the JWT again), or when the id or JWT is
    malformed (:func:`checked_account` says so)."""
    try:
        channel, token = checked_account(channel_id, jwt)
    except PointsRefused:
        return None
    try:
        found = await client.channel_of(token)
    except StreamElementsRefused as exc:
        if exc.status in (401, 403):
            return (
                "StreamElements refused that JWT (wrong, expired or for another channel); "
                "nothing was changed."
            )
        return None
    except StreamElementsError:
        return None
    if found.channel_id != channel:
        return (
            f"That JWT is StreamElements channel {found.channel_id}'s, not {channel}'s; "
            "nothing was changed. Copy both from the same account (Account > Channels)."
        )
    return None
