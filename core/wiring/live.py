"""Live updates: the notifier features' commits feed (``touch`` in their repositories, heard
through the engine's commit event), and the backend web processes listen to: Redis pub/sub
with ``REDIS_URL``, else the ``live_changes`` table (core/features/live/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.live.backends import RedisLive, TableLive
from core.features.live.changes import LiveNotifier, watch_commits

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    backend = RedisLive(rt.redis) if rt.redis is not None else TableLive(rt.engine)
    rt.live_backend = backend
    rt.live = LiveNotifier(backend)
    watch_commits(rt.engine, rt.live.changed_many)

    def stop() -> None:
        rt.live.close()
        backend.close()

    # The notifier's thread and the table poller hold database connections: they stop when the
    # runtime closes (the pipeline's shutdown closes the runtime too, after its hooks).
    rt.on_close(stop)
