"""The frozen ledger: what the close hashes and the draw reads, at any size.

The close streams the period's ledger into the snapshot hash (never the whole ledger in
memory) and freezes who may win; the draw reads one balance per participant, since a closed
period's balances are its ledger summed per participant (both move in one transaction, and a
closed period takes no more rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
import psycopg.sql
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.linking.repository import links_of_platform
from core.features.raffle.awards_repository import SOURCES
from core.features.raffle.draws import fairness
from core.features.raffle.draws.actors import PSEUDONYM, ActorPseudonyms
from core.features.raffle.ledger_repository import participants
from core.features.raffle.tables import raffle_balances, raffle_ledger
from core.storage.pg_copy import copy_out


def _json_text(column: str, common: Iterable[str]) -> str:
    """``to_json(column)`` as SQL, for a column that nearly always holds one of ``common``
    (plain lowercase words): those come as literals, the same text ``to_json`` gives, and
    anything else still goes through ``to_json``. The same bytes either way, for a fraction of
    PostgreSQL's work (``to_json`` looks the type up on every call)."""
    cases = []
    for value in common:
        if not re.fullmatch("[a-z_]+", value):
            raise ValueError(f"{value!r} is not a plain word")
        cases.append(f"WHEN '{value}' THEN '\"{value}\"'")
    return f"CASE {column} {' '.join(cases)} ELSE to_json({column})::text END"


# The snapshot's entry line (docs/raffle.md), built by PostgreSQL: its JSON escaping of text
# (``to_json``: \b \f \n \r \t \" \\ and \u00xx below 0x20, nothing else) is Python's with
# ``ensure_ascii=False``, so the line is the same bytes as ``fairness.entry_line`` makes
# (tests/features/raffle/test_draw_paths.py checks it), for a fraction of the Python work.
# ``{actor}`` is the actor's JSON text: the id itself (version 1), or a CASE of pseudonyms.
_SNAPSHOT_LINES_POSTGRES = f"""
SELECT concat('["entry",', id, ',', {_json_text("platform", Platform)}, ',',
              to_json(platform_user_id), ',', amount, ',', {_json_text("source", SOURCES)}, ',',
              to_json(source_ref), ',', {{actor}}, ',', to_json(reason),
              ',"', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
              '"]')
FROM raffle_ledger WHERE guild_id = %(guild_id)s AND period_id = %(period_id)s ORDER BY id
"""  # noqa: S608 (the only text put in is the constant words above and _actor_sql's)


def list_period_actors(conn: Connection, guild_id: int, period_id: int) -> list[int]:
    """The Discord ids of the admins who changed the period's tickets by hand, ascending."""
    l = raffle_ledger.c  # noqa: E741
    query = (
        sa.select(l.actor_id)
        .distinct()
        .where(l.guild_id == guild_id, l.period_id == period_id, l.actor_id.is_not(None))
    )
    return sorted(int(actor_id) for actor_id in conn.execute(query).scalars())


def _actor_sql(
    conn: Connection, guild_id: int, period_id: int, actors: ActorPseudonyms | None
) -> str:
    """The entry line's actor as SQL: the id as it is (no ``actors``), else each of the
    period's few admins' pseudonyms, computed here, as literals in a CASE. The close holds the
    period's row lock, so no row with another admin can come in between."""
    if actors is None:
        return "COALESCE(actor_id::text, 'null')"
    ids = list_period_actors(conn, guild_id, period_id)
    cases = []
    for actor_id, name in sorted(actors.mapping(ids).items()):
        if not PSEUDONYM.fullmatch(name):
            raise ValueError(f"{name!r} is not a pseudonym")
        cases.append(f"WHEN {actor_id} THEN '\"{name}\"'")
    if not cases:
        return "'null'"
    return f"CASE actor_id {' '.join(cases)} ELSE 'null' END"


def _lines_sql(
    conn: Connection, guild_id: int, period_id: int, actors: ActorPseudonyms | None
) -> str:
    return _SNAPSHOT_LINES_POSTGRES.replace(
        "{actor}", _actor_sql(conn, guild_id, period_id, actors)
    )


