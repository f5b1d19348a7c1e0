"""Posts made outside the outbox's workers (heist results and raffle announcements, posted by a
job of their own from a flag on their row: ``core/features/shard_posts.py``) that the partner
refused for good, written as refused calls of the outbox: listed with the others under "What
the bot could not do" (``core/outbox/undone.py``) and forgotten like them. No worker makes such
a call (it is never pending); its key makes one refusal one row, however often it is written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from core.outbox.store import REFUSED, RESULT_MAX, Effect, insert_call


def record_refused(
    conn: Connection, effect: Effect, reason: str, now: datetime, *, state: str = REFUSED
) -> bool:
    """Write ``effect`` as a call tried once and refused at ``now`` for ``reason`` (words for a
    moderator: what to give, which channel to set), in the caller's transaction; False when
    its key was written before. ``state``: :data:`~core.outbox.store.FAILED` for a post given
    up on (Discord took it nowhere in the time it is worth posting)."""
    return insert_call(
        conn, effect, now, state=state, attempts=1, result=reason[:RESULT_MAX], finished_at=now
    )
