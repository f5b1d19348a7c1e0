"""A StreamElements guild's holds, in the caller's transaction: what a viewer's balance there
must keep for games (open stakes, and changes queued for StreamElements and not made yet), and a
stake held against it under the guild's lock. Guilds keeping their points in the same channel
share each viewer's balance there, so each counts the others' holds and takes their locks too.
Used by :mod:`.se_wallet` and by games that hold in their own transaction (the heist's join)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.points.se_payments import owed_in
from core.features.points.service import NotEnoughPoints, PointsRefused
from core.features.points.tables import points_se_holds, points_settings


@dataclass(frozen=True)
class Held:
    """What of a viewer's StreamElements balance is not theirs to spend, in two parts said
    apart: ``staked`` in heists under way, and ``waiting``, the removals queued for
    StreamElements (a lost stake, an admin's) and not taken there yet."""

    staked: int
    waiting: int

    @property
    def total(self) -> int:
        return self.staked + self.waiting


def held_in(conn: Connection, guild_id: int, login: str, since: datetime | None = None) -> int:
    """The viewer's points held for games in this guild and those on its channel: their open
    stakes, and the losses queued for StreamElements but not taken there yet (:func:`owed_in`;
    with ``since``, the moment their balance was read, also the ones taken from then on)."""
    guild_ids = on_its_channel(conn, guild_id)
    return staked_in(conn, guild_ids, login) + owed_in(conn, guild_ids, login, since)


def held_parts_in(conn: Connection, guild_id: int, login: str) -> Held:
    """:func:`held_in` in its two parts, as a balance shown to people says them."""
    guild_ids = on_its_channel(conn, guild_id)
    return Held(staked_in(conn, guild_ids, login), owed_in(conn, guild_ids, login))


def on_its_channel(conn: Connection, guild_id: int) -> list[int]:
    """The guild and every other guild keeping its points in the same StreamElements channel,
    in id order: they share each viewer's balance there. A guild back on our ledger counts
    while it keeps the channel for payments still waiting (:mod:`.se_leaving`)."""
    s = points_settings.c
    channel = sa.select(s.se_channel_id).where(s.guild_id == guild_id).scalar_subquery()
    query = sa.select(s.guild_id).where(s.se_channel_id == channel)
    return sorted({guild_id, *conn.execute(query).scalars()})


def staked_in(conn: Connection, guild_ids: Sequence[int], login: str) -> int:
    """The viewer's open stakes in these guilds."""
    h = points_se_holds.c
    staked = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(h.amount), 0)).where(
            h.guild_id.in_(list(guild_ids)), h.username == login, h.settled_at.is_(None)
        )
    ).scalar_one()
    return int(staked)


def holds_open_in(conn: Connection, guild_id: int) -> bool:
    """Whether a game here holds stakes on StreamElements (settled through its outbox)."""
    h = points_se_holds.c
    query = sa.select(h.source_ref).where(h.guild_id == guild_id, h.settled_at.is_(None))
    return conn.execute(query.limit(1)).first() is not None


def hold_in(
    conn: Connection,
    guild_id: int,
    login: str,
    amount: int,
    balance: int,
    source: str,
    ref: str,
    now: datetime,
    read_at: datetime | None = None,
) -> int:
    """Hold ``amount`` of ``login``'s StreamElements ``balance`` (as SE said it at ``read_at``);
    what stays free. Raises :class:`NotEnoughPoints` when the balance minus the open holds does
    not cover it. A reference held before holds nothing more."""
    h = points_se_holds.c
    lock_guild(conn, guild_id)
    if _backend_in(conn, guild_id) != "streamelements":  # switched since the balance was read
        raise PointsRefused("The points are kept in StreamKeeper's ledger again; try again.")
    available = balance - held_in(conn, guild_id, login, read_at)
    again = conn.execute(
        sa.select(h.amount).where(
            h.guild_id == guild_id, h.source == source, h.source_ref == ref[:255]
        )
    ).first()
    if again is not None:
        return available
    if available < amount:
        raise NotEnoughPoints(
            f"Only {max(available, 0):,} points are free to bet.",
            balance=max(available, 0),
            needed=amount,
        )
    conn.execute(
        sa.insert(points_se_holds).values(
            guild_id=guild_id,
            username=login,
            amount=amount,
            source=source,
            source_ref=ref[:255],
            created_at=now,
        )
    )
    return available - amount


def _backend_in(conn: Connection, guild_id: int) -> str | None:
    s = points_settings.c
    query = sa.select(s.backend).where(s.guild_id == guild_id)
    return conn.execute(query).scalar_one_or_none()


def lock_guild(conn: Connection, guild_id: int) -> None:
    """The guild's settings row, and those of the guilds on its StreamElements channel (in id
    order, so two guilds never wait for each other), are the lock: holds and changes against
    one channel's balances are checked one at a time."""
    for locked in on_its_channel(conn, guild_id):
        conn.execute(
            sa.update(points_settings)
            .where(points_settings.c.guild_id == locked)
            .values(updated_at=points_settings.c.updated_at)
        )


def open_holds_by_ref(
    conn: Connection, guild_id: int, source: str, refs: Sequence[str]
) -> dict[str, str]:
    """Which of these references hold points now: reference -> the login held for."""
    h = points_se_holds.c
    if not refs:
        return {}
    rows = conn.execute(
        sa.select(h.source_ref, h.username).where(
            h.guild_id == guild_id,
            h.source == source,
            h.source_ref.in_([ref[:255] for ref in refs]),
            h.settled_at.is_(None),
        )
    )
    return {row.source_ref: row.username for row in rows}
