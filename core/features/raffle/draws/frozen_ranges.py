"""The frozen ticket ranges: laid out once by the close, sought by the draw.

The close stores, per eligible participant, where its ticket range ends (exclusive) in the
canonical order of docs/raffle.md (ascending ``"platform:user_id"``, tickets numbered from 0):
one ``INSERT ... SELECT`` with a running ``SUM()``. A draw then finds each winner with one
index seek on ``(period_id, range_end)`` instead of reading every balance, and maps a later
pick past the holders already drawn with :func:`fairness.pick_from_layout`, as
:func:`fairness.pick_winners_fast` does, so it picks exactly what the verifier's
:func:`fairness.pick_winners` picks.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.raffle.draws import fairness
from core.features.raffle.draws.snapshot_repository import eligible_conditions
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.repository import Period
from core.features.raffle.tables import raffle_balances, raffle_frozen_ranges

r = raffle_frozen_ranges.c


def freeze(conn: Connection, guild_id: int, period_id: int, *, linked_only: bool) -> list[str]:
    """Store the period's ticket ranges (replacing any) and return the eligible participants'
    keys in the canonical order (the same list as ``list_eligible_keys``)."""
    b = raffle_balances.c
    key = b.platform + ":" + b.platform_user_id
    # Python sorts keys by code point; PostgreSQL's "C" collation (bytes of UTF-8) and
    # SQLite's BINARY give the same order.
    order = key.collate("C") if conn.dialect.name == "postgresql" else key
    running = sa.func.sum(b.tickets).over(order_by=order, rows=(None, 0))
    source = sa.select(
        sa.literal(period_id, r.period_id.type),
        running,
        sa.literal(guild_id, r.guild_id.type),
        b.platform,
        b.platform_user_id,
        b.tickets,
    ).where(*eligible_conditions(guild_id, period_id, linked_only=linked_only))
    conn.execute(sa.delete(raffle_frozen_ranges).where(r.period_id == period_id))
    stored = conn.execute(
        sa.insert(raffle_frozen_ranges)
        .from_select(
            ["period_id", "range_end", "guild_id", "platform", "platform_user_id", "tickets"],
            source,
        )
        .returning(r.range_end, r.platform + ":" + r.platform_user_id)
    ).all()
    keys = [key for _, key in sorted(stored)]  # by range_end, which every key ends apart
    if keys != sorted(keys):  # the ranges must follow the order the verifier uses
        raise AssertionError("the database ordered the ticket ranges differently")
    return keys


def total_tickets(conn: Connection, period_id: int) -> int | None:
    """The tickets in the period's ranges; None when the close stored none (a period closed
    before they existed, or nobody eligible)."""
    query = sa.select(sa.func.max(r.range_end)).where(r.period_id == period_id)
    total = conn.execute(query).scalar()
    return None if total is None else int(total)


def is_frozen(conn: Connection, period: Period) -> bool:
    """Whether the period's participants are the ones its close froze in its ticket ranges
    (``ledger_repository.participants(frozen=True)``): a closed period's, unless it was closed
    before ranges were stored (its eligible list holds someone, its ranges nobody), whose
    standings count today's exclusions as they always did."""
    if period.status != "closed":
        return False
    if total_tickets(conn, period.id) is not None:
        return True
    eligible = period.eligible  # read only when no range says enough (``with_eligible``)
    if eligible is None:
        eligible = periods_repository.get_period(conn, period.id).eligible
    return not eligible


def pick_winners(
    conn: Connection,
    period_id: int,
    inputs: fairness.DrawInputs,
    *,
    total: int,
    out_of_play: list[tuple[int, int]],
) -> list[fairness.Pick]:
    """:func:`fairness.pick_winners` over the stored ranges (``total`` tickets): one index seek
    per winner. ``out_of_play``: the (first ticket, tickets) of the ranges of
    ``inputs.already_won`` (the draw reads them with its earlier winners)."""
    gone = sorted(out_of_play)  # by first ticket

    def holder_at(laid_out: int) -> tuple[str, int, int]:
        row = conn.execute(_SEEK, {"period_id": period_id, "laid_out": laid_out}).one()
        holder = fairness.participant_key(row.platform, row.platform_user_id)
        return holder, int(row.range_end) - int(row.tickets), int(row.tickets)

    return fairness.pick_from_layout(inputs, total, gone, holder_at)


# The range holding ticket ``laid_out + 1`` (built once: see draws_repository._CREATE).
_SEEK = (
    sa.select(r.platform, r.platform_user_id, r.range_end, r.tickets)
    .where(r.period_id == sa.bindparam("period_id"), r.range_end > sa.bindparam("laid_out"))
    .order_by(r.range_end)
    .limit(1)
)
