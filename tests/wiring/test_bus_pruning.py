"""The runtime's hourly pruning ("pruning delivered events") trims the Redis bus's dead stream
as it deletes the embedded bus's dead rows: what was set aside over 30 days ago goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from core.bus.base import DEAD_RETENTION
from core.wiring.infrastructure import prune


def test_the_pruning_job_trims_the_redis_dead_stream(make_runtime, redis_url):
    runtime = make_runtime(REDIS_URL=redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    dead = runtime.bus.dead_stream
    client.delete(dead)
    old = datetime.now(UTC) - DEAD_RETENTION - timedelta(minutes=1)
    client.xadd(dead, {"event": "{}"}, id=f"{int(old.timestamp() * 1000)}-0")
    recent = client.xadd(dead, {"event": "{}"})
    try:
        prune(runtime)
        assert [entry_id for entry_id, _ in client.xrange(dead)] == [recent]
    finally:
        client.delete(dead)
        client.close()
