"""The SQL of payments in doubt: outbox calls that ended ``uncertain`` (read here with
SQLAlchemy Core, the outbox's own module left to its worker), and their settlements."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.payments.tables import payments_settlements
from core.outbox.store import UNCERTAIN
from core.storage.db import insert_for
from core.storage.tables import outbox


@dataclass(frozen=True)
class UncertainCall:
    """An outbox call as stored: ``result`` is what its worker said of it."""

    id: int
    guild_id: int
    service: str
    kind: str
    key: str
    payload: dict[str, Any]
    state: str
    result: str
    created_at: datetime
    finished_at: datetime | None
    summary: str = ""  # what it does, in the streamer's words (core/outbox/undone.py)


@dataclass(frozen=True)
class SettlementRow:
    call_id: int
    guild_id: int
    key: str
    action: str
    again_key: str | None
    actor_id: int | None
    actor: str
    reason: str
    created_at: datetime


_CALL_COLUMNS = (
    outbox.c.id,
    outbox.c.guild_id,
    outbox.c.service,
    outbox.c.kind,
    outbox.c.effect_key,
    outbox.c.payload,
    outbox.c.state,
    outbox.c.result,
    outbox.c.created_at,
    outbox.c.finished_at,
    outbox.c.summary,
)


def _call(row: Any) -> UncertainCall:
    return UncertainCall(
        row.id,
        row.guild_id,
        row.service,
        row.kind,
        row.effect_key,
        json.loads(row.payload),
        row.state,
        row.result or "",
        row.created_at,
        row.finished_at,
        row.summary or "",
    )


def _unsettled() -> sa.ColumnElement[bool]:
    """An outbox row that ended uncertain and no one settled."""
    settled = sa.exists().where(payments_settlements.c.outbox_id == outbox.c.id)
    return sa.and_(outbox.c.state == UNCERTAIN, ~settled)


def list_in_doubt(conn: Connection, guild_id: int, limit: int) -> list[UncertainCall]:
    """The guild's unsettled uncertain calls, newest first."""
    query = (
        sa.select(*_CALL_COLUMNS)
        .where(outbox.c.guild_id == guild_id, _unsettled())
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    return [_call(row) for row in conn.execute(query)]


def has_calls(conn: Connection, guild_id: int) -> bool:
    """Whether the bot ever queued a call for this guild (any service, any state)."""
    query = sa.select(sa.exists().where(outbox.c.guild_id == guild_id))
    return bool(conn.execute(query).scalar_one())


def count_in_doubt(conn: Connection, guild_id: int) -> int:
    query = sa.select(sa.func.count()).where(outbox.c.guild_id == guild_id, _unsettled())
    return int(conn.execute(query).scalar_one())


def call_of_guild(conn: Connection, guild_id: int, call_id: int) -> UncertainCall | None:
    """The guild's outbox call ``call_id`` in any state; None when there is none in this guild
    (another guild's call is not told apart from a missing one)."""
    query = sa.select(*_CALL_COLUMNS).where(outbox.c.id == call_id, outbox.c.guild_id == guild_id)
    row = conn.execute(query).first()
    return None if row is None else _call(row)


def record_settlement(
    conn: Connection,
    call: UncertainCall,
    action: str,
    again_key: str | None,
    actor_id: int | None,
    actor: str,
    reason: str,
    now: datetime,
) -> bool:
    """Record how ``call`` was settled; False when it was settled before (by anyone, at any
    time: the unique ``outbox_id`` makes this a compare-and-set)."""
    stmt = (
        insert_for(conn, payments_settlements)
        .values(
            guild_id=call.guild_id,
            outbox_id=call.id,
            effect_key=call.key,
            action=action,
            again_key=again_key,
            actor_id=actor_id,
            actor=actor,
            reason=reason,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[payments_settlements.c.outbox_id])
        .returning(payments_settlements.c.id)
    )
    return conn.execute(stmt).first() is not None


def settlement_of(conn: Connection, call_id: int) -> SettlementRow | None:
    s = payments_settlements.c
    row = conn.execute(sa.select(payments_settlements).where(s.outbox_id == call_id)).first()
    if row is None:
        return None
    return SettlementRow(
        row.outbox_id,
        row.guild_id,
        row.effect_key,
        row.action,
        row.again_key,
        row.actor_id,
        row.actor,
        row.reason,
        row.created_at,
    )


def in_doubt_by_service(conn: Connection, services: Collection[str]) -> dict[str, int]:
    """Unsettled uncertain calls of every guild, by service, of these ``services`` (named, so
    the count walks the outbox's (service, state) index, never the whole table)."""
    query = (
        sa.select(outbox.c.service, sa.func.count())
        .where(outbox.c.service.in_(list(services)), _unsettled())
        .group_by(outbox.c.service)
    )
    return {service: int(count) for service, count in conn.execute(query)}


def guilds_in_doubt(conn: Connection, service: str) -> tuple[int, int]:
    """(calls, guilds) of ``service`` in doubt, over every guild."""
    query = sa.select(sa.func.count(), sa.func.count(sa.distinct(outbox.c.guild_id))).where(
        outbox.c.service == service, _unsettled()
    )
    calls, guilds = conn.execute(query).one()
    return int(calls), int(guilds)
