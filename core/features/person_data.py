"""Everything StreamKeeper keeps about one person, for the operator who answers their request
(``python -m core privacy export``): the privacy page tells people to write to the operator
for a copy of all of it.

A person is a Discord member (their id) and their Kick and Twitch accounts: the ones they link
now, the ones they linked before (the link history), the ones a forget of theirs still to finish
recorded (core/features/privacy/tables.py), and any the operator names (a viewer who never
linked: ``kick:name``). Every table is searched, found by its columns, so a feature's new
table is searched without being listed here:

- a Discord id column (:data:`DISCORD_ID_COLUMNS`, and ``user_id`` where it is one:
  :data:`DISCORD_USER_ID_TABLES`) matches the member, as a viewer or as the admin who acted;
- ``platform`` with ``platform_user_id`` matches their accounts;
- a few names match what the person is known by elsewhere (:data:`NAME_COLUMNS`: in a table
  with accounts, only its rows without one), the names the operator typed among them;
- an event the bus has not delivered (waiting, or set aside as dead: :data:`EVENT_TABLES`)
  matches when the event names one of their accounts (a Kick name where the source gave no id)
  or their Discord id: its JSON payload is decoded as the bus decodes it, so a chat line
  that only quotes a name does not match. Delivered events are left to their pruning (7 days).
- a call in the outbox matches when it names them: its payload (their login, account, Discord
  id, an event naming them) or its words (core/features/privacy/outbox_calls.py).

Secret columns (tokens, keys, verifiers: :data:`SECRET`) are never written out. Nothing here
changes anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import event_from_dict
from core.features.privacy.outbox_calls import (
    OUTBOX_TABLES,
    RECORDED,
    call_matches,
    names_event,
)
from core.features.schema import all_tables
from core.features.viewers.search import NameQuery, name_query

DISCORD_ID_COLUMNS = frozenset(
    {
        "discord_user_id",
        "actor_id",
        "added_by",
        "closed_by",
        "connected_by",
        "created_by",
        "excluded_by",
        "forced_by",
        "requested_by",
        "verified_by",
        "voided_by",
    }
)
DISCORD_USER_ID_TABLES = frozenset({"directory_members", "web_sessions"})
# table -> (column, what the person is known by there, what comes before the name there)
NAME_COLUMNS = {
    "shuffle_wager_totals": ("username", "shuffle", ""),  # their Shuffle name (shuffle_links)
    "shuffle_wager_progress": ("account_key", "shuffle", ""),  # the same name, case-folded
    "points_se_holds": ("username", "twitch", ""),  # StreamElements keys points by Twitch login
    # the other bot's watchtime row already imported, by its Kick name (importers/kwb_writes.py)
    "import_markers": ("source_ref", "kick", "watchtime:"),
    # a raffle winner of the other bot whose Kick name was not resolved (importers/kwb_writes.py)
    "imported_winners": ("username", "kick", ""),
}
# Tables of queued events, found by what their JSON payload names (:func:`_event_matches`).
EVENT_TABLES = frozenset({"bus_events"})
SECRET = re.compile(r"token|secret|jwt|verifier|nonce|cipher|password|_hash$|^state$")


@dataclass(frozen=True)
class Person:
    discord_user_id: int | None
    accounts: frozenset[tuple[str, str]]  # (platform, platform_user_id)
    names: dict[str, frozenset[str]]  # "shuffle" / "twitch" / "kick" -> lowercased names
    # Outbox calls about them a forget of theirs kept for now and recorded (outbox_calls.py).
    calls: frozenset[int] = frozenset()


def find_person(
    conn: Connection, discord_user_id: int | None, named: Iterable[NameQuery] = ()
) -> Person:
    """The member and every account that is theirs: linked now or before, recorded by a forget
    still to finish (their links are gone, some rows are kept for now), or named. An account
    they only tried to link (refused: it was someone else's), one linked now to another
    member, or one another member linked after them (and unlinked since), is not theirs: its
    rows are that member's."""
    tables = all_tables().tables
    accounts: set[tuple[str, str]] = set()
    calls: set[int] = set()
    if discord_user_id is not None:
        links, history = tables["account_links"], tables["link_history"]
        linked = sa.select(links.c.platform, links.c.platform_user_id).where(
            links.c.discord_user_id == discord_user_id
        )
        were = sa.select(history.c.platform, history.c.platform_user_id).where(
            history.c.discord_user_id == discord_user_id, history.c.action != "refused"
        )
        pending = tables["privacy_forgets_to_finish"]
        recorded = sa.select(pending.c.platform, pending.c.platform_user_id).where(
            pending.c.discord_user_id == discord_user_id, pending.c.platform.is_not(None)
        )
        linked_now = {(str(p), str(u)) for p, u in conn.execute(linked)}
        accounts.update((str(p), str(u)) for p, u in conn.execute(were))
        for p, u in conn.execute(recorded):
            if p == RECORDED:
                calls.add(int(u))
            else:
                accounts.add((str(p), str(u)))
        accounts -= linked_now
        if accounts:
            others = sa.select(links.c.platform, links.c.platform_user_id).where(
                account_match(links, frozenset(accounts)),
                links.c.discord_user_id != discord_user_id,
            )
            accounts -= {(str(p), str(u)) for p, u in conn.execute(others)}
            accounts -= _linked_by_others_since(conn, discord_user_id, frozenset(accounts))
        accounts |= linked_now
    viewers = tables["viewers"]
    known: dict[str, set[str]] = {"twitch": set(), "kick": set()}
    for query in named:
        for platform in query.platforms:
            # The name is theirs even where no viewer row holds it (a winner imported by name).
            known.setdefault(str(platform), set()).add(query.name.lower())
            found = sa.select(viewers.c.platform_user_id).where(
                viewers.c.platform == str(platform),
                sa.func.lower(viewers.c.username) == query.name.lower(),
            )
            accounts.update((str(platform), str(u)) for u in conn.execute(found).scalars())
    shuffle: set[str] = set()
    if discord_user_id is not None:
        links = tables["shuffle_links"]
        query = sa.select(links.c.username).where(links.c.discord_user_id == discord_user_id)
        shuffle = {str(name).lower() for name in conn.execute(query).scalars()}
    if accounts:
        query = sa.select(viewers.c.platform, viewers.c.username).where(
            account_match(viewers, frozenset(accounts))
        )
        for platform, name in conn.execute(query):
            known.setdefault(str(platform), set()).add(str(name).lower())
    names = {
        "shuffle": frozenset(shuffle),
        "twitch": frozenset(known["twitch"]),
        "kick": frozenset(known["kick"]),
    }
    return Person(discord_user_id, frozenset(accounts), names, frozenset(calls))


def _linked_by_others_since(
    conn: Connection, discord_user_id: int, accounts: frozenset[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Of ``accounts``, those whose latest link (in any guild's history) another member made:
    the account went on to them, with what it gathered since."""
    if not accounts:
        return set()
    history = all_tables().tables["link_history"]
    query = (
        sa.select(history.c.platform, history.c.platform_user_id, history.c.discord_user_id)
        .where(history.c.action == "linked", account_match(history, accounts))
        .order_by(history.c.id)
    )
    last_linker = {(str(p), str(u)): member for p, u, member in conn.execute(query)}
    return {account for account, member in last_linker.items() if member != discord_user_id}


def person_rows(conn: Connection, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows about ``person`` (tables with none left out), secrets left out of
    every row, oldest row first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, table in sorted(all_tables().tables.items()):
        matches = [
            *_matches(name, table, person),
            *_event_matches(conn, name, table, person, DISCORD_ID_COLUMNS),
            *call_matches(conn, name, table, person, DISCORD_ID_COLUMNS),
        ]
        if not matches:
            continue
        shown = [c for c in table.columns if not SECRET.search(c.name)]
        order = list(table.primary_key.columns) or shown[:1]
        query = sa.select(*shown).where(sa.or_(*matches)).order_by(*order)
        rows = [{k: _plain(v) for k, v in row._mapping.items()} for row in conn.execute(query)]
        if rows:
            found[name] = rows
    return found


def matched_columns(name: str, table: sa.Table) -> list[str]:
    """The columns of ``table`` a person is looked for in (for the test that keeps every
    person-like column covered)."""
    matched = _id_columns(name, table, DISCORD_ID_COLUMNS)
    if _has_accounts(table):
        matched.append("platform_user_id")
    if name in NAME_COLUMNS:
        matched.append(NAME_COLUMNS[name][0])
    if name in EVENT_TABLES or name in OUTBOX_TABLES:
        matched.append("payload")
    return matched


def subject_matches(conn: Connection, name: str, table: sa.Table, person: Person) -> list[Any]:
    """The conditions on ``table`` for rows *about* the person: their Discord id as the member
    a row is about (not as the admin who acted), one of their accounts, the name they are
    known by there (:data:`NAME_COLUMNS`: a StreamElements hold by their Twitch login), or an
    undelivered event naming them. Which of those rows may go is the caller's to say
    (``person_forget.FORGET``: an import marker matches by name too, and is kept)."""
    return [
        *_id_matches(name, table, person, frozenset({"discord_user_id"})),
        *_account_matches(table, person),
        *_name_matches(name, table, person),
        *_marker_matches(name, table, person),
        *_event_matches(conn, name, table, person, frozenset({"discord_user_id"})),
        *call_matches(conn, name, table, person, frozenset({"discord_user_id"})),
    ]


def _matches(name: str, table: sa.Table, person: Person) -> list[Any]:
    """The conditions on ``table`` for rows naming the person in any way."""
    return [
        *_id_matches(name, table, person, DISCORD_ID_COLUMNS),
        *_account_matches(table, person),
        *_name_matches(name, table, person),
        *_marker_matches(name, table, person),
    ]


def _marker_matches(name: str, table: sa.Table, person: Person) -> list[Any]:
    """A marker a forget left of an imported row of theirs by id (importers/forgotten.py): a
    link by their Discord id or Kick user id, a StreamElements balance by their Twitch user id."""
    if name != "import_markers":
        return []
    ref = table.c.source_ref
    refs = [f"links:kick:{user_id}" for platform, user_id in person.accounts if platform == "kick"]
    if person.discord_user_id is not None:
        refs.append(f"links:{person.discord_user_id}")
    found = [ref.in_(sorted(refs))] if refs else []
    found += [
        sa.and_(ref.startswith("streamelements:"), ref.endswith(f":id:{user_id}", autoescape=True))
        for platform, user_id in sorted(person.accounts)
        if platform == "twitch"
    ]
    return found


def _name_matches(name: str, table: sa.Table, person: Person) -> list[Any]:
    if name not in NAME_COLUMNS:
        return []
    column, known_as, before = NAME_COLUMNS[name]
    names = person.names.get(known_as, frozenset())
    if not names:
        return []
    written = sorted(before + known for known in names)
    by_name = sa.func.lower(table.c[column]).in_(written)
    if _has_accounts(table):  # a row with an account is found by it, whoever has the name now
        return [sa.and_(by_name, table.c.platform_user_id.is_(None))]
    return [by_name]


def _event_matches(
    conn: Connection, name: str, table: sa.Table, person: Person, columns: frozenset[str]
) -> list[Any]:
    """For a table of queued events: its rows not delivered yet (waiting or dead) whose event
    names one of the person's accounts, or has their Discord id in one of ``columns``' fields.
    A payload the bus cannot decode names nobody here (it was set aside as dead for that)."""
    if name not in EVENT_TABLES:
        return []
    found = []
    query = sa.select(table.c.id, table.c.payload).where(table.c.acked_at.is_(None))
    for row_id, payload in conn.execute(query.execution_options(yield_per=500)):
        try:
            event = event_from_dict(json.loads(payload))
        except ValueError:
            continue
        if names_event(event, person, columns):
            found.append(row_id)
    return [table.c.id.in_(found)] if found else []


def _id_columns(name: str, table: sa.Table, columns: frozenset[str]) -> list[str]:
    found = sorted(set(table.c.keys()) & columns)
    return [*found, "user_id"] if name in DISCORD_USER_ID_TABLES else found


def _id_matches(name: str, table: sa.Table, person: Person, columns: frozenset[str]) -> list[Any]:
    if person.discord_user_id is None:
        return []
    member, chosen = person.discord_user_id, _id_columns(name, table, columns)
    # A text column holding a Discord id among other ids (vip_audit.actor_id) is compared as
    # text: PostgreSQL has no varchar = bigint (SQLite compared them by its column affinity).
    return [
        table.c[column] == (str(member) if isinstance(table.c[column].type, sa.String) else member)
        for column in chosen
    ]


def _has_accounts(table: sa.Table) -> bool:
    return {"platform", "platform_user_id"} <= set(table.c.keys())


def _account_matches(table: sa.Table, person: Person) -> list[Any]:
    if not person.accounts or not _has_accounts(table):
        return []
    return [account_match(table, person.accounts)]


def account_match(table: sa.Table, accounts: frozenset[tuple[str, str]]) -> Any:
    return sa.or_(
        *(
            sa.and_(table.c.platform == platform, table.c.platform_user_id == user_id)
            for platform, user_id in sorted(accounts)
        )
    )


def _plain(value: Any) -> Any:
    """A value JSON can hold."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def named_accounts(texts: Iterable[str]) -> list[NameQuery]:
    """``kick:name`` / ``twitch:name`` / ``name`` as the operator typed them; ValueError names
    the one that is no viewer name. No Kick or Twitch name holds a colon: ``twich:ana`` is a
    mistyped platform, refused, never a search that finds nobody (``forget`` would then say
    nothing is kept about them)."""
    queries = []
    for text in texts:
        query = name_query(text)
        if query is None:
            raise ValueError(f"{text[:40]!r} is not a Kick or Twitch name")
        if ":" in query.name:
            prefix = query.name.partition(":")[0]
            raise ValueError(f"{prefix[:40]!r} is not a platform (kick:NAME or twitch:NAME)")
        queries.append(query)
    return queries
