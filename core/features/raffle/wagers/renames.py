"""A member verified again under another Shuffle name, the old one gone from Shuffle's replies:
a rename. Shuffle's statistics name players only, so the new name looks like a new referral,
counted from zero, and its whole lifetime would be paid again. The new name takes over the old
one's count in the open period instead (its baseline and the tickets it was given).

Only when the old name is gone (not in the last reply taken): a member switching to another
account that still plays keeps the usual count of each. When the new name was already seen, it
must have been counted from zero, given nothing, and hold at least the old lifetime total.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.tables import shuffle_wager_progress
from core.features.raffle.wagers import repository


def carry_renamed(
    conn: Connection, guild_id: int, old_key: str, new_key: str, now: datetime
) -> bool:
    """Give ``new_key`` the open period's count of ``old_key`` if this looks like a rename;
    whether it did. In the verification's transaction."""
    period = periods_repository.find_open_period(conn, guild_id)
    settings = repository.find_settings(conn, guild_id)
    if period is None or settings is None or settings.last_success_at is None:
        return False
    totals = repository.load_totals(conn, guild_id)
    old_total, new_total = totals.get(old_key), totals.get(new_key)
    if old_total is None or old_total.seen_at is None:
        return False
    if old_total.seen_at >= settings.last_success_at:
        return False  # the old name is still in Shuffle's replies: another account, no rename
    progress = repository.load_progress(conn, guild_id, period.id)
    old = progress.get(old_key)
    baseline, given = (old.baseline_cents, old.tickets_given) if old else (old_total.cents, 0)
    new = progress.get(new_key)
    if new_total is None and new is None:
        # Not seen yet: count it from where the old name left off once it shows up.
        repository.insert_progress(conn, guild_id, period.id, [(new_key, baseline)], now)
        new = repository.load_progress(conn, guild_id, period.id).get(new_key)
    if new is None or (new_total is not None and new_total.cents < old_total.cents):
        return False
    if new.tickets_given != 0 or (new_total is not None and new.baseline_cents != 0):
        return False  # counted from a baseline taken, or already paid: not a new referral
    p = shuffle_wager_progress.c
    moved = conn.execute(
        sa.update(shuffle_wager_progress)
        .where(p.period_id == period.id, p.account_key == new_key, p.tickets_given == 0)
        .values(baseline_cents=baseline, tickets_given=given, updated_at=now)
        .returning(p.account_key)
    ).first()
    return moved is not None
