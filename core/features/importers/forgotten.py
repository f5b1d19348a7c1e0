"""What ``privacy forget`` leaves behind so that an import run again does not bring the person
back: a marker per source row of theirs that an import wrote, under the source's name with
``:forgotten`` after it (``kick-watchtime-bot:forgotten``, ``streamelements:forgotten``) in
``import_markers``. The importers skip a source row whose marker says so, and count it as
"skipped as forgotten".

Each marker holds the source row's key and nothing else: a watchtime row's Kick name (the
marker the import wrote already, moved), a raffle ticket row's or a raffle draw's id in the
other bot, an imported link's Discord id and Kick user id, an imported StreamElements balance's
reference (the channel and the Twitch user id). ``guild remove`` keeps them too (a server added
again and imported into again does not bring a forgotten person back).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.person_data import Person, account_match, subject_matches
from core.features.schema import all_tables
from core.ownership.exclusive import lock_key
from core.storage.db import insert_if_absent

KWB = "kick-watchtime-bot"  # importers/kwb_source.py SOURCE
SE = "streamelements"  # the prefix of an imported StreamElements balance's ledger reference
IMPORT = "import"  # the points and raffle ledgers' source for imported rows
SUFFIX = ":forgotten"


def forgotten_source(source: str) -> str:
    return f"{source}{SUFFIX}"


def is_forgotten(table: sa.Table) -> Any:
    """The markers of forgotten people's rows (``import_markers``)."""
    return table.c.source.endswith(SUFFIX)


def link_refs(discord_user_id: int, kick_user_id: str | None) -> list[str]:
    """A kick-watchtime-bot link's forgotten keys: by either side (forgetting one is enough)."""
    refs = [f"links:{discord_user_id}"]
    if kick_user_id is not None:
        refs.append(f"links:kick:{kick_user_id}")
    return refs


def hold_against_forgets(conn: Connection) -> None:
    """An import's writing transaction, before it reads the forgotten markers: a forget that
    is under way is waited for (its markers are read then), and a forget that comes meanwhile
    waits for the import (it then finds, deletes and marks what the import wrote). PostgreSQL's
    advisory lock, shared by imports; on SQLite every transaction holds the one writer lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(lock_key(_LOCK))))


def hold_against_imports(conn: Connection) -> None:
    """A forget's transaction, first: the same lock, held alone (see above)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(_LOCK))))


_LOCK = "imports-and-forgets"


def record(conn: Connection, person: Person, now: datetime) -> int:
    """Before the forget deletes the person's rows (same transaction): a forgotten marker for
    each of their rows an import wrote. The number of markers written or moved."""
    tables = all_tables().tables
    found: set[tuple[int, str, str]] = set()
    markers = tables["import_markers"]
    if about := subject_matches(conn, "import_markers", markers, person):
        rows = conn.execute(
            sa.select(markers.c.guild_id, markers.c.source, markers.c.source_ref).where(
                sa.or_(*about), sa.not_(is_forgotten(markers))
            )
        ).all()
        for guild_id, source, ref in rows:
            found.add((int(guild_id), forgotten_source(source), ref))
            _drop_marker(conn, int(guild_id), source, ref)
    if person.accounts:
        found |= _points(conn, person) | _tickets(conn, person)
    found |= _links(conn, person) | _winners(conn, person)
    for guild_id, source, ref in sorted(found):
        insert_if_absent(
            conn,
            markers,
            {"guild_id": guild_id, "source": source, "source_ref": ref[:255], "imported_at": now},
        )
    return len(found)


def _drop_marker(conn: Connection, guild_id: int, source: str, ref: str) -> None:
    markers = all_tables().tables["import_markers"]
    conn.execute(
        sa.delete(markers).where(
            markers.c.guild_id == guild_id,
            markers.c.source == source,
            markers.c.source_ref == ref,
        )
    )


def _points(conn: Connection, person: Person) -> set[tuple[int, str, str]]:
    ledger = all_tables().tables["points_ledger"]
    query = sa.select(ledger.c.guild_id, ledger.c.source_ref).where(
        account_match(ledger, person.accounts),
        ledger.c.source == IMPORT,
        ledger.c.source_ref.startswith(f"{SE}:", autoescape=True),
    )
    return {(int(g), forgotten_source(SE), str(ref)) for g, ref in conn.execute(query)}


def _tickets(conn: Connection, person: Person) -> set[tuple[int, str, str]]:
    """Ticket rows in an open period (the forget deletes those; a closed period's stay)."""
    tables = all_tables().tables
    ledger, periods = tables["raffle_ledger"], tables["raffle_periods"]
    still_open = sa.select(periods.c.id).where(periods.c.status.in_(("scheduled", "open")))
    query = sa.select(ledger.c.guild_id, ledger.c.source_ref).where(
        account_match(ledger, person.accounts),
        ledger.c.period_id.in_(still_open),
        ledger.c.source == IMPORT,
        ledger.c.source_ref.startswith(f"{KWB}:", autoescape=True),
    )
    found = set()
    for guild_id, ref in conn.execute(query):
        marker = str(ref).removeprefix(f"{KWB}:")
        _drop_marker(conn, int(guild_id), KWB, marker)
        found.add((int(guild_id), forgotten_source(KWB), marker))
    return found


def _links(conn: Connection, person: Person) -> set[tuple[int, str, str]]:
    """The links an import made (their history says "imported"). A link is one for every
    server, so it is marked in each guild imported into from that bot: another server's rows
    there must not link their account (or them) to someone again."""
    tables = all_tables().tables
    history, runs = tables["link_history"], tables["import_runs"]
    theirs = subject_matches(conn, "link_history", history, person)
    if not theirs:
        return set()
    query = sa.select(
        history.c.guild_id, history.c.discord_user_id, history.c.platform_user_id
    ).where(
        sa.or_(*theirs),
        history.c.action == "linked",
        history.c.reason == "imported",
        history.c.platform == "kick",
    )
    imported = conn.execute(query).all()
    if not imported:
        return set()
    guilds = {
        int(g)
        for g in conn.execute(sa.select(runs.c.guild_id).where(runs.c.source == KWB)).scalars()
    }
    guilds |= {int(guild_id) for guild_id, _, _ in imported}
    return {
        (guild_id, forgotten_source(KWB), ref)
        for _, member, user_id in imported
        for ref in link_refs(int(member), None if user_id is None else str(user_id))
        for guild_id in guilds
    }


def _winners(conn: Connection, person: Person) -> set[tuple[int, str, str]]:
    winners = all_tables().tables["imported_winners"]
    theirs = subject_matches(conn, "imported_winners", winners, person)
    if not theirs:
        return set()
    query = sa.select(winners.c.guild_id, winners.c.source, winners.c.source_ref).where(
        sa.or_(*theirs)
    )
    return {(int(g), forgotten_source(s), str(ref)) for g, s, ref in conn.execute(query)}
