"""The heist's SQL: settings, heists and crews, in the caller's transaction.

At most one heist per guild and chat is open: ``open_key`` is unique and cleared when the heist
is resolved or cancelled, so two first joins at once open one heist. One join per viewer per
heist: ``(heist_id, platform_user_id)`` is unique. A heist leaves ``open`` only by a
compare-and-set on its state, in the transaction that pays or refunds, so that happens once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.heist.tables import heist_participants, heist_settings, heists
from core.features.live.changes import touch
from core.storage.schema import UTCDateTime

OPEN, RESOLVED, CANCELLED = "open", "resolved", "cancelled"


@dataclass(frozen=True)
class Heist:
    id: int
    guild_id: int
    platform: Platform
    broadcaster_user_id: str
    state: str
    opened_at: datetime
    closes_at: datetime
    resolved_at: datetime | None
    announced_at: datetime | None


@dataclass(frozen=True)
class Participant:
    id: int
    heist_id: int
    guild_id: int
    platform: Platform
    platform_user_id: str
    username: str
    stake: int
    risk: str
    joined_at: datetime
    has_sub_badge: bool
    tier: str | None
    tier_multiplier_x100: int | None
    chance_percent: int | None
    risk_multiplier_x100: int | None
    won: bool | None
    payout: int | None


def open_key(guild_id: int, platform: Platform) -> str:
    return f"{guild_id}:{platform}"


def _heist(row: sa.Row) -> Heist:
    values = row._asdict()
    values.pop("open_key", None)
    values["platform"] = Platform(values["platform"])
    return Heist(**values)


def _participant(row: sa.Row) -> Participant:
    values = row._asdict()
    values["platform"] = Platform(values["platform"])
    return Participant(**values)


# --- settings ------------------------------------------------------------------------------


def stored_settings(conn: Connection, guild_id: int) -> dict[str, str]:
    s = heist_settings.c
    rows = conn.execute(sa.select(s.name, s.value).where(s.guild_id == guild_id))
    return {row.name: row.value for row in rows}


def save_setting(conn: Connection, guild_id: int, name: str, value: str, at: datetime) -> None:
    s = heist_settings.c
    updated = conn.execute(
        sa.update(heist_settings)
        .where(s.guild_id == guild_id, s.name == name)
        .values(value=value, updated_at=at)
    ).rowcount
    if not updated:
        conn.execute(
            sa.insert(heist_settings).values(
                guild_id=guild_id, name=name, value=value, updated_at=at
            )
        )


# --- heists --------------------------------------------------------------------------------

_OPEN = sa.text("""
INSERT INTO heists (guild_id, platform, broadcaster_user_id, state, open_key, opened_at, closes_at)
VALUES (:guild_id, :platform, :broadcaster_user_id, 'open', :open_key, :opened_at, :closes_at)
ON CONFLICT (open_key) DO NOTHING
RETURNING id
""").bindparams(
    sa.bindparam("opened_at", type_=UTCDateTime()), sa.bindparam("closes_at", type_=UTCDateTime())
)


def open_heist(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    broadcaster_user_id: str,
    opened_at: datetime,
    closes_at: datetime,
) -> int | None:
    """A new open heist's id; None when the guild's chat has one open already."""
    touch(conn, guild_id, "heist")  # the heist overlay hears of it
    return conn.execute(
        _OPEN,
        {
            "guild_id": guild_id,
            "platform": str(platform),
            "broadcaster_user_id": broadcaster_user_id,
            "open_key": open_key(guild_id, platform),
            "opened_at": opened_at,
            "closes_at": closes_at,
        },
    ).scalar_one_or_none()


def open_heist_of(
    conn: Connection, guild_id: int, platform: Platform, *, lock: bool = False
) -> Heist | None:
    """The open heist of this guild's chat. ``lock`` holds its row until the transaction ends
    (PostgreSQL; SQLite's write transactions are serial anyway): a join does, so that the
    resolver's compare-and-set waits for a join under way and then counts it in the crew."""
    h = heists.c
    query = sa.select(heists).where(h.open_key == open_key(guild_id, platform))
    row = conn.execute(query.with_for_update() if lock else query).first()
    return _heist(row) if row is not None else None


def heist_by_id(conn: Connection, heist_id: int) -> Heist | None:
    row = conn.execute(sa.select(heists).where(heists.c.id == heist_id)).first()
    return _heist(row) if row is not None else None


def last_resolved_at(conn: Connection, guild_id: int, platform: Platform) -> datetime | None:
    """When the guild's chat last finished a heist (cancelled ones do not count)."""
    h = heists.c
    return conn.execute(
        sa.select(sa.func.max(h.resolved_at)).where(
            h.guild_id == guild_id, h.platform == str(platform), h.state == RESOLVED
        )
    ).scalar_one_or_none()


def ended_after(conn: Connection, guild_id: int, platform: Platform, moment: datetime) -> bool:
    """Whether a heist of the guild's chat was resolved or cancelled after ``moment``."""
    h = heists.c
    ended = sa.select(h.id).where(
        h.guild_id == guild_id,
        h.platform == str(platform),
        h.state.in_((RESOLVED, CANCELLED)),
        h.resolved_at > moment,
    )
    return conn.execute(ended.limit(1)).first() is not None


def recent_resolved_with_crews(
    conn: Connection, guild_id: int, limit: int
) -> list[tuple[Heist, list[Participant]]]:
    """The guild's last ``limit`` resolved heists, newest first, each with its crew (by join
    order): two statements, whatever the count."""
    h, p = heists.c, heist_participants.c
    found = [
        _heist(row)
        for row in conn.execute(
            sa.select(heists)
            .where(h.guild_id == guild_id, h.state == RESOLVED)
            .order_by(h.opened_at.desc(), h.id.desc())
            .limit(limit)
        )
    ]
    crews: dict[int, list[Participant]] = {heist.id: [] for heist in found}
    if crews:
        rows = conn.execute(
            sa.select(heist_participants).where(p.heist_id.in_(crews)).order_by(p.id)
        )
        for row in rows:
            crews[row.heist_id].append(_participant(row))
    return [(heist, crews[heist.id]) for heist in found]


def due_heists(conn: Connection, now: datetime) -> list[int]:
    """Open heists whose join window has closed, oldest first."""
    h = heists.c
    return list(
        conn.execute(
            sa.select(h.id).where(h.state == OPEN, h.closes_at <= now).order_by(h.closes_at, h.id)
        ).scalars()
    )


def finish(conn: Connection, heist_id: int, state: str, at: datetime) -> bool:
    """Move an open heist to ``state``; False when it is not open (someone else finished it)."""
    h = heists.c
    guild_id = conn.execute(
        sa.update(heists)
        .where(h.id == heist_id, h.state == OPEN)
        .values(state=state, open_key=None, resolved_at=at)
        .returning(h.guild_id)
    ).scalar()
    if guild_id is None:
        return False
    touch(conn, int(guild_id), "heist")  # the heist overlay hears of it
    return True


def unannounced(conn: Connection, since: datetime) -> list[int]:
    """Resolved heists since ``since`` whose result was not announced yet."""
    h = heists.c
    return list(
        conn.execute(
            sa.select(h.id)
            .where(h.state == RESOLVED, h.announced_at.is_(None), h.resolved_at >= since)
            .order_by(h.id)
        ).scalars()
    )


def unannounced_between(
    conn: Connection, since: datetime, before: datetime
) -> list[tuple[int, int]]:
    """(heist id, guild id) of the heists resolved from ``since`` to before ``before`` whose
    result was not announced, oldest first."""
    h = heists.c
    query = (
        sa.select(h.id, h.guild_id)
        .where(h.state == RESOLVED, h.announced_at.is_(None))
        .where(h.resolved_at >= since, h.resolved_at < before)
        .order_by(h.id)
    )
    return [(int(row.id), int(row.guild_id)) for row in conn.execute(query)]


def mark_announced(conn: Connection, heist_id: int, at: datetime) -> bool:
    h = heists.c
    return bool(
        conn.execute(
            sa.update(heists)
            .where(h.id == heist_id, h.announced_at.is_(None))
            .values(announced_at=at)
        ).rowcount
    )


# --- crews ---------------------------------------------------------------------------------

_JOIN = sa.text("""
INSERT INTO heist_participants (heist_id, guild_id, platform, platform_user_id, username, stake,
                                risk, joined_at, has_sub_badge, chance_percent,
                                risk_multiplier_x100)
VALUES (:heist_id, :guild_id, :platform, :platform_user_id, :username, :stake, :risk, :joined_at,
        :has_sub_badge, :chance_percent, :risk_multiplier_x100)
ON CONFLICT (heist_id, platform_user_id) DO NOTHING
RETURNING id
""").bindparams(sa.bindparam("joined_at", type_=UTCDateTime()))


def add_participant(
    conn: Connection,
    heist: Heist,
    platform_user_id: str,
    username: str,
    stake: int,
    risk: str,
    joined_at: datetime,
    has_sub_badge: bool,
    odds: tuple[int, int] | None = None,
) -> bool:
    """False when the viewer is in this heist's crew already. ``odds``: the risk's chance in
    percent and multiplier in hundredths at the join, the ones the draw uses (None: the
    guild's at the draw)."""
    row = conn.execute(
        _JOIN,
        {
            "heist_id": heist.id,
            "guild_id": heist.guild_id,
            "platform": str(heist.platform),
            "platform_user_id": platform_user_id,
            "username": username[:100],
            "stake": stake,
            "risk": risk,
            "joined_at": joined_at,
            "has_sub_badge": has_sub_badge,
            "chance_percent": odds[0] if odds else None,
            "risk_multiplier_x100": odds[1] if odds else None,
        },
    ).first()
    if row is not None:
        touch(conn, heist.guild_id, "heist")  # the heist overlay hears of it
    return row is not None


def in_crew(conn: Connection, heist_id: int, platform_user_id: str) -> bool:
    p = heist_participants.c
    found = sa.select(p.id).where(p.heist_id == heist_id, p.platform_user_id == platform_user_id)
    return conn.execute(found.limit(1)).first() is not None


def crew_of(conn: Connection, heist_id: int) -> list[Participant]:
    p = heist_participants.c
    rows = conn.execute(sa.select(heist_participants).where(p.heist_id == heist_id).order_by(p.id))
    return [_participant(row) for row in rows]


def crew_size(conn: Connection, heist_id: int) -> int:
    p = heist_participants.c
    return conn.execute(
        sa.select(sa.func.count()).select_from(heist_participants).where(p.heist_id == heist_id)
    ).scalar_one()


@dataclass(frozen=True)
class Outcome:
    participant_id: int
    tier: str | None
    tier_multiplier_x100: int
    chance_percent: int
    risk_multiplier_x100: int
    won: bool
    payout: int


def record_outcomes(conn: Connection, outcomes: Sequence[Outcome]) -> None:
    if not outcomes:
        return
    p = heist_participants.c
    conn.execute(
        sa.update(heist_participants)
        .where(p.id == sa.bindparam("participant_id"))
        .values(
            tier=sa.bindparam("tier"),
            tier_multiplier_x100=sa.bindparam("tier_multiplier_x100"),
            chance_percent=sa.bindparam("chance_percent"),
            risk_multiplier_x100=sa.bindparam("risk_multiplier_x100"),
            won=sa.bindparam("won"),
            payout=sa.bindparam("payout"),
        ),
        [outcome.__dict__ for outcome in outcomes],
    )


# --- the heist the overlay shows -------------------------------------------------------------


def overlay_heist(conn: Connection, guild_id: int) -> Heist | None:
    """The heist overlay's subject: an open heist of the guild, in either chat (the one whose
    window closes first), else its most recently resolved one (a cancelled one never)."""
    h = heists.c
    row = conn.execute(
        sa.select(heists)
        .where(h.guild_id == guild_id, h.state == OPEN)
        .order_by(h.closes_at, h.id)
        .limit(1)
    ).first()
    if row is None:
        row = conn.execute(
            sa.select(heists)
            .where(h.guild_id == guild_id, h.state == RESOLVED)
            .order_by(h.resolved_at.desc(), h.id.desc())
            .limit(1)
        ).first()
    return None if row is None else _heist(row)
