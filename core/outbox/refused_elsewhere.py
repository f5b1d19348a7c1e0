"""Posts made outside the outbox's workers (heist results and raffle announcements, posted by a
job of their own from a flag on their row: ``core/features/shard_posts.py``) that the partner
refused for good, written as refused calls of the outbox: listed with the others under "What
the bot could not do" (``core/outbox/undone.py``) and forgotten like them. No worker makes such
a call (it is never pending); its key makes one refusal one row, however often it is written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from core.outbox.store import REFUSED, RESULT_MAX, SUMMARY_MAX, Effect, payload_json
from core.storage.db import insert_for
from core.storage.tables import outbox


def record_refused(
    conn: Connection, effect: Effect, reason: str, now: datetime, *, state: str = REFUSED
) -> bool:
    """Write ``effect`` as a call tried once and refused at ``now`` for ``reason`` (words for a
    moderator: what to give, which channel to set), in the caller's transaction; False when
    its key was written before. ``state``: :data:`~core.outbox.store.FAILED` for a post given
    up on (Discord took it nowhere in the time it is worth posting)."""
    stmt = (
        insert_for(conn, outbox)
        .values(
            service=effect.service,
            kind=effect.kind,
            guild_id=effect.guild_id,
            effect_key=effect.key,
            payload=payload_json(effect.payload),
            summary=effect.summary[:SUMMARY_MAX] or None,
            state=state,
            attempts=1,
            next_attempt_at=now,
            created_at=now,
            result=reason[:RESULT_MAX],
            finished_at=now,
        )
        .on_conflict_do_nothing()
        .returning(outbox.c.id)
    )
    return conn.execute(stmt).first() is not None
