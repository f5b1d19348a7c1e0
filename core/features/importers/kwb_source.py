"""Reading kick-watchtime-bot's PostgreSQL database (github.com/madcats1337/kick-watchtime-bot).

Its tables are keyed by Kick username and Discord server id (``discord_server_id``): the
multi-server schema its ``bot.py`` and ``raffle_system/database.py`` create, with
``watchtime_roles.discord_server_id`` (NULL: every server's default tiers) and, on newer
databases, ``links.platform``. Only what the import needs is read; nothing is written there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.importers.errors import ImportProblem
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


@dataclass(frozen=True)
class WatchRow:
    username: str
    minutes: int
    last_active: datetime | None


@dataclass(frozen=True)
class LinkRow:
    discord_id: int
    kick_name: str
    linked_at: datetime | None


@dataclass(frozen=True)
class RoleRow:
    id: int
    role_name: str
    minutes_required: int
    enabled: bool
    is_default: bool  # a row of no server: every server's tiers unless it has its own


@dataclass(frozen=True)
class TicketRow:
    id: int
    discord_id: int
    kick_name: str
    tickets: int


@dataclass(frozen=True)
class WinnerRow:
    id: int
    discord_id: int
    kick_name: str
    prize: str
    drawn_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    period_tickets: int | None  # the winner's tickets in that period, when still kept


@dataclass
class ServerData:
    """One Discord server's rows in the other bot's database."""

    server_id: int
    watchtime: list[WatchRow] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)
    other_links: int = 0  # links to other platforms (Twitch): not imported
    roles: list[RoleRow] = field(default_factory=list)
    open_period_id: int | None = None
    open_periods: int = 0
    tickets: list[TicketRow] = field(default_factory=list)
    winners: list[WinnerRow] = field(default_factory=list)


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    """A read-only connection to the other bot's database; :class:`ImportProblem` when it
    cannot be reached or is not PostgreSQL. Messages never show the URL (it holds a password)."""
    normalized = normalize_url(url.strip())
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
    data = ServerData(server_id)
    params = {"server": server_id}
    data.watchtime = [
        WatchRow(row.username, int(row.minutes or 0), _utc(row.last_active))
        for row in conn.execute(
            sa.text("""SELECT username, minutes, last_active FROM watchtime
                       WHERE discord_server_id = :server AND username IS NOT NULL
                       ORDER BY username"""),
            params,
        )
    ]
    kick_only = " AND platform = 'kick'" if has_platform_column(conn) else ""
    data.links = [
        LinkRow(int(row.discord_id), row.kick_name, _utc(row.linked_at))
        for row in conn.execute(
            sa.text(f"""SELECT discord_id, kick_name, linked_at FROM links
                        WHERE discord_server_id = :server AND kick_name IS NOT NULL
                        AND discord_id IS NOT NULL{kick_only}
                        ORDER BY linked_at, discord_id"""),  # noqa: S608 - a fixed clause
            params,
        )
    ]
    if kick_only:
        data.other_links = int(
            conn.execute(
                sa.text("""SELECT count(*) FROM links
                           WHERE discord_server_id = :server AND platform <> 'kick'"""),
                params,
            ).scalar_one()
        )
    data.roles = _roles(conn, server_id)
    periods = conn.execute(
        sa.text("""SELECT id FROM raffle_periods
                   WHERE discord_server_id = :server AND status = :open ORDER BY id"""),
        {**params, "open": OPEN_STATUS},
    ).scalars()
    open_ids = [int(value) for value in periods]
    data.open_periods = len(open_ids)
    if open_ids:
        data.open_period_id = open_ids[-1]
        data.tickets = [
            TicketRow(int(row.id), int(row.discord_id), row.kick_name, int(row.total_tickets or 0))
            for row in conn.execute(
                sa.text("""SELECT id, discord_id, kick_name, total_tickets FROM raffle_tickets
                           WHERE period_id = :period AND discord_server_id = :server
                           ORDER BY id"""),
                {**params, "period": data.open_period_id},
            )
        ]
    data.winners = [
        WinnerRow(
            int(row.id),
            int(row.winner_discord_id),
            row.winner_kick_name,
            row.prize_description or "",
            _utc(row.drawn_at),
            _utc(row.start_date),
            _utc(row.end_date),
            None if row.tickets is None else int(row.tickets),
        )
        for row in conn.execute(
            sa.text("""SELECT d.id, d.winner_discord_id, d.winner_kick_name,
                              d.prize_description, d.drawn_at, p.start_date, p.end_date,
                              t.total_tickets AS tickets
                       FROM raffle_draws d
                       LEFT JOIN raffle_periods p ON p.id = d.period_id
                       LEFT JOIN raffle_tickets t
                         ON t.period_id = d.period_id AND t.discord_id = d.winner_discord_id
                       WHERE d.discord_server_id = :server
                         AND (p.status IS NULL OR p.status <> :open)
                       ORDER BY d.id"""),
            {**params, "open": OPEN_STATUS},
        )
    ]
    return data


def _roles(conn: Connection, server_id: int) -> list[RoleRow]:
    """The server's own tiers, or the default ones (no server) when it has none."""
    rows = list(
        conn.execute(
            sa.text("""SELECT id, role_name, minutes_required, enabled, discord_server_id
                       FROM watchtime_roles
                       WHERE discord_server_id = :server OR discord_server_id IS NULL
                       ORDER BY minutes_required, id"""),
            {"server": server_id},
        )
    )
    own = [row for row in rows if row.discord_server_id is not None]
    chosen = own or rows
    return [
        RoleRow(
            int(row.id),
            row.role_name,
            int(row.minutes_required),
            row.enabled is not False,
            row.discord_server_id is None,
        )
        for row in chosen
    ]


def _utc(value: datetime | None) -> datetime | None:
    """The other bot wrote naive UTC timestamps (``TIMESTAMP`` columns, ``CURRENT_TIMESTAMP``
    on a UTC server)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
