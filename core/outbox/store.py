"""The outbox's SQL: enqueue in the caller's transaction, claim due calls for as long as the
claiming process lives (``core/ownership/claims.py``), record what came of each. The same
statements on SQLite and PostgreSQL; on PostgreSQL a claim skips rows another worker holds
locked (``SKIP LOCKED``), so workers in many processes share a service's calls without waiting
on each other."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.ownership import claims
from core.storage.db import insert_for
from core.storage.tables import outbox

PENDING = "pending"
DONE = "done"
REFUSED = "refused"  # the service said no, for good
UNCERTAIN = "uncertain"  # it may have happened: never sent again
FAILED = "failed"  # gave up after the most attempts
FINAL = (DONE, REFUSED, UNCERTAIN, FAILED)
HELD = "held"  # queued, made only once released (``core/outbox/held.py``)

RESULT_MAX = 500  # what is kept of a reason or result
SUMMARY_MAX = 200  # what is kept of a call's summary
KEY_MAX = 255  # the effect key column


@dataclass(frozen=True)
class Effect:
    """A call to make: ``service`` names the worker, ``kind`` the call, ``key`` makes it
    idempotent (an effect enqueued twice is made once); ``summary`` says what it does in the
    streamer's words ("delete the Twitch reward 'VIP 1 week'"), shown if it does not happen
    (``core/outbox/undone.py``)."""

    service: str
    kind: str
    guild_id: int
    key: str
    payload: dict[str, Any]
    summary: str = ""


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    guild_id: int
    key: str
    payload: dict[str, Any]
    attempts: int  # calls started before this one
    was_in_flight: bool  # a worker held it and never said what came of it (it died)


@dataclass(frozen=True)
class Stored:
    kind: str
    key: str
    state: str
    attempts: int
    result: str | None
    summary: str | None = None


def enqueue(conn: Connection, effect: Effect, now: datetime, *, state: str = PENDING) -> bool:
    """Queue ``effect`` in the caller's transaction; False when its key was queued before.
    ``state``: :data:`HELD` to queue it held (``held.py``)."""
    return insert_call(conn, effect, now, state=state)


def insert_call(conn: Connection, effect: Effect, now: datetime, **columns: object) -> bool:
    """Write ``effect`` as a call at ``now``, with ``columns`` (its state, and for one already
    ended its attempts and result), in the caller's transaction; False when its key was
    written before."""
    stmt = (
        insert_for(conn, outbox)
        .values(
            service=effect.service,
            kind=effect.kind,
            guild_id=effect.guild_id,
            effect_key=effect.key,
            payload=payload_json(effect.payload),
            summary=effect.summary[:SUMMARY_MAX] or None,
            next_attempt_at=now,
            created_at=now,
            **columns,
        )
        .on_conflict_do_nothing()
        .returning(outbox.c.id)
    )
    return conn.execute(stmt).first() is not None


def again_key(key: str) -> str:
    """The key of a call queued again: ``<old key>:again``, or, when that is too long for the
    column, the old key's start with a digest of the whole (still one per old call)."""
    wanted = f"{key}:again"
    if len(wanted) <= KEY_MAX:
        return wanted
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: KEY_MAX - len(digest) - 8]}:{digest}:again"