# Building the lines is most of a close's time, and the planner cannot see it (it costs a
# function call as next to nothing): with these, parallel workers build them when the server
# allows it (``max_parallel_workers_per_gather``, 2 by default), merged back in id order.
_PARALLEL_LINES = {"parallel_setup_cost": "0", "parallel_tuple_cost": "0"}


def iter_snapshot_text(
    conn: Connection,
    guild_id: int,
    period_id: int,
    batch: int = 20_000,
    actors: ActorPseudonyms | None = None,
) -> Iterator[bytes]:
    """PostgreSQL only: the period's snapshot entry lines, each ending in a newline, as UTF-8
    in ascending id order, streamed by ``COPY ... TO STDOUT`` and handed on ``batch`` rows at
    a time: bytes as they came, no row object nor Python string per row (``pg_copy``).
    ``actors``: name the admins by these pseudonyms (version 2), not by their ids."""
    params = {"guild_id": int(guild_id), "period_id": int(period_id)}
    # COPY's text format writes each line with its backslashes doubled (and would escape
    # control characters and tabs, which to_json's output never holds), one line per row.
    copy = "COPY (" + _lines_sql(conn, guild_id, period_id, actors) + ") TO STDOUT"
    query = psycopg.sql.SQL(copy.replace("%(", "{").replace(")s", "}"))
    statement = query.format(**{k: psycopg.sql.Literal(v) for k, v in params.items()})
    driver = conn.connection.driver_connection
    pending = b""
    chunks: list[memoryview] = []
    with driver.cursor() as cursor, _settings_for_now(cursor, _PARALLEL_LINES):
        for chunk in copy_out(driver, statement.as_bytes(driver)):  # a row each: batched
            chunks.append(chunk)
            if len(chunks) == batch:
                text, pending = _whole_lines(pending + b"".join(chunks))
                chunks = []
                yield text
    text, pending = _whole_lines(pending + b"".join(chunks))
    if text:
        yield text
    if pending:
        raise ValueError("the snapshot's COPY ended in the middle of a line")


@contextmanager
def _settings_for_now(cursor: psycopg.Cursor, settings: dict[str, str]) -> Iterator[None]:
    """Planner settings for the statements run inside, then back to what they were. Set for
    this transaction only, so a statement that fails inside leaves nothing behind either."""
    names = list(settings)
    before = cursor.execute(
        "SELECT " + ", ".join(f"current_setting('{name}')" for name in names)
    ).fetchone()
    change = "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in names)
    cursor.execute(change, [settings[name] for name in names])
    yield
    cursor.execute(change, list(before))


def _whole_lines(data: bytes) -> tuple[bytes, bytes]:
    """The complete lines of ``data`` unescaped (COPY's \\\\ is \\), and what follows them."""
    end = data.rfind(b"\n") + 1
    return data[:end].replace(b"\\\\", b"\\"), data[end:]


def iter_snapshot_lines(
    conn: Connection,
    guild_id: int,
    period_id: int,
    batch: int = 20_000,
    actors: ActorPseudonyms | None = None,
) -> Iterator[list[str]]:
    """The period's ledger as snapshot entry lines (without newlines) in ascending id order,
    ``batch`` at a time, never the whole ledger in memory. PostgreSQL builds the lines and
    streams them (psycopg's chunked rows, so it computes the next rows while these are
    hashed); SQLite rows are turned into lines here. ``actors`` as in
    :func:`iter_snapshot_text`."""
    if conn.dialect.name == "postgresql":
        lines_sql = _lines_sql(conn, guild_id, period_id, actors)
        params = {"guild_id": guild_id, "period_id": period_id}
        lines: list[str] = []
        # Chunked rows need libpq 17 (psycopg[binary] 3.3 bundles 18); else one row at a time.
        chunk = batch if psycopg.pq.version() >= 170000 else 1
        with conn.connection.driver_connection.cursor() as cursor:
            for (line,) in cursor.stream(lines_sql, params, size=chunk):
                lines.append(line)
                if len(lines) == batch:
                    yield lines
                    lines = []
        if lines:
            yield lines
        return
    l = raffle_ledger.c  # noqa: E741
    query = (
        sa.select(
            l.id,
            l.platform,
            l.platform_user_id,
            l.amount,
            l.source,
            l.source_ref,
            l.actor_id,
            l.reason,
            l.created_at,
        )
        .where(l.guild_id == guild_id, l.period_id == period_id)
        .order_by(l.id)
    )
    result = conn.execute(query, execution_options={"yield_per": batch})
    name = (lambda actor_id: actor_id) if actors is None else actors.name
    for rows in result.partitions():
        yield [
            fairness.entry_line((*row[:6], name(row[6]), row[7], fairness.format_time(row[8])))
            for row in rows
        ]


