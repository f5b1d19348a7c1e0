"""Whose StreamElements points a Kick or Twitch account spends.

StreamElements keeps a channel's points by Twitch login (shared/platforms/streamelements.md).
So a viewer's StreamElements name is a Twitch login: on Twitch their own, and on Kick the login
of the Twitch account linked to the same Discord member. A Kick username is never taken for a
login: a Kick account named like a Twitch viewer would otherwise stake, and lose, that viewer's
points.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.linking import repository as linking
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
    of_twitch = linking.find_links_by_accounts(conn, Platform.TWITCH, twitch_ids)
    of_kick = linking.find_links_by_accounts(conn, Platform.KICK, kick_ids)
    members = [link.discord_user_id for link in of_kick.values()]
    twitch_of_member = linking.find_links_by_discord_users(conn, Platform.TWITCH, members)
    found: list[str | None] = []
    for platform, user_id, name in accounts:
        if platform is Platform.TWITCH:
            twitch = of_twitch.get(user_id)
            found.append(twitch.username if twitch is not None else name)
            continue
        kick = of_kick.get(user_id)
        twitch = twitch_of_member.get(kick.discord_user_id) if kick is not None else None
        found.append(twitch.username if twitch is not None else None)
    return found
