"""Who holds a Kick or Twitch account: the words a member hears when the account they sign in
with is linked to someone else, and an admin's look-up of the holder by the account's name
(``!linkowner``), so that they can unlink it."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.linking import repository
from core.features.linking.repository import AccountLink
from core.features.refusals import Refused
from core.features.viewers.search import name_query


def named(engine: Engine, typed: str) -> list[AccountLink]:
    """The links of the accounts ``typed`` names (``kick:name``, ``twitch:name``, or a name on
    either platform), Kick first; :class:`Refused` when it names nobody."""
    query = name_query(typed)
    if query is None:
        raise Refused("Name a Kick or Twitch account: kick:name, twitch:name, or just the name.")
    with engine.connect() as conn:
        return repository.find_links_by_username(conn, query.platforms, query.name)


def taken_text(platform: Platform, username: str, *, held_here: bool) -> str:
    """Why a member cannot link ``username``: another Discord user holds it. Only that user
    can remove a link made in another server (``unlink``); one made here, an admin too."""
    who = "unlink it with !unlink from the Discord account that linked it"
    if held_here:
        return (
            f"The {platform.name.title()} account {username} is already linked to another "
            f"Discord user. If it is yours, {who}, or ask a server admin to unlink it, then "
            "link again."
        )
    return (
        f"The {platform.name.title()} account {username} is already linked to another Discord "
        f"user, in another server, so no admin here can unlink it. If it is yours, {who}, then "
        "link again."
    )
