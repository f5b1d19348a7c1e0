"""A kick-watchtime-bot database for tests: its own schema files (tests/fixtures/
kick_watchtime_bot/, see the README there) applied to a throwaway PostgreSQL database, filled
with rows like a real one's: duplicate and renamed names, links in two servers, a closed raffle
with a winner, and a half-used open period."""

# The other bot wrote naive UTC timestamps, and so do these rows.
# ruff: noqa: DTZ001

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from core.features.directory import repository as directory
from core.features.guilds.repository import ensure_guild
from core.features.raffle.periods import repository as periods_repository
from core.storage.db import normalize_url
from tests.conftest import FIXTURES

SCHEMA = FIXTURES / "kick_watchtime_bot"

SERVER_A = 111_111_111_111_111_111
SERVER_B = 222_222_222_222_222_222
SERVER_C = 333_333_333_333_333_333  # in the other bot only: no guild here

# Kick accounts the fake Kick knows: (user id, current name, channel slug)
ALICE = (5001, "Alice_W", "alice-w")
BOB = (5002, "bob", "bob")
CAROL = (5003, "CarolNew", "carolnew")  # was "carol_old" in the other bot's time
DAVE = (5004, "dave", "dave")
EVAN_NOW = (5005, "Evan2", "evan")  # the channel "evan" belongs to someone now called Evan2
ACCOUNTS = (ALICE, BOB, CAROL, DAVE, EVAN_NOW)

# Discord users
D_ALICE, D_BOB, D_GHOST, D_DAVE, D_CAROL, D_OTHER = 9001, 9002, 9003, 9004, 9005, 9006

# Discord roles as the bot saw them (the directory)
FAN, SUPERFAN, VIEWER, REGULAR = 7001, 7002, 7101, 7102

T0 = datetime(2026, 9, 1, 12, 0)  # the other bot wrote naive UTC


def build_schema(url: str) -> None:
    """Apply the fetched schema files in order, as that bot's start-up and migrations did."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            for path in sorted(SCHEMA.glob("*.sql")):
                conn.exec_driver_sql(_sql(path))
    finally:
        engine.dispose()


def _sql(path: Path) -> str:
    return path.read_text()


def fill(url: str) -> None:
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            _insert(conn, "watchtime",
                    ("username", "minutes", "last_active", "discord_server_id"), [
                ("Alice_W", 600, T0, SERVER_A),
                ("alice_w", 30, T0.replace(day=5), SERVER_A),  # the same account, other case
                ("bob", 120, T0, SERVER_A),
                ("carol_old", 300, T0, SERVER_A),  # renamed since: Kick knows no such name
                ("CarolNew", 45, T0, SERVER_A),
                ("ghost", 10, None, SERVER_A),  # no such account
                ("evan", 20, T0, SERVER_A),  # the slug is someone else's now
                ("bob", 50, T0, SERVER_B),
                ("dave", 70, T0, SERVER_B),
                ("bob", 999, T0, SERVER_C),
            ])  # fmt: skip
            _insert(conn, "links", ("discord_id", "kick_name", "discord_server_id", "linked_at"), [
                (D_ALICE, "Alice_W", SERVER_A, T0),
                (D_BOB, "bob", SERVER_A, T0),
                (D_GHOST, "ghost", SERVER_A, T0),
                (D_BOB, "bob", SERVER_B, T0),  # the same link in a second server
                (D_DAVE, "dave", SERVER_B, T0),
                (D_CAROL, "CarolNew", SERVER_B, T0),
                (D_OTHER, "Alice_W", SERVER_B, T0),  # alice is someone else's there
            ])  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO links (discord_id, kick_name, discord_server_id, platform)"
                " VALUES (:d, 'alice_on_twitch', :s, 'twitch')"), {"d": D_ALICE, "s": SERVER_A}
            )  # fmt: skip
            _insert(conn, "watchtime_roles",
                    ("role_name", "minutes_required", "display_order", "enabled",
                     "discord_server_id"), [
                ("Viewer", 60, 1, True, None),  # the defaults: servers without tiers of their own
                ("Regular", 600, 2, True, None),
                ("Fan", 120, 1, True, SERVER_A),
                ("Superfan", 1200, 2, False, SERVER_A),
                ("Missing Role", 5000, 3, True, SERVER_A),
            ])  # fmt: skip
            _insert(conn, "raffle_periods",
                    ("id", "discord_server_id", "start_date", "end_date", "status"), [
                (1, SERVER_A, datetime(2026, 8, 1), datetime(2026, 8, 31, 23, 59), "ended"),
                (2, SERVER_A, datetime(2026, 9, 1), datetime(2026, 9, 30, 23, 59), "active"),
                (3, SERVER_B, datetime(2026, 9, 1), datetime(2026, 9, 30, 23, 59), "active"),
            ])  # fmt: skip
            conn.exec_driver_sql("SELECT setval('raffle_periods_id_seq', 3)")
            _insert(conn, "raffle_tickets",
                    ("id", "period_id", "discord_server_id", "discord_id", "kick_name",
                     "watchtime_tickets", "bonus_tickets", "total_tickets"), [
                (1, 1, SERVER_A, D_ALICE, "Alice_W", 80, 0, 80),  # the closed period
                (2, 2, SERVER_A, D_ALICE, "Alice_W", 30, 10, 40),
                (3, 2, SERVER_A, D_BOB, "bob", 15, 0, 15),
                (4, 2, SERVER_A, D_GHOST, "ghost", 5, 0, 5),
                (5, 2, SERVER_A, D_CAROL, "CarolNew", 0, 0, 0),  # linked, no tickets yet
                (6, 3, SERVER_B, D_DAVE, "dave", 12, 0, 12),
            ])  # fmt: skip
            _insert(conn, "raffle_draws",
                    ("id", "period_id", "discord_server_id", "total_tickets",
                     "total_participants", "winner_discord_id", "winner_kick_name",
                     "winning_ticket", "prize_description", "drawn_at"), [
                (1, 1, SERVER_A, 80, 1, D_ALICE, "Alice_W", 17, "$50 gift card",
                 datetime(2026, 9, 1, 0, 5)),
            ])  # fmt: skip
    finally:
        engine.dispose()


def _insert(conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    names = ", ".join(columns)
    marks = ", ".join(f":{c}" for c in columns)
    statement = sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})")  # noqa: S608
    conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])


def prepare_target(
    engine: sa.Engine, now: datetime, *, open_period_in_a: bool = True
) -> int | None:
    """Guilds A and B with the roles the bot saw (below its own: it may give them), and an open
    raffle period in A."""
    with engine.begin() as conn:
        for guild_id, roles in (
            (SERVER_A, [(FAN, "Fan"), (SUPERFAN, "Superfan")]),
            (SERVER_B, [(VIEWER, "viewer"), (REGULAR, "Regular")]),
        ):
            ensure_guild(conn, guild_id, now)
            directory.replace_roles(
                conn, guild_id,
                [directory.Role(role_id, name, position, assignable=True)
                 for position, (role_id, name) in enumerate(roles, 1)],
            )  # fmt: skip
        if not open_period_in_a:
            return None
        return periods_repository.create_period(
            conn, guild_id=SERVER_A, starts_at=now, ends_at=now.replace(year=now.year + 1),
            status="open", seed="ab" * 32, commitment="cd" * 32, now=now,
        )  # fmt: skip


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)
