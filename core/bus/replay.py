"""Replay guards: remember webhook message ids so a repeated delivery has no effect.

The Redis guard keeps each id for a day with a TTL; the database guard keeps a row and prunes
rows older than a day. Both survive a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.bus.base import BusUnavailable
from core.events import utc
from core.storage.db import insert_if_absent
from core.storage.tables import webhook_receipts

REMEMBER_FOR = timedelta(days=1)
DELIVERY_TTL_SECONDS = int(REMEMBER_FOR.total_seconds())
_REDIS_KEY = "sk:webhook-seen:{}"


def delivery_key(message_id: str) -> str:
    """The Redis key that remembers a webhook message id (shared with the Redis bus)."""
    return _REDIS_KEY.format(message_id[:128])


class ReplayGuard(Protocol):
    def first_sighting(self, message_id: str) -> bool:
        """True the first time ``message_id`` is seen (and remember it), False afterwards."""
        ...

    def forget(self, message_id: str) -> None:
        """Undo a sighting whose delivery could not be queued, so a retry is accepted."""
        ...


class DatabaseReplayGuard:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def first_sighting(self, message_id: str) -> bool:
        try:
            with self.engine.begin() as conn:
                row = {"message_id": message_id[:128], "received_at": utc(self.clock())}
                return insert_if_absent(conn, webhook_receipts, row)
        except sa.exc.SQLAlchemyError as exc:
            raise BusUnavailable("the database is unavailable") from exc

    def forget(self, message_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(webhook_receipts).where(webhook_receipts.c.message_id == message_id[:128])
            )

    def prune(self) -> int:
        cutoff = utc(self.clock()) - REMEMBER_FOR
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.delete(webhook_receipts).where(webhook_receipts.c.received_at < cutoff)
            )
        return result.rowcount


class RedisReplayGuard:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def first_sighting(self, message_id: str) -> bool:
        try:
            key = delivery_key(message_id)
            return bool(self.client.set(key, 1, nx=True, ex=DELIVERY_TTL_SECONDS))
        except redis.RedisError as exc:
            raise BusUnavailable("Redis is unavailable") from exc

    def forget(self, message_id: str) -> None:
        self.client.delete(delivery_key(message_id))
