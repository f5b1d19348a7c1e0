"""A new wager rate (``!raffleset wager_thousand``) applies to what is wagered from then on.

A poll gives ``tickets_for(total - baseline, rate) - given``, so a rate read at each poll would
reach back over the whole period: a higher rate paid the wagers already paid again, a lower one
gave nothing until the player had wagered past what they were paid for. When the rate changes,
each account of the open period is rebased instead: its baseline moves so that, at its last
total seen, the new rate gives what it had earned at the old one (or what it was given, if more:
after a rate of 0). Wagers made while the rate is 0 earn nothing, ever.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.tables import shuffle_settings, shuffle_wager_progress
from core.features.raffle.wagers import repository
from core.features.raffle.wagers.rules import CENTS_PER_THOUSAND

# A baseline a BIGINT holds whatever garbage total and rate it is moved for.
_LOWEST_BASELINE = -(2**62)


def rebase_for_rate(
    conn: Connection, guild_id: int, old_rate: int, new_rate: int, now: datetime
) -> int:
    """Rebase the open period's accounts for a rate going from ``old_rate`` to ``new_rate``
    (tickets per $1,000), in the caller's transaction; how many were moved. To 0, nothing
    moves (no tickets are given while it lasts; the next rate rebases from the totals then)."""
    if new_rate == old_rate or new_rate <= 0:
        return 0
    period = periods_repository.find_open_period(conn, guild_id)
    if period is None:
        return 0
    # The row a poll updates first and holds to its end: a poll under way finishes at the old
    # rate before the accounts are read here, and one that starts now waits for the new rate.
    s = shuffle_settings.c
    locked = conn.execute(
        sa.update(shuffle_settings)
        .where(s.guild_id == guild_id)
        .values(updated_at=now)
        .returning(s.guild_id)
    ).first()
    if locked is None:
        return 0  # Shuffle never set up here: nothing counted
    totals = repository.load_totals(conn, guild_id)
    moved = []
    for key, counted in repository.load_progress(conn, guild_id, period.id).items():
        total = totals.get(key)
        if total is None:
            continue
        # What it had earned, as ticket-thousandths of cents: at the old rate, or what it was
        # given when that is more (tickets given before a rate of 0).
        earned = max(
            (total.cents - counted.baseline_cents) * max(old_rate, 0),
            counted.tickets_given * CENTS_PER_THOUSAND,
        )
        cents = -(-earned // new_rate)  # the cents that earn as much at the new rate
        moved.append({"key": key, "baseline": max(total.cents - cents, _LOWEST_BASELINE)})
    if moved:
        p = shuffle_wager_progress.c
        conn.execute(
            sa.update(shuffle_wager_progress)
            .where(p.period_id == period.id, p.account_key == sa.bindparam("key"))
            .values(baseline_cents=sa.bindparam("baseline"), updated_at=now),
            moved,
        )
    return len(moved)
