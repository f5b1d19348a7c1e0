"""The slot call blacklist: viewers whose calls are kept out, silently (the request's check is
``repository.is_blacklisted``). An entry holds the account's id when a viewer by that name has
chatted (or called a slot) in this server, so a rename does not get them off the list;
otherwise the name, for both platforms, until its viewer calls a slot by it and the entry takes
their account (``repository.bind_blacklisted_name``). A name may be listed before its viewer was
ever seen here (a troll known from elsewhere); one known only in another server is such a name:
its account there is not bound, as that would tell the server the name exists elsewhere and
keep out another server's viewer, nor does it make this server's viewer ambiguous."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, utc
from core.features.chat_commands.text import clean_text
from core.features.slot_calls import repository
from core.features.slot_calls.errors import InvalidSetting
from core.features.slot_calls.names import blacklist_name, username_key
from core.features.slot_calls.repository import BlacklistEntry
from core.features.slot_calls.tables import slot_calls
from core.features.viewers.in_guild import CHATTED, ids_seen_in
from core.features.viewers.repository import find_viewer_ids_by_username
from core.features.viewers.search import MAX_NAME, NameQuery, name_query, on_both_platforms

MAX_REASON = 200
# The viewers of a server a blacklisted name binds to: who chatted, watched or called a slot.
SLOT_CALL_VIEWERS = (*CHATTED, slot_calls)


def blacklist_reason(text: str | None) -> str | None:
    """A blacklist entry's reason as kept (clean; None for none), refused when longer than
    :data:`MAX_REASON`, so that what is kept is what was typed."""
    reason = clean_text(text or "")
    if len(reason) > MAX_REASON:
        raise InvalidSetting(f"Keep the reason under {MAX_REASON} characters.")
    return reason or None


class SlotCallBlacklist:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def add(self, guild_id: int, typed: str, *, added_by: int, reason: str | None = None) -> bool:
        """Keep this viewer's calls out (silently); True when they were not on the list.

        ``typed`` is a Kick or Twitch name (``kick:name`` / ``twitch:name`` for one platform).
        A name seen on one platform is that platform's viewer; one seen on both must say which;
        one not seen yet is kept for both, until its viewer shows up.
        """
        query = _named(typed, "to blacklist")
        reason = blacklist_reason(reason)
        with self.engine.begin() as conn:
            added = [
                repository.add_to_blacklist(
                    conn,
                    guild_id,
                    BlacklistEntry(
                        platform=platform,
                        platform_user_id=ids[0] if len(ids) == 1 else None,
                        username=query.name,
                        reason=reason,
                        added_by=added_by,
                        added_at=utc(self.clock()),
                    ),
                    username_key(query.name),
                )
                for platform, ids in _blacklisted_accounts(conn, guild_id, query)
            ]
        return any(added)

    def remove(self, guild_id: int, typed: str) -> bool:
        """True when a viewer by that name (now or when listed) came off the list, on the
        platform ``kick:`` or ``twitch:`` names, else on either. Raises InvalidSetting when
        ``typed`` names no viewer (blank, ``kick:``, longer than a name). The accounts called so
        are looked up among every server's viewers: only this server's entries can come off, and
        one may hold an account bound before it was seen here."""
        query = _named(typed, "to take off the blacklist")
        removed = 0
        with self.engine.begin() as conn:
            for platform in query.platforms:
                ids = find_viewer_ids_by_username(conn, platform, query.name)
                removed += repository.remove_from_blacklist(
                    conn, guild_id, platform, username_key(query.name), ids
                )
        return removed > 0

    def entries(self, guild_id: int) -> list[BlacklistEntry]:
        with self.engine.connect() as conn:
            return repository.list_blacklist(conn, guild_id)


def _named(typed: str, doing: str) -> NameQuery:
    """The viewer ``typed`` names; InvalidSetting saying what a name is when it names none."""
    query = name_query(blacklist_name(typed))
    if query is None:
        raise InvalidSetting(
            f"Name the viewer {doing}: a Kick or Twitch name of up to {MAX_NAME} characters."
        )
    return query


def _blacklisted_accounts(
    conn: Connection, guild_id: int, query: NameQuery
) -> list[tuple[Platform, list[str]]]:
    """The platforms (and the accounts on each called so, seen in this server) a blacklisted
    name stands for."""
    seen = [
        (platform, ids)
        for platform in query.platforms
        if (ids := ids_seen_in(conn, guild_id, platform, query.name, SLOT_CALL_VIEWERS))
    ]
    if len(seen) > 1:
        raise InvalidSetting(on_both_platforms(query.name))
    return seen or [(platform, []) for platform in query.platforms]
