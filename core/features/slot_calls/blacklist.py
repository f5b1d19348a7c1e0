"""The slot call blacklist: viewers whose calls are kept out, silently (the request's check is
``blacklist_rows.is_blacklisted``). An entry holds the account's id when a viewer by that name has
chatted (or called a slot) in this server, so a rename does not get them off the list;
otherwise the name, for both platforms, until its viewer calls a slot by it and the entry takes
their account (``blacklist_rows.bind_blacklisted_name``). A name may be listed before its viewer was
ever seen here (a troll known from elsewhere); one known only in another server is such a name:
its account there is not bound, as that would tell the server the name exists elsewhere and
keep out another server's viewer, nor does it make this server's viewer ambiguous."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, utc
from core.features.chat_commands.text import clean_text
from core.features.slot_calls import blacklist_rows, repository
from core.features.slot_calls.blacklist_rows import BlacklistEntry
from core.features.slot_calls.errors import InvalidSetting
from core.features.slot_calls.names import blacklist_name, username_key
from core.features.slot_calls.repository import SKIPPED
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


@dataclass(frozen=True)
class Blacklisted:
    is_new: bool  # False: the name was on the list already (its reason is updated)
    closed_calls: int  # their calls that were open: closed (skipped), so none is picked


def calls_closed(count: int) -> str:
    """What to add to "blacklisted" about their open calls (Discord and the dashboard alike)."""
    if count == 0:
        return ""
    calls = "call was" if count == 1 else "calls were"
    return f" Their {count} open slot {calls} closed, so none can be picked."


class SlotCallBlacklist:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def add(
        self, guild_id: int, typed: str, *, added_by: int, reason: str | None = None
    ) -> Blacklisted:
        """Keep this viewer's calls out (silently), and close the calls they have open.

        ``typed`` is a Kick or Twitch name (``kick:name`` / ``twitch:name`` for one platform).
        A name seen on one platform is that platform's viewer; one seen on both must say which;
        one not seen yet is kept for both, until its viewer shows up.
        """
        query = _named(typed, "to blacklist")
        reason = blacklist_reason(reason)
        now = utc(self.clock())
        closed = 0
        with self.engine.begin() as conn:
            accounts = _blacklisted_accounts(conn, guild_id, query)
            added = [
                blacklist_rows.add_to_blacklist(
                    conn,
                    guild_id,
                    BlacklistEntry(
                        platform=platform,
                        platform_user_id=ids[0] if len(ids) == 1 else None,
                        username=query.name,
                        reason=reason,
                        added_by=added_by,
                        added_at=now,
                    ),
                    username_key(query.name),
                )
                for platform, ids in accounts
            ]
            for platform, ids in accounts:
                callers = ids or _callers_named(conn, guild_id, platform, query.name)
                closed += repository.close_open_calls_of(
                    conn, guild_id, platform, callers, SKIPPED, now, added_by
                )
        return Blacklisted(any(added), closed)

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
                removed += blacklist_rows.remove_from_blacklist(
                    conn, guild_id, platform, username_key(query.name), ids
                )
        return removed > 0

    def entries(self, guild_id: int) -> list[BlacklistEntry]:
        with self.engine.connect() as conn:
            return blacklist_rows.list_blacklist(conn, guild_id)


def _named(typed: str, doing: str) -> NameQuery:
    """The viewer ``typed`` names; InvalidSetting saying what a name is when it names none."""
    query = name_query(blacklist_name(typed))
    if query is None:
        raise InvalidSetting(
            f"Name the viewer {doing}: a Kick or Twitch name of up to {MAX_NAME} characters."
        )
    return query


def _callers_named(conn: Connection, guild_id: int, platform: Platform, name: str) -> list[str]:
    """The viewers whose open calls were made under ``name`` (a name not known as anyone's
    here yet: the viewers' names are kept apart from the calls)."""
    key = username_key(name)
    callers = repository.open_callers(conn, guild_id, platform)
    return [user_id for user_id, called_as in callers if username_key(called_as) == key]


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