def payload_json(payload: dict[str, Any]) -> str:
    """A call's payload as stored: compact JSON, keys sorted."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def is_pending(conn: Connection, service: str, key: str) -> bool:
    """Whether a call of ``service`` keyed ``key``, or ``key`` with a tail (``key:<more>``:
    the same effect queued again), is still to be made (pending, or being made)."""
    o = outbox.c
    same = sa.or_(o.effect_key == key, o.effect_key.startswith(f"{key}:", autoescape=True))
    query = sa.select(o.id).where(o.service == service, same, o.state == PENDING).limit(1)
    return conn.execute(query).first() is not None


def claim(
    conn: Connection,
    service: str,
    worker: str,
    now: datetime,
    until: datetime,
    limit: int,
    *,
    skip_guilds: Collection[int] = (),
    shard: tuple[int, int] | None = None,
    alive_at: datetime | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due calls of ``service`` for ``worker`` until ``until``: pending,
    due, and not claimed, or claimed by a worker whose claim ran out or whose process is dead
    (``core/ownership/claims.py``, at the wall clock's ``alive_at``; default ``now``), or by
    ``worker`` itself; none of ``skip_guilds`` (whose lanes are busy) nor of a guild with a
    call another worker holds, and none behind an earlier pending call of its guild that is
    not due yet; with ``shard`` (id, count), only guilds of that Discord shard
    (``(guild_id >> 22) % count == id``). Oldest first: what it takes of a guild is that
    guild's next calls, in order.

    A call ``worker`` holds outside ``skip_guilds`` is one its lane left behind when the
    database failed (a claim not given back, an outcome not written): taken again, not left
    until the claim runs out (up to :data:`claims.SAFETY_NET` in a living process), which
    would hold its guild's later calls as long."""
    o = outbox.c
    alive_at = alive_at or now

    def is_free(holder: sa.Column[str], held_until: sa.Column[datetime]) -> sa.ColumnElement[bool]:
        return sa.or_(holder == worker, claims.is_free(holder, held_until, now, alive_at))

    conditions = [
        o.service == service,
        o.state == PENDING,
        o.next_attempt_at <= now,
        is_free(o.claimed_by, o.claimed_until),
    ]
    if skip_guilds:
        conditions.append(o.guild_id.not_in(list(skip_guilds)))
    if shard is not None:
        shard_id, count = shard
        shifted = o.guild_id.op(">>")(sa.literal_column("22"))  # an int on PostgreSQL
        conditions.append(shifted.op("%")(count) == shard_id)
    # A guild's calls of a service are made in order, across processes too: none while another
    # worker holds one of them, and none while an earlier one waits for its next try (a chat
    # line queued later must not overtake one that met a rate limit). One look at the guild's
    # pending calls answers both; a call that ended (done, refused, uncertain, failed) holds
    # nothing, and a call that keeps asking for time ends failed after the worker's attempts.
    before = outbox.alias("before")
    conditions.append(
        ~sa.exists().where(
            before.c.service == service,
            before.c.guild_id == o.guild_id,
            before.c.state == PENDING,
            sa.or_(
                ~is_free(before.c.claimed_by, before.c.claimed_until),
                sa.and_(before.c.id < o.id, before.c.next_attempt_at > now),
            ),
        )
    )
    due = sa.select(o.id).where(*conditions).order_by(o.id).limit(limit)
    if conn.dialect.name == "postgresql":
        # One claim of the service at a time: the guard above reads the claims committed
        # before its statement, so two at once could each take one of a guild's calls (and
        # make them side by side, out of order). The lock is the transaction's; SQLite has
        # one writer anyway.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_claim_lock(service, shard))))
        due = due.with_for_update(skip_locked=True)
    rows = conn.execute(
        sa.update(outbox)
        .where(o.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=until, attempts=o.attempts + 1)
        .returning(o.id, o.kind, o.guild_id, o.effect_key, o.payload, o.attempts, o.result)
    ).all()
    # A call still marked in flight was started by a worker that never said what came of it.
    claimed = [
        Claimed(
            row.id,
            row.kind,
            row.guild_id,
            row.effect_key,
            json.loads(row.payload),
            row.attempts - 1,
            row.result == IN_FLIGHT,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda c: c.id)


def _claim_lock(service: str, shard: tuple[int, int] | None) -> int:
    """The advisory lock key of ``service``'s claims (of one shard): 63 bits of a hash that
    is the same in every process (``hash()`` of a str is not)."""
    name = f"outbox:{service}:{shard}".encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big") >> 1


IN_FLIGHT = "(the call was being made)"  # result from start() until an outcome replaces it


def start(
    conn: Connection, effect_id: int, worker: str, until: datetime, *, in_flight: bool = True
) -> bool:
    """Renew ``worker``'s claim on the call until ``until`` as it starts making it and, with
    ``in_flight``, mark it being made: if the worker dies now, the next claim knows the call
    may have happened (a call whose kind says when its request leaves is marked then instead,
    :func:`mark_in_flight`). False when the claim passed to another worker meanwhile (it waited
    too long behind its guild's earlier calls): the call is then not ``worker``'s to make."""
    if not in_flight:
        return _update_claimed(conn, effect_id, worker, claimed_until=until)
    return _update_claimed(conn, effect_id, worker, result=IN_FLIGHT, claimed_until=until)


def mark_in_flight(conn: Connection, effect_id: int, worker: str) -> bool:
    """Mark the call being made, its request about to leave (``core/outbox/sending.py``);
    False when the claim passed to another worker meanwhile."""
    return _update_claimed(conn, effect_id, worker, result=IN_FLIGHT)


def finish(
    conn: Connection, effect_id: int, worker: str, state: str, result: str, now: datetime
) -> bool:
    """Record a final ``state``; False when the claim was lost to another worker meanwhile."""
    return _release(
        conn, effect_id, worker, state=state, result=result[:RESULT_MAX], finished_at=now
    )


def retry_at(conn: Connection, effect_id: int, worker: str, when: datetime, reason: str) -> bool:
    """Leave the call pending, due again at ``when``; False when the claim was lost."""
    return _release(conn, effect_id, worker, next_attempt_at=when, result=reason[:RESULT_MAX])


def _release(conn: Connection, effect_id: int, worker: str, **values: object) -> bool:
    """Give up ``worker``'s claim on the call, setting ``values``; False when it was lost."""
    return _update_claimed(conn, effect_id, worker, claimed_by=None, claimed_until=None, **values)


def _update_claimed(conn: Connection, effect_id: int, worker: str, **values: object) -> bool:
    """Set ``values`` on a pending call ``worker`` still holds; False when it holds it no more."""
    updated = conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == effect_id, outbox.c.claimed_by == worker, outbox.c.state == PENDING)
        .values(**values)
    )
    return updated.rowcount == 1


