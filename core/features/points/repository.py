"""Moving points: ledger rows and the balances they move, in the caller's transaction.

Every row is unique by ``(guild_id, source, source_ref)``, so a retried credit or spend with the
same reference changes nothing. A spend moves the balance first, guarded by ``points >= amount``
in the same UPDATE: the balance row's lock orders concurrent spends of one viewer (on PostgreSQL
the second re-reads the row after the first commits; SQLite has one writer), so two processes
can never overspend, and a CHECK constraint would refuse it anyway. The statements are SQL text,
so SQLAlchemy caches their compiled form.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, utc
from core.features.points.tables import points_balances, points_ledger, points_settings
from core.storage.schema import UTCDateTime


@dataclass(frozen=True)
class PointsEntry:
    """One ledger row to write: ``amount`` > 0 is what to credit, or what to take in a spend."""

    guild_id: int
    platform: Platform
    platform_user_id: str
    amount: int
    source: str
    source_ref: str
    at: datetime
    actor_id: int | None = None
    actor: str | None = None
    reason: str = ""

    @property
    def key(self) -> tuple[int, str, str]:
        """What makes it unique in the ledger."""
        return (self.guild_id, self.source, self.source_ref[:255])

    def params(self, sign: int = 1) -> dict[str, object]:
        if self.amount <= 0:
            raise ValueError("a points entry moves a positive amount")
        if not 0 < len(self.source) <= 16:
            raise ValueError(f"bad points source {self.source!r}")
        return {
            "guild_id": self.guild_id,
            "platform": str(self.platform),
            "platform_user_id": self.platform_user_id,
            "amount": sign * self.amount,
            "source": self.source,
            "source_ref": self.source_ref[:255],
            "actor_id": self.actor_id,
            "actor": None if self.actor is None else self.actor[:100],
            "reason": self.reason[:200],
            "created_at": self.at,
        }


_TIME = sa.bindparam("created_at", type_=UTCDateTime())

_LEDGER = sa.text("""
INSERT INTO points_ledger (guild_id, platform, platform_user_id, amount, source, source_ref,
                           actor_id, actor, reason, created_at)
VALUES (:guild_id, :platform, :platform_user_id, :amount, :source, :source_ref,
        :actor_id, :actor, :reason, :created_at)
ON CONFLICT (guild_id, source, source_ref) DO NOTHING
RETURNING id
""").bindparams(_TIME)

_ADD = sa.text("""
INSERT INTO points_balances AS b (guild_id, platform, platform_user_id, points)
VALUES (:guild_id, :platform, :platform_user_id, :amount)
ON CONFLICT (guild_id, platform, platform_user_id)
DO UPDATE SET points = b.points + excluded.points
RETURNING points
""")

_TAKE = sa.text("""
UPDATE points_balances SET points = points - :amount
WHERE guild_id = :guild_id AND platform = :platform AND platform_user_id = :platform_user_id
  AND points >= :amount
