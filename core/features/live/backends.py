"""Where live changes are numbered and how web processes hear them.

- :class:`MemoryLive`: one process (tests, or a process that is both bot and web and shares
  nothing): numbers in memory.
- :class:`TableLive`: the embedded deployment. The publisher bumps ``live_changes.seq``; each web
  process polls that table (one row per guild and topic) every ``poll_seconds``.
- :class:`RedisLive`: with ``REDIS_URL``. ``INCR`` numbers the change, ``PUBLISH`` tells every
  subscribed web worker at once. A note published while a worker's subscription was down (a
  Redis restart, a network cut) reaches nobody, so each time the subscription is (re)made the
  worker reads the numbers of every guild and topic it follows again (an ``MGET`` per thousand)
  and tells its listeners.

Every backend also tells the listeners of its own process directly, so the combined process
sees a change at once; listeners ignore the number they hold already.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.features.live.changes import TOPICS, Change
from core.features.live.tables import live_changes

log = logging.getLogger(__name__)
Listener = Callable[[int, str, int], None]  # (guild id, topic, number)


class _Listeners:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)
        if len(self._listeners) == 1:
            self._start()

    def _start(self) -> None:
        """Start hearing other processes (nothing to do for one process)."""

    def _tell(self, guild_id: int, topic: str, seq: int) -> None:
        for listener in list(self._listeners):
            try:
                listener(guild_id, topic, seq)
            except Exception:
                log.warning("a live listener failed", exc_info=True)

    def close(self) -> None:
        """Stop hearing other processes; waits for the listening thread (it holds a database or
        Redis connection) so nothing reconnects after the caller closes those."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _spawn(self, run: Callable[[], None], name: str) -> None:
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()


class MemoryLive(_Listeners):
    def __init__(self) -> None:
        super().__init__()
        self._seq: dict[Change, int] = {}
        self._lock = threading.Lock()

    def publish(self, changes: Iterable[Change]) -> None:
        for change in changes:
            with self._lock:
                seq = self._seq[change] = self._seq.get(change, 0) + 1
            self._tell(change[0], change[1], seq)

    def latest(self, guild_id: int, topic: str) -> int:
        return self._seq.get((guild_id, topic), 0)


class TableLive(_Listeners):
    def __init__(self, engine: Engine, poll_seconds: float = 1.0) -> None:
        super().__init__()
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._seen: dict[Change, int] = {}

    def publish(self, changes: Iterable[Change]) -> None:
        told = []
        with self.engine.begin() as conn:
            for guild_id, topic in changes:
                key = (live_changes.c.guild_id == guild_id) & (live_changes.c.topic == topic)
                bumped = conn.execute(
                    live_changes.update().where(key).values(seq=live_changes.c.seq + 1)
                )
                if bumped.rowcount == 0:
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                live_changes.insert().values(guild_id=guild_id, topic=topic, seq=1)
                            )
                    except sa.exc.IntegrityError:  # another publisher inserted it first
                        conn.execute(
                            live_changes.update().where(key).values(seq=live_changes.c.seq + 1)
                        )
                seq = conn.execute(sa.select(live_changes.c.seq).where(key)).scalar_one()
                told.append((guild_id, topic, int(seq)))
        for guild_id, topic, seq in told:
            self._tell(guild_id, topic, seq)

    def latest(self, guild_id: int, topic: str) -> int:
        with self.engine.connect() as conn:
            seq = conn.execute(
                sa.select(live_changes.c.seq).where(
                    (live_changes.c.guild_id == guild_id) & (live_changes.c.topic == topic)
                )
            ).scalar()
        return int(seq or 0)

    def poll(self) -> None:
        """Tell the listeners of every row that moved since the last poll (one small read)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(live_changes)).all()
        for row in rows:
            change = (int(row.guild_id), str(row.topic))
            if row.seq > self._seen.get(change, 0):
                self._seen[change] = int(row.seq)
                self._tell(change[0], change[1], int(row.seq))

    def _start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.poll_seconds):
                try:
                    self.poll()
                except Exception:
                    log.warning("live changes not read", exc_info=True)

        self._spawn(run, "live-poll")


CHANNEL = "sk:live"


class RedisLive(_Listeners):
    CATCH_UP_BATCH = 1000  # keys per MGET when the subscription is made again

    def __init__(self, redis) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.redis = redis
        self._followed: set[Change] = set()  # asked for or heard of: read again on resubscribing
        self._followed_lock = threading.Lock()

    def _follow(self, guild_id: int, topic: str) -> None:
        with self._followed_lock:
            self._followed.add((guild_id, topic))

    def _tell(self, guild_id: int, topic: str, seq: int) -> None:
        if self._listeners:  # what a listener holds is read again (a publisher alone: nothing)
            self._follow(guild_id, topic)
        super()._tell(guild_id, topic, seq)

    @staticmethod
    def _key(guild_id: int, topic: str) -> str:
        return f"sk:live:seq:{guild_id}:{topic}"

    def publish(self, changes: Iterable[Change]) -> None:
        changes = list(changes)
        pipe = self.redis.pipeline(transaction=False)
        for guild_id, topic in changes:
            pipe.incr(self._key(guild_id, topic))
        numbers = pipe.execute()
        pipe = self.redis.pipeline(transaction=False)
        for (guild_id, topic), seq in zip(changes, numbers, strict=True):
            pipe.publish(CHANNEL, f"{guild_id}:{topic}:{seq}")
        pipe.execute()
        for (guild_id, topic), seq in zip(changes, numbers, strict=True):
            self._tell(guild_id, topic, int(seq))

    def latest(self, guild_id: int, topic: str) -> int:
        self._follow(guild_id, topic)
        return int(self.redis.get(self._key(guild_id, topic)) or 0)

    def catch_up(self) -> None:
        """Tell the listeners the numbers of every guild and topic followed here, as Redis holds
        them now: what was published while the subscription was down (listeners ignore a
        number they hold already)."""
        with self._followed_lock:
            followed = sorted(self._followed)
        for start in range(0, len(followed), self.CATCH_UP_BATCH):
            batch = followed[start : start + self.CATCH_UP_BATCH]
            numbers = self.redis.mget([self._key(guild_id, topic) for guild_id, topic in batch])
            for (guild_id, topic), seq in zip(batch, numbers, strict=True):
                self._tell(guild_id, topic, int(seq or 0))

    def _start(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    with self.redis.pubsub() as pubsub:  # closed however the loop ends
                        pubsub.subscribe(CHANNEL)
                        while not self._stop.is_set():
                            message = pubsub.get_message(timeout=1.0)
                            if message is None:
                                continue
                            if message.get("type") == "subscribe":
                                # Redis answers once the subscription holds: what is published
                                # from now on arrives, and what was before is in the numbers.
                                self.catch_up()
                            elif message.get("type") == "message":
                                self._heard(message.get("data"))
                except Exception:
                    log.warning("live updates: Redis subscription lost", exc_info=True)
                    self._stop.wait(1.0)

        self._spawn(run, "live-redis")

    def _heard(self, data: object) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        guild, _, rest = text.partition(":")
        topic, _, seq = rest.partition(":")
        if guild.isdecimal() and topic in TOPICS and seq.isdecimal():
            self._tell(int(guild), topic, int(seq))
