"""Raffle tables: draws and their winners."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.live.changes import touch
from core.features.raffle.tables import (
    raffle_draws,
    raffle_frozen_ranges,
    raffle_periods,
    raffle_winners,
)


@dataclass(frozen=True)
class Winner:
    position: int
    platform: Platform
    platform_user_id: str
    ticket: int
    counter: int


@dataclass(frozen=True)
class Draw:
    id: int
    guild_id: int
    period_id: int
    status: str  # waiting, done
    winners_wanted: int
    prize: str
    reroll_of: int | None
    reason: str
    requested_by: int | None
    requested_at: datetime
    forced: bool
    forced_by: int | None
    beacon_round: int | None
    beacon_randomness: str | None
    first_counter: int | None
    drawn_at: datetime | None
    attempts: int
    last_error: str | None
    winners: tuple[Winner, ...] = ()
    beacon_signature: str | None = None  # hex, checked before the draw used the round
    beacon_previous_signature: str | None = None  # hex, on a chained scheme


# --- draws -----------------------------------------------------------------------------------


def create_draw(
    conn: Connection,
    *,
    guild_id: int,
    period_id: int,
    winners_wanted: int,
    prize: str,
    requested_by: int | None,
    now: datetime,
    reroll_of: int | None = None,
    reason: str = "",
    beacon_round: int | None = None,
) -> int:
    """``beacon_round``: a reroll's own round, committed to when it is asked for."""
    values = {
        "guild_id": guild_id,
        "period_id": period_id,
        "winners_wanted": winners_wanted,
        "prize": prize[:200],
        "reroll_of": reroll_of,
        "reason": reason[:200],
        "requested_by": requested_by,
        "requested_at": now,
        "beacon_round": beacon_round,
    }
    return int(conn.execute(_CREATE, values).scalar_one())


# Built once, with a parameter per value: a statement built per call is keyed for the compiled
# cache afresh each time, a good part of a draw's own time.
_CREATE = (
    sa.insert(raffle_draws)
    .values(
        status="waiting",
        **{
            name: sa.bindparam(name)
            for name in (
                "guild_id", "period_id", "winners_wanted", "prize", "reroll_of", "reason",
                "requested_by", "requested_at", "beacon_round",
            )
        },
    )
    .returning(raffle_draws.c.id)
)  # fmt: skip


def find_draw(conn: Connection, guild_id: int, draw_id: int) -> Draw | None:
    row = conn.execute(
        sa.select(raffle_draws).where(
            raffle_draws.c.guild_id == guild_id, raffle_draws.c.id == draw_id
        )
    ).first()
    return None if row is None else _draw(conn, row)


def list_draws_of_period(conn: Connection, guild_id: int, period_id: int) -> list[Draw]:
    """The period's draws, oldest first, in two statements however many."""
    return list_draws_of_periods(conn, guild_id, [period_id])[period_id]


def winners_before_with_ranges(
    conn: Connection, guild_id: int, period_id: int, draw_id: int
) -> list[tuple[str, tuple[int, int] | None]]:
    """The winners of the period's done draws older than ``draw_id``, in the order they were
    drawn (draw, then position): each one's ``"platform:user_id"`` and the (first ticket,
    tickets) of its range among the period's frozen ranges (None when the close stored none for
    it). One statement however many draws the period held, an index probe per earlier winner
    (``(period_id, platform, platform_user_id)``), and two short columns each: all a draw needs
    to map its picks past those already drawn."""
    found = []
    # All rows at once: read one by one, each costs a call into the driver.
    params = {"guild_id": guild_id, "period_id": period_id, "draw_id": draw_id}
    rows = conn.execute(_WINNERS_BEFORE, params).all()
    for key, range_end, tickets in rows:
        laid_out = None if range_end is None else (int(range_end) - int(tickets), int(tickets))
        found.append((key, laid_out))
    return found