RETURNING points
""")

_GIVE_BACK = sa.text("""
UPDATE points_balances SET points = points + :amount
WHERE guild_id = :guild_id AND platform = :platform AND platform_user_id = :platform_user_id
""")

_BALANCE = sa.text("""
SELECT points FROM points_balances
WHERE guild_id = :guild_id AND platform = :platform AND platform_user_id = :platform_user_id
""")


class NotEnough(Exception):
    """A spend asked for more than the balance; nothing was written."""

    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} is below {needed}")
        self.balance = balance
        self.needed = needed


def credit(conn: Connection, entry: PointsEntry) -> int | None:
    """Add ``entry.amount``; the new balance, or None (nothing changed) for a key already in
    the ledger."""
    params = entry.params()
    if conn.execute(_LEDGER, params).first() is None:
        return None
    return conn.execute(_ADD, params).scalar_one()


def spend(conn: Connection, entry: PointsEntry) -> int | None:
    """Take ``entry.amount``; the new balance, or None (nothing changed) when a row with this
    key was written before (a retry). Raises :class:`NotEnough` (nothing written) when the
    balance does not cover it."""
    params = entry.params()
    left = conn.execute(_TAKE, params).scalar_one_or_none()
    if left is None:
        raise NotEnough(
            balance_of(conn, entry.guild_id, entry.platform, entry.platform_user_id), entry.amount
        )
    if conn.execute(_LEDGER, entry.params(-1)).first() is None:
        conn.execute(_GIVE_BACK, params)
        return None
    return left


def written_change(conn: Connection, entry: PointsEntry) -> tuple[str, str, int] | None:
    """The platform, user id and signed amount of the ledger row with ``entry``'s key, or None
    (nothing written under that key yet)."""
    l = points_ledger.c  # noqa: E741
    guild_id, source, source_ref = entry.key
    query = sa.select(l.platform, l.platform_user_id, l.amount).where(
        l.guild_id == guild_id, l.source == source, l.source_ref == source_ref
    )
    row = conn.execute(query).first()
    return None if row is None else (row.platform, row.platform_user_id, row.amount)


def has_entry_like(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    platform_user_id: str,
    source: str,
    ref_prefix: str,
) -> bool:
    """Whether the viewer has a ledger row of ``source`` whose reference starts with
    ``ref_prefix`` (an import's rows, whatever the reference said after it)."""
    l = points_ledger.c  # noqa: E741
    query = sa.select(l.id).where(
        l.guild_id == guild_id,
        l.platform == str(platform),
        l.platform_user_id == platform_user_id,
        l.source == source,
        l.source_ref.startswith(ref_prefix, autoescape=True),
    )
    return conn.execute(query.limit(1)).first() is not None


def balance_of(conn: Connection, guild_id: int, platform: Platform, platform_user_id: str) -> int:
    params = {"guild_id": guild_id, "platform": str(platform), "platform_user_id": platform_user_id}
    return conn.execute(_BALANCE, params).scalar_one_or_none() or 0


def balances_of(
    conn: Connection, guild_id: int, platform: Platform, user_ids: Iterable[str]
) -> dict[str, int]:
    """Balances of these viewers (absent: never earned anything)."""
    wanted = list(dict.fromkeys(user_ids))
    b = points_balances.c
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            sa.select(b.platform_user_id, b.points).where(
                b.guild_id == guild_id,
                b.platform == str(platform),
                b.platform_user_id.in_(wanted[start : start + 500]),
            )
        )
        found.update(dict(rows.all()))  # type: ignore[arg-type]
    return found


def balances_of_accounts(
    conn: Connection, accounts: Sequence[tuple[str, str]]
) -> dict[tuple[int, str, str], int]:
    """(guild id, platform, user id) -> balance, of these viewers in every guild where they
    hold one."""
    if not accounts:
        return {}
    b = points_balances.c
    query = sa.select(b.guild_id, b.platform, b.platform_user_id, b.points).where(
        sa.tuple_(b.platform, b.platform_user_id).in_(list(accounts))
    )
    return {(row[0], row[1], row[2]): int(row[3]) for row in conn.execute(query)}


def names_of(conn: Connection, guild_ids: Sequence[int]) -> dict[int, str]:
    """The name these guilds gave their points (absent: none set)."""
    if not guild_ids:
        return {}
    s = points_settings.c
    query = sa.select(s.guild_id, s.name).where(s.guild_id.in_(list(guild_ids)))
    return {guild_id: name for guild_id, name in conn.execute(query) if name}


def save_name(conn: Connection, guild_id: int, name: str, now: datetime) -> None:
    """Give the guild's points ``name`` (its settings row made if it has none)."""
    s = points_settings.c
    changed = sa.update(points_settings).where(s.guild_id == guild_id)
    if not conn.execute(changed.values(name=name, updated_at=now)).rowcount:
        conn.execute(
            sa.insert(points_settings).values(guild_id=guild_id, name=name, updated_at=now)
        )


def ledger_of(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str, limit: int = 20
) -> list[sa.Row]:
    """The viewer's newest ledger rows first."""
    l = points_ledger.c  # noqa: E741
    return list(
        conn.execute(
            sa.select(l.amount, l.source, l.source_ref, l.actor_id, l.actor, l.reason, l.created_at)
            .where(
                l.guild_id == guild_id,
                l.platform == str(platform),
                l.platform_user_id == platform_user_id,
            )
            .order_by(l.id.desc())
            .limit(limit)
        )
    )


