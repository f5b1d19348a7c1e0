"""Reading kick-watchtime-bot's PostgreSQL database (github.com/madcats1337/kick-watchtime-bot).

Its tables are keyed by Kick username and Discord server id (``discord_server_id``): the
multi-server schema its ``bot.py`` and ``raffle_system/database.py`` create, with
``watchtime_roles.discord_server_id`` (NULL: every server's default tiers) and, on newer
databases, ``links.platform``. Only what the import needs is read; nothing is written there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.importers import kwb_checks as checks
from core.features.importers.errors import ImportProblem
from core.features.importers.kwb_checks import (
    Aside,
    LinkRow,
    Problem,
    RoleRow,
    TicketRow,
    WatchRow,
    WinnerRow,
)
from core.features.importers.source_values import shown
from core.settings_urls import AT_IN_USERINFO, at_in_userinfo
from core.storage.db import normalize_url

SOURCE = "kick-watchtime-bot"

# What the import reads: table -> the columns it needs. A database without one of them is of
# another version (the single-server schema had no discord_server_id).
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "watchtime": ("username", "minutes", "last_active", "discord_server_id"),
    "links": ("discord_id", "kick_name", "discord_server_id", "linked_at"),
    "watchtime_roles": ("id", "role_name", "minutes_required", "enabled", "discord_server_id"),
    "raffle_periods": ("id", "discord_server_id", "start_date", "end_date", "status"),
    "raffle_tickets": (
        "id",
        "period_id",
        "discord_server_id",
        "discord_id",
        "kick_name",
        "total_tickets",
    ),
    "raffle_draws": (
        "id",
        "period_id",
        "discord_server_id",
        "winner_discord_id",
        "winner_kick_name",
        "prize_description",
        "drawn_at",
    ),
}
OPEN_STATUS = "active"  # the raffle's open period; "ended" and "archived" are closed


@dataclass
class ServerData:
    """One Discord server's rows in the other bot's database: every row of it is in exactly one
    of the typed lists, ``problems`` (left out, with the reason) or ``aside`` (not for import by
    design, counted by table and reason)."""

    server_id: int
    watchtime: list[WatchRow] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)
    roles: list[RoleRow] = field(default_factory=list)
    open_period_id: int | None = None
    open_periods: int = 0
    tickets: list[TicketRow] = field(default_factory=list)
    winners: list[WinnerRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    aside: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def other_links(self) -> int:
        """Links to other platforms (Twitch): not imported."""
        return self.aside.get(checks.LINKS, Counter())["other platforms"]

    def keep(self, checked: Any, rows: list[Any]) -> None:
        """A checked row into ``rows``, ``problems`` or ``aside``."""
        if isinstance(checked, Problem):
            self.problems.append(checked)
        elif isinstance(checked, Aside):
            self.aside.setdefault(checked.table, Counter())[checked.reason] += 1
        else:
            rows.append(checked)


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    """A read-only connection to the other bot's database; :class:`ImportProblem` when it
    cannot be reached or is not PostgreSQL. Messages never show the URL (it holds a password)."""
    normalized = normalize_url(url.strip())
    if at_in_userinfo(normalized):
        raise ImportProblem(f"--from has {AT_IN_USERINFO}.")
    if not normalized.startswith("postgresql+psycopg://"):
        raise ImportProblem(
            "--from takes the other bot's PostgreSQL URL (postgresql://user:password@host/db)."
        )
    try:
        engine = sa.create_engine(normalized, connect_args={"connect_timeout": 10})
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise ImportProblem("--from is not a database URL that can be read.") from exc
    try:
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            raise ImportProblem(
                "Could not connect to the kick-watchtime-bot database given by --from "
                f"({_reason(exc)})."
            ) from exc
        with conn:
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            yield conn
    finally:
        engine.dispose()


def _reason(exc: sa.exc.OperationalError) -> str:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
    # psycopg names host and user, never the password; keep it short all the same.
    return text[:160]


def check_schema(conn: Connection) -> None:
    """:class:`ImportProblem` unless every table and column the import reads is there."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    for table, columns in REQUIRED.items():
        if table not in tables:
            raise ImportProblem(
                f"This is not a kick-watchtime-bot database this importer knows: it has no "
                f"'{table}' table."
            )
        present = {column["name"] for column in inspector.get_columns(table)}
        missing = [column for column in columns if column not in present]
        if missing:
            raise ImportProblem(
                f"This kick-watchtime-bot database is of another version: '{table}' has no "
                f"{', '.join(repr(m) for m in missing)} (the importer reads the multi-server "
                "schema; start that bot's latest version once to migrate it)."
            )


def has_platform_column(conn: Connection) -> bool:
    return any(c["name"] == "platform" for c in sa.inspect(conn).get_columns("links"))


def server_ids(conn: Connection) -> list[int]:
    """Every Discord server with rows of its own, smallest id first."""
    query = sa.text("""
        SELECT discord_server_id FROM watchtime WHERE discord_server_id IS NOT NULL
        UNION SELECT discord_server_id FROM links WHERE discord_server_id IS NOT NULL
        UNION SELECT discord_server_id FROM watchtime_roles WHERE discord_server_id IS NOT NULL
        UNION SELECT discord_server_id FROM raffle_periods
        ORDER BY 1
    """)
    return [int(value) for value in conn.execute(query).scalars()]