_d, _w, _r = raffle_draws.c, raffle_winners.c, raffle_frozen_ranges.c
_WINNERS_BEFORE = (
    sa.select(_w.platform + ":" + _w.platform_user_id, _r.range_end, _r.tickets)
    .join(raffle_draws, _d.id == _w.draw_id)
    .outerjoin(
        raffle_frozen_ranges,
        sa.and_(
            _r.period_id == sa.bindparam("period_id"),
            _r.platform == _w.platform,
            _r.platform_user_id == _w.platform_user_id,
        ),
    )
    .where(
        _d.guild_id == sa.bindparam("guild_id"),
        _d.period_id == sa.bindparam("period_id"),
        _d.status == "done",
        _d.id < sa.bindparam("draw_id"),
    )
    .order_by(_w.draw_id, _w.position)
)


def list_draws_of_periods(
    conn: Connection, guild_id: int, period_ids: Sequence[int]
) -> dict[int, list[Draw]]:
    """Each period's draws, oldest first (as :func:`list_draws_of_period`), in two statements
    however many periods and draws."""
    found: dict[int, list[Draw]] = {period_id: [] for period_id in period_ids}
    if not found:
        return found
    rows = conn.execute(
        sa.select(raffle_draws)
        .where(raffle_draws.c.guild_id == guild_id, raffle_draws.c.period_id.in_(found))
        .order_by(raffle_draws.c.id)
    ).all()
    winners: dict[int, list[Winner]] = {row.id: [] for row in rows}
    if winners:
        query = (
            sa.select(raffle_winners)
            .where(raffle_winners.c.draw_id.in_(winners))
            .order_by(raffle_winners.c.draw_id, raffle_winners.c.position)
        )
        for w in conn.execute(query):
            winners[w.draw_id].append(_winner(w))
    for row in rows:
        found[row.period_id].append(_draw_of(row, tuple(winners[row.id])))
    return found


