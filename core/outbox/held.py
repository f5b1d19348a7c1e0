"""Calls queued but held back, and calls replaced or dropped before they were made.

A held call (state ``held``) is written like any other, under its key, but no worker takes it
and it holds back none of its guild's later calls; :func:`release` makes it pending. A call
not started yet (held, or pending and never taken up by a worker) may still be replaced
(:func:`replace`) or dropped (:func:`drop`); one a worker took up is left as it is. What
nothing releases is forgotten by :func:`core.outbox.store.prune`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.outbox import store
from core.outbox.store import DONE, HELD, IN_FLIGHT, PENDING, SUMMARY_MAX, Effect
from core.storage.tables import outbox


@dataclass(frozen=True)
class Queued:
    state: str
    payload: dict[str, Any]


def hold(conn: Connection, effect: Effect, now: datetime) -> bool:
    """Queue ``effect`` held, in the caller's transaction; False when its key was queued
    before (held or not)."""
    return store.enqueue(conn, effect, now, state=HELD)


def find(conn: Connection, key: str) -> Queued | None:
    """The call queued under ``key``: its state and payload; None when there is none."""
    row = conn.execute(
        sa.select(outbox.c.state, outbox.c.payload).where(outbox.c.effect_key == key)
    ).first()
    return None if row is None else Queued(row.state, json.loads(row.payload))


def release(
    conn: Connection, key: str, now: datetime, *, held_since: datetime | None = None
) -> bool:
    """Make the held call keyed ``key`` pending, due now; False when none is held (with
    ``held_since``: none held since then)."""
    o = outbox.c
    since = sa.true() if held_since is None else o.created_at >= held_since
    updated = conn.execute(
        sa.update(outbox)
        .where(o.effect_key == key, o.state == HELD, since)
        .values(state=PENDING, next_attempt_at=now)
    )
    return updated.rowcount == 1


def replace(conn: Connection, key: str, effect: Effect, now: datetime) -> bool:
    """Make the call keyed ``key`` ``effect`` (its guild, payload and summary), pending and due
    now, if it was not started: held, or pending and never taken up by a worker. False when
    there is no such call (none, or one a worker took up or finished)."""
    updated = conn.execute(
        sa.update(outbox)
        .where(outbox.c.effect_key == key, _not_started())
        .values(
            guild_id=effect.guild_id,
            payload=store.payload_json(effect.payload),
            summary=effect.summary[:SUMMARY_MAX] or None,
            state=PENDING,
            next_attempt_at=now,
        )
    )
    return updated.rowcount == 1


def drop(
    conn: Connection, key: str, reason: str, now: datetime, *, is_held_only: bool = False
) -> bool:
    """End the call keyed ``key`` unmade (done, with ``reason``) if it was not started (with
    ``is_held_only``: if it is held); False when there is no such call."""
    o = outbox.c
    unmade = o.state == HELD if is_held_only else _not_started()
    updated = conn.execute(
        sa.update(outbox)
        .where(o.effect_key == key, unmade)
        .values(state=DONE, result=reason, finished_at=now)
    )
    return updated.rowcount == 1


def _not_started() -> sa.ColumnElement[bool]:
    o = outbox.c
    untouched = sa.and_(
        o.state == PENDING,
        o.claimed_by.is_(None),
        sa.or_(o.result.is_(None), o.result != IN_FLIGHT),
    )
    return sa.or_(o.state == HELD, untouched)