def read_server(conn: Connection, server_id: int) -> ServerData:
    """Every row of the server's, each checked (:mod:`kwb_checks`): nothing is filtered out in
    SQL but other servers' rows. Timestamps are read as text (``::text``), so that a value the
    driver cannot load ('infinity', a year past 9999) is a problem row, not a failed read."""
    data = ServerData(server_id)
    params = {"server": server_id}
    seen_names: set[str] = set()
    for row in conn.execute(
        sa.text("""SELECT username, minutes, last_active::text AS last_active FROM watchtime
                   WHERE discord_server_id = :server ORDER BY username"""),
        params,
    ):
        checked = checks.watch_row(row.username, row.minutes, row.last_active)
        if isinstance(checked, WatchRow):
            if checked.username in seen_names:  # only when its primary key was dropped
                checked = Problem(
                    checks.WATCHTIME, f"{shown(checked.username)} is there twice; left out"
                )
            else:
                seen_names.add(checked.username)
        data.keep(checked, data.watchtime)
    platform = "platform" if has_platform_column(conn) else "'kick'"
    for row in conn.execute(
        sa.text(f"""SELECT discord_id, kick_name, linked_at::text AS linked_at,
                           {platform} AS platform
                    FROM links WHERE discord_server_id = :server
                    ORDER BY linked_at, discord_id"""),  # noqa: S608 - a fixed column
        params,
    ):
        checked = checks.link_row(row.discord_id, row.kick_name, row.linked_at, row.platform)
        data.keep(checked, data.links)
    _read_roles(conn, data)
    periods = {
        row.id: row
        for row in conn.execute(
            sa.text("""SELECT id, status, start_date::text AS start_date,
                              end_date::text AS end_date
                       FROM raffle_periods WHERE discord_server_id = :server ORDER BY id"""),
            params,
        )
    }
    open_ids = [id_ for id_, period in periods.items() if period.status == OPEN_STATUS]
    data.open_periods = len(open_ids)
    data.open_period_id = open_ids[-1] if open_ids else None
    tickets = list(
        conn.execute(
            sa.text("""SELECT id, period_id, discord_id, kick_name, total_tickets
                       FROM raffle_tickets WHERE discord_server_id = :server ORDER BY id"""),
            params,
        )
    )
    for row in tickets:
        if data.open_period_id is None or row.period_id != data.open_period_id:
            data.keep(Aside(checks.TICKETS, "other periods"), data.tickets)
            continue
        checked = checks.ticket_row(row.id, row.discord_id, row.kick_name, row.total_tickets)
        data.keep(checked, data.tickets)
    _read_winners(conn, data, periods, tickets)
    return data


def _read_roles(conn: Connection, data: ServerData) -> None:
    """The server's own tiers, or the default ones (no server) when it has none."""
    rows = list(
        conn.execute(
            sa.text("""SELECT id, role_name, minutes_required, enabled, discord_server_id
                       FROM watchtime_roles
                       WHERE discord_server_id = :server OR discord_server_id IS NULL
                       ORDER BY id"""),
            {"server": data.server_id},
        )
    )
    own = [row for row in rows if row.discord_server_id is not None]
    for row in own or rows:
        checked = checks.role_row(
            row.id, row.role_name, row.minutes_required, row.enabled, row.discord_server_id
        )
        data.keep(checked, data.roles)
    data.roles.sort(key=lambda role: (role.minutes_required, role.id))


def _read_winners(
    conn: Connection, data: ServerData, periods: Mapping[Any, Any], tickets: list[Any]
) -> None:
    """Draws of closed periods (or of periods gone), with the winner's tickets when kept."""
    kept: dict[Any, Any] = {}
    for row in tickets:
        with suppress(TypeError):  # an unhashable value (an array column): not kept
            kept[(row.period_id, row.discord_id)] = row.total_tickets
    for row in conn.execute(
        sa.text("""SELECT id, period_id, winner_discord_id, winner_kick_name,
                          prize_description, drawn_at::text AS drawn_at
                   FROM raffle_draws WHERE discord_server_id = :server ORDER BY id"""),
        {"server": data.server_id},
    ):
        period = _get(periods, row.period_id)
        if period is not None and period.status == OPEN_STATUS:
            data.keep(Aside(checks.WINNERS, "drawn in the open period"), data.winners)
            continue
        checked = checks.winner_row(
            row.id,
            row.winner_discord_id,
            row.winner_kick_name,
            row.prize_description,
            row.drawn_at,
            None if period is None else period.start_date,
            None if period is None else period.end_date,
            _get(kept, (row.period_id, row.winner_discord_id)),
        )
        data.keep(checked, data.winners)


def _get(mapping: Mapping[Any, Any], key: Any) -> Any:
    try:
        return mapping.get(key)
    except TypeError:  # an unhashable value (a list from an array column): not kept
        return None