def find_last_draw(conn: Connection, guild_id: int) -> Draw | None:
    query = (
        sa.select(raffle_draws)
        .where(raffle_draws.c.guild_id == guild_id)
        .order_by(raffle_draws.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _draw(conn, row)


def take_period_for_draws(conn: Connection, period_id: int) -> bool:
    """Hold the closed period's row (PostgreSQL) to the end of the caller's transaction, so
    two draw requests of one period at once run one after the other: the second sees the
    first's draw waiting. The ledger writers' key-share lock does not conflict with it.
    Whether its automatic draw is still due, as the lock found it."""
    query = sa.select(raffle_periods.c.draw_due).where(raffle_periods.c.id == period_id)
    return bool(conn.execute(query.with_for_update(key_share=True)).scalar())  # FOR NO KEY UPDATE


def has_waiting_draw(conn: Connection, guild_id: int, period_id: int) -> bool:
    """Whether a draw of the period waits for its beacon: one statement, no winners read."""
    d = raffle_draws.c
    query = sa.select(d.id).where(
        d.guild_id == guild_id, d.period_id == period_id, d.status == "waiting"
    )
    return conn.execute(query.limit(1)).first() is not None


def list_waiting_draws(conn: Connection, guild_id: int | None = None) -> list[Draw]:
    """The draws waiting for their beacon, the guild's or (``None``: the scheduler's retry)
    every guild's; a waiting draw has no winners yet, so one statement."""
    query = sa.select(raffle_draws).where(raffle_draws.c.status == "waiting")
    if guild_id is not None:
        query = query.where(raffle_draws.c.guild_id == guild_id)
    return [_draw_of(row, ()) for row in conn.execute(query.order_by(raffle_draws.c.id))]


def lock_draw_with_total(conn: Connection, draw_id: int) -> tuple[Draw, int | None]:
    """A draw known to exist, its row locked (PostgreSQL) so that two processes do not
    complete it twice, and the tickets in its period's frozen ranges (None when the close
    stored none): one statement for what a draw reads before it picks."""
    row = conn.execute(_LOCK_WITH_TOTAL, {"draw_id": draw_id}).one()
    return _draw(conn, row), None if row.frozen_total is None else int(row.frozen_total)


_LOCK_WITH_TOTAL = (
    sa.select(
        raffle_draws,
        sa.select(sa.func.max(_r.range_end))
        .where(_r.period_id == _d.period_id)
        .scalar_subquery()
        .label("frozen_total"),
    )
    .where(_d.id == sa.bindparam("draw_id"))
    .with_for_update(of=raffle_draws)
)


def get_draw(conn: Connection, draw_id: int) -> Draw:
    """A draw known to exist (:func:`lock_draw_with_total` takes its row lock to complete it)."""
    return _draw(conn, conn.execute(sa.select(raffle_draws).where(_d.id == draw_id)).one())


def note_draw_attempt(conn: Connection, draw_id: int, error: str) -> None:
    conn.execute(
        sa.update(raffle_draws)
        .where(raffle_draws.c.id == draw_id)
        .values(attempts=raffle_draws.c.attempts + 1, last_error=error[:200])
    )


def complete_draw(conn: Connection, done: Draw) -> None:
    """Store ``done`` (the waiting draw as it is once drawn) and its winners."""
    conn.execute(_COMPLETE, {
        "draw_id": done.id,
        "drawn_at": done.drawn_at,
        "forced": done.forced,
        "beacon_round": done.beacon_round,
        "beacon_randomness": done.beacon_randomness,
        "beacon_signature": done.beacon_signature,
        "beacon_previous_signature": done.beacon_previous_signature,
        "first_counter": done.first_counter,
        "forced_by": done.forced_by,
    })  # fmt: skip
    if done.winners:
        conn.execute(
            _ADD_WINNER,
            [
                {
                    "draw_id": done.id,
                    "position": winner.position,
                    "guild_id": done.guild_id,
                    "platform": str(winner.platform),
                    "platform_user_id": winner.platform_user_id,
                    "ticket": winner.ticket,
                    "counter": winner.counter,
                }
                for winner in done.winners
            ],
        )
    touch(conn, done.guild_id, "raffle")  # the raffle overlay shows the winners


_COMPLETE = (
    sa.update(raffle_draws)
    .where(raffle_draws.c.id == sa.bindparam("draw_id"))
    .values(
        status="done",
        last_error=None,
        **{
            name: sa.bindparam(name)
            for name in (
                "drawn_at", "forced", "beacon_round", "beacon_randomness", "beacon_signature",
                "beacon_previous_signature", "first_counter", "forced_by",
            )
        },
    )
)  # fmt: skip
_ADD_WINNER = sa.insert(raffle_winners)


def _draw(conn: Connection, row: sa.Row) -> Draw:
    if row.status != "done":  # winners are stored with the draw's completion, never before
        return _draw_of(row, ())
    winners = tuple(
        _winner(w)
        for w in conn.execute(
            sa.select(raffle_winners)
            .where(raffle_winners.c.draw_id == row.id)
            .order_by(raffle_winners.c.position)
        )
    )
    return _draw_of(row, winners)


def _winner(w: sa.Row) -> Winner:
    return Winner(w.position, Platform(w.platform), w.platform_user_id, int(w.ticket), w.counter)


def _draw_of(row: sa.Row, winners: tuple[Winner, ...]) -> Draw:
    return Draw(
        id=row.id,
        guild_id=row.guild_id,
        period_id=row.period_id,
        status=row.status,
        winners_wanted=row.winners_wanted,
        prize=row.prize,
        reroll_of=row.reroll_of,
        reason=row.reason,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        forced=bool(row.forced),
        forced_by=row.forced_by,
        beacon_round=row.beacon_round,
        beacon_randomness=row.beacon_randomness,
        first_counter=row.first_counter,
        drawn_at=row.drawn_at,
        attempts=row.attempts,
        last_error=row.last_error,
        winners=winners,
        beacon_signature=row.beacon_signature,
        beacon_previous_signature=row.beacon_previous_signature,
    )


# --- announcements (an outbox of flags) ------------------------------------------------------


def list_unannounced_draws(conn: Connection) -> list[Draw]:
    query = sa.select(raffle_draws).where(
        raffle_draws.c.status == "done", raffle_draws.c.announced.is_(False)
    )
    return [_draw(conn, row) for row in conn.execute(query.order_by(raffle_draws.c.id))]


def mark_draw_announced(conn: Connection, draw_id: int) -> None:
    conn.execute(sa.update(raffle_draws).where(raffle_draws.c.id == draw_id).values(announced=True))
