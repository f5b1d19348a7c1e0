"""Whose StreamElements points a Kick or Twitch account spends.

StreamElements keeps a channel's points by Twitch login (shared/platforms/streamelements.md).
So a viewer's StreamElements name is a Twitch login: on Twitch their own, and on Kick the login
of the Twitch account linked to the same Discord member. A Kick username is never taken for a
login: a Kick account named like a Twitch viewer would otherwise stake, and lose, that viewer's
points.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.linking.tables import account_links
from core.features.points.service import PointsRefused

NO_TWITCH_LINKED = (
    "This server keeps its points on StreamElements, which knows viewers by their Twitch "
    "account: link yours in the server's Discord (!link twitch) to use them from Kick."
)


def kick_without_twitch(name: str) -> str:
    """The refusal for another viewer's Kick account that has no Twitch account linked."""
    return (
        f"StreamElements knows viewers by their Twitch account, and {name} on Kick has none "
        "linked here."
    )


class NoTwitchLinked(PointsRefused):
    """A Kick account whose Discord member has no Twitch account linked."""


def se_logins(conn: Connection, accounts: Sequence[tuple[Platform, str, str]]) -> list[str | None]:
    """Each ``(platform, platform_user_id, name)`` account's StreamElements name, in order: a
    Twitch account's linked login, else the name given; a Kick account's linked Twitch login,
    else None (its Kick name is never used)."""
    kick_ids = [user_id for platform, user_id, _ in accounts if platform is Platform.KICK]
    twitch_ids = [user_id for platform, user_id, _ in accounts if platform is Platform.TWITCH]
    of_kick = _twitch_logins_of_kick(conn, kick_ids) if kick_ids else {}
    of_twitch = _linked_twitch_logins(conn, twitch_ids) if twitch_ids else {}
    found: list[str | None] = []
    for platform, user_id, name in accounts:
        if platform is Platform.TWITCH:
            found.append(of_twitch.get(user_id) or name)
        else:
            found.append(of_kick.get(user_id))
    return found


def se_login(conn: Connection, platform: Platform, platform_user_id: str, name: str) -> str | None:
    """One account's StreamElements name (see :func:`se_logins`)."""
    return se_logins(conn, [(platform, platform_user_id, name)])[0]


def _twitch_logins_of_kick(conn: Connection, kick_ids: Sequence[str]) -> dict[str, str]:
    kick = account_links.alias("kick")
    twitch = account_links.alias("twitch")
    query = (
        sa.select(kick.c.platform_user_id, twitch.c.username)
        .join(twitch, twitch.c.discord_user_id == kick.c.discord_user_id)
        .where(
            kick.c.platform == str(Platform.KICK),
            twitch.c.platform == str(Platform.TWITCH),
            kick.c.platform_user_id.in_(sorted(set(kick_ids))),
        )
    )
    return {row.platform_user_id: row.username for row in conn.execute(query)}


def _linked_twitch_logins(conn: Connection, twitch_ids: Sequence[str]) -> dict[str, str]:
    # A Twitch link's name is the login Twitch confirmed at sign-in.
    links = account_links.c
    query = sa.select(links.platform_user_id, links.username).where(
        links.platform == str(Platform.TWITCH), links.platform_user_id.in_(sorted(set(twitch_ids)))
    )
    return {row.platform_user_id: row.username for row in conn.execute(query)}