# Many credits at once (payouts, refunds, a tick's earnings): the rows travel as one JSON array;
# within the batch the first row with a key wins, as if they were credited one by one.
_MANY_POSTGRES = sa.text("""
WITH given AS (
    SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS r(
        n INTEGER, guild_id BIGINT, platform TEXT, platform_user_id TEXT, amount BIGINT,
        source TEXT, source_ref TEXT, actor_id BIGINT, actor TEXT, reason TEXT,
        created_at TIMESTAMPTZ)
),
added AS (
    INSERT INTO points_ledger (guild_id, platform, platform_user_id, amount, source, source_ref,
                               actor_id, actor, reason, created_at)
    SELECT guild_id, platform, platform_user_id, amount, source, source_ref, actor_id, actor,
           reason, created_at
    FROM given ORDER BY n
    ON CONFLICT (guild_id, source, source_ref) DO NOTHING
    RETURNING guild_id, platform, platform_user_id, amount, source, source_ref
),
moved AS (
    INSERT INTO points_balances AS b (guild_id, platform, platform_user_id, points)
    SELECT guild_id, platform, platform_user_id, sum(amount) FROM added
    GROUP BY guild_id, platform, platform_user_id
    ON CONFLICT (guild_id, platform, platform_user_id)
    DO UPDATE SET points = b.points + excluded.points
)
SELECT guild_id, source, source_ref FROM added
""")

_MANY_SQLITE = sa.text("""
INSERT INTO points_ledger (guild_id, platform, platform_user_id, amount, source, source_ref,
                           actor_id, actor, reason, created_at)
SELECT r.value ->> '$.guild_id', r.value ->> '$.platform', r.value ->> '$.platform_user_id',
       r.value ->> '$.amount', r.value ->> '$.source', r.value ->> '$.source_ref',
       r.value ->> '$.actor_id', r.value ->> '$.actor', r.value ->> '$.reason',
       r.value ->> '$.created_at'
FROM json_each(:rows) AS r
WHERE true
ORDER BY r.key
ON CONFLICT (guild_id, source, source_ref) DO NOTHING
RETURNING guild_id, platform, platform_user_id, amount, source, source_ref
""")

_ADD_MANY_SQLITE = sa.text("""
INSERT INTO points_balances AS b (guild_id, platform, platform_user_id, points)
VALUES (:guild_id, :platform, :platform_user_id, :amount)
ON CONFLICT (guild_id, platform, platform_user_id)
DO UPDATE SET points = b.points + excluded.points
""")


def credit_many(conn: Connection, entries: Sequence[PointsEntry]) -> set[tuple[int, str, str]]:
    """Credit many entries with one statement (two on SQLite); the keys actually written.
    Keys already in the ledger and repeats within ``entries`` are skipped; the balances move by
    exactly what was written."""
    if not entries:
        return set()
    sqlite = conn.dialect.name == "sqlite"
    rows = []
    for n, entry in enumerate(entries):
        params = entry.params()
        params["n"] = n
        params["created_at"] = sqlite_time(entry.at) if sqlite else utc(entry.at).isoformat()
        rows.append(params)
    payload = json.dumps(rows, ensure_ascii=False)
    if not sqlite:
        return {tuple(key) for key in conn.execute(_MANY_POSTGRES, {"rows": payload})}
    added = conn.execute(_MANY_SQLITE, {"rows": payload}).all()
    add_to_balances_sqlite(conn, added)
    return {(row.guild_id, row.source, row.source_ref) for row in added}


def add_to_balances_sqlite(conn: Connection, added: Iterable[sa.Row[Any]]) -> None:
    """Move each balance by the amounts of the ledger rows just ``added`` (each with
    ``guild_id``, ``platform``, ``platform_user_id`` and ``amount``): on SQLite a second
    statement, where PostgreSQL's one statement moves the balances as it inserts."""
    moved: dict[tuple[int, str, str], int] = {}
    for row in added:
        key = (row.guild_id, row.platform, row.platform_user_id)
        moved[key] = moved.get(key, 0) + row.amount
    if moved:
        conn.execute(
            _ADD_MANY_SQLITE,
            [
                {"guild_id": g, "platform": p, "platform_user_id": u, "amount": amount}
                for (g, p, u), amount in moved.items()
            ],
        )


def sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy stores for a UTC time on SQLite (naive, microseconds always)."""
    return utc(moment).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def earned_since(
    conn: Connection,
    guild_id: int,
    since: datetime,
    leaving_out: Sequence[tuple[str, str]] = (),
) -> int:
    """Points the guild's viewers earned from ``since`` on (every credit; spends do not count),
    but the credits ``leaving_out`` names: (source, the end of its reference; "" for all)."""
    p = points_ledger.c
    left_out = [
        sa.and_(p.source == source, p.source_ref.endswith(end, autoescape=True))
        for source, end in leaving_out
    ]
    total = conn.execute(
        sa.select(sa.func.sum(p.amount)).where(
            p.guild_id == guild_id,
            p.amount > 0,
            p.created_at >= since,
            *(sa.not_(clause) for clause in left_out),
        )
    ).scalar()
    return int(total or 0)