_TICKETS_POSTGRES = """
SELECT platform || ':' || platform_user_id, tickets FROM raffle_balances
WHERE guild_id = %(guild_id)s AND period_id = %(period_id)s AND tickets > 0
"""


def participant_tickets(conn: Connection, guild_id: int, period_id: int) -> dict[str, int]:
    """``"platform:user_id"`` -> tickets, for every positive balance of the period (a frozen
    period's balances are its ledger summed per participant). On PostgreSQL the rows come
    straight from the driver: a draw reads one per participant, and that is most of its time."""
    if conn.dialect.name == "postgresql":
        params = {"guild_id": guild_id, "period_id": period_id}
        with conn.connection.driver_connection.cursor() as cursor:
            return dict(cursor.execute(_TICKETS_POSTGRES, params).fetchall())
    b = raffle_balances.c
    query = sa.select(b.platform + ":" + b.platform_user_id, b.tickets).where(
        b.guild_id == guild_id, b.period_id == period_id, b.tickets > 0
    )
    return {key: int(tickets) for key, tickets in conn.execute(query)}


def eligible_conditions(
    guild_id: int, period_id: int, *, linked_only: bool
) -> tuple[sa.ColumnElement[bool], ...]:
    """The balances of who may win when the period closes: viewers not excluded who hold
    tickets (and, with ``linked_only``, are linked to a Discord member)."""
    conditions = participants(guild_id, period_id)
    if not linked_only:
        return conditions
    b = raffle_balances.c
    linked = sa.or_(
        *(
            sa.and_(
                b.platform == str(platform),
                b.platform_user_id.in_(sa.select(links_of_platform(platform).c.platform_user_id)),
            )
            for platform in Platform
        )
    )
    return (*conditions, linked)


def list_eligible_keys(
    conn: Connection, guild_id: int, period_id: int, *, linked_only: bool
) -> list[str]:
    """Who may win when the period closes, sorted: ``"platform:user_id"`` of the viewers not
    excluded who hold tickets (and, with ``linked_only``, are linked to a Discord member)."""
    b = raffle_balances.c
    query = sa.select(b.platform + ":" + b.platform_user_id).where(
        *eligible_conditions(guild_id, period_id, linked_only=linked_only)
    )
    return sorted(conn.execute(query).scalars())


def snapshot_digest(
    conn: Connection,
    guild_id: int,
    period_id: int,
    eligible: list[str],
    actors: ActorPseudonyms | None = None,
    fix: fairness.RoundFix | None = None,
) -> str:
    """The frozen ledger's hash (docs/raffle.md), hashed as the rows stream from the database:
    version 3 with ``fix`` in its header and the admins named by ``actors``' pseudonyms,
    version 2 without ``fix``, version 1 (their Discord ids) without ``actors``."""
    version = 1 if actors is None else 2 if fix is None else 3
    hasher = fairness.SnapshotHasher(guild_id, period_id, version, fix)
    if conn.dialect.name == "postgresql":
        texts = iter_snapshot_text(conn, guild_id, period_id, actors=actors)
        for text in texts:
            hasher.add_text(text)
        return hasher.finish(eligible)
    for lines in iter_snapshot_lines(conn, guild_id, period_id, actors=actors):
        hasher.add_lines(lines)
    return hasher.finish(eligible)