def give_back(conn: Connection, effect_ids: Collection[int], worker: str) -> int:
    """Give up ``worker``'s claims on calls it claimed and did not start (they wait behind an
    earlier call of their guild that is to be tried again), as if never claimed: the claim's
    attempt is taken back. A call no longer ``worker``'s is left alone. How many."""
    if not effect_ids:
        return 0
    o = outbox.c
    return conn.execute(
        sa.update(outbox)
        .where(o.id.in_(list(effect_ids)), o.claimed_by == worker, o.state == PENDING)
        .values(claimed_by=None, claimed_until=None, attempts=o.attempts - 1)
    ).rowcount


def let_go(conn: Connection, service: str, worker: str) -> int:
    """Give up every claim ``worker`` holds on ``service``'s calls (that worker is stopping;
    a process's workers of other services share its name and may still be making theirs):
    another worker may take them at once. A call left in flight stays marked so (the next
    claimer treats it as a dead worker's). How many."""
    return conn.execute(
        sa.update(outbox)
        .where(
            outbox.c.service == service, outbox.c.claimed_by == worker, outbox.c.state == PENDING
        )
        .values(claimed_by=None, claimed_until=None)
    ).rowcount


def pending(conn: Connection) -> int:
    """Calls not made yet (or to be tried again), of every service."""
    query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.state == PENDING)
    return int(conn.execute(query).scalar_one())


def pending_by_service(conn: Connection, services: Collection[str]) -> dict[str, int]:
    """Calls not made yet (or to be tried again) of each of ``services`` (0 for none)."""
    o = outbox.c
    query = (
        sa.select(o.service, sa.func.count())
        .where(o.state == PENDING, o.service.in_(list(services)))
        .group_by(o.service)
    )
    counts = dict.fromkeys(services, 0)
    counts.update({service: int(n) for service, n in conn.execute(query)})
    return counts


def overdue_by_service(
    conn: Connection, services: Collection[str], now: datetime
) -> dict[str, float]:
    """How long, in seconds, the most overdue call of each of ``services`` has waited past its
    time (0 when none is due: every call made, or waiting for its next try)."""
    o = outbox.c
    query = (
        sa.select(o.service, sa.func.min(o.next_attempt_at))
        .where(o.state == PENDING, o.service.in_(list(services)), o.next_attempt_at <= now)
        .group_by(o.service)
    )
    overdue = dict.fromkeys(services, 0.0)
    overdue.update({service: (now - due).total_seconds() for service, due in conn.execute(query)})
    return overdue


@dataclass(frozen=True)
class GivenUp:
    guild_id: int
    payload: dict[str, Any]
    summary: str
    created_at: datetime


def given_up(conn: Connection, service: str, kind: str, since: datetime) -> list[GivenUp]:
    """The calls of ``service`` and ``kind`` queued since ``since`` that failed (given up after
    the most attempts), oldest first: for a feature whose calls are safe to queue again."""
    o = outbox.c
    query = (
        sa.select(o.guild_id, o.payload, o.summary, o.created_at)
        .where(o.service == service, o.kind == kind, o.state == FAILED, o.created_at >= since)
        .order_by(o.id)
    )
    return [
        GivenUp(int(row.guild_id), json.loads(row.payload), row.summary or "", row.created_at)
        for row in conn.execute(query)
    ]


def undone_payloads(conn: Connection, service: str, kind: str, guild_id: int) -> list[dict]:
    """The payloads of the guild's calls of ``service`` and ``kind`` that were not made: still to
    be made (or being made), or given up after the most attempts; oldest first."""
    o = outbox.c
    query = (
        sa.select(o.payload)
        .where(o.service == service, o.kind == kind, o.guild_id == guild_id)
        .where(o.state.in_((PENDING, FAILED)))
        .order_by(o.id)
    )
    return [json.loads(payload) for payload in conn.execute(query).scalars()]


def prune(conn: Connection, before: datetime) -> int:
    """Forget calls that ended before ``before``, except the uncertain ones (a person settles
    those, and their list must not lose one: ``core/features/payments/``), and calls held
    since before then that nothing released; how many."""
    o = outbox.c
    kept = [state for state in FINAL if state != UNCERTAIN]
    ended = sa.and_(o.state.in_(kept), o.finished_at < before)
    never_released = sa.and_(o.state == HELD, o.created_at < before)
    return conn.execute(sa.delete(outbox).where(sa.or_(ended, never_released))).rowcount


def of_guild(conn: Connection, guild_id: int, limit: int = 50) -> list[Stored]:
    """The guild's latest calls, newest first (for status pages and tests)."""
    o = outbox.c
    query = (
        sa.select(o.kind, o.effect_key, o.state, o.attempts, o.result, o.summary)
        .where(o.guild_id == guild_id)
        .order_by(o.id.desc())
        .limit(limit)
    )
    return [
        Stored(row.kind, row.effect_key, row.state, row.attempts, row.result, row.summary)
        for row in conn.execute(query)
    ]
