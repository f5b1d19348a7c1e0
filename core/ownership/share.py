"""This process's share of the work among the bot processes of one deployment.

The guilds are cut into :data:`PARTITIONS` partitions by Discord's own shard formula
(``(guild_id >> 22) % PARTITIONS``), and the scheduled jobs each have a name. Every process
holds a lease saying it is alive (``process:<name>``) and, every ``heartbeat_seconds``, renews
the partitions and jobs it holds and takes free ones up to its fair share (the count divided by
the live processes, rounded up); a process over its share gives the rest up, so a process that
joins gets its part within two heartbeats. On PostgreSQL a process killed with ``kill -9``
(or crashed) is seen dead at the next beat of any other: its life lock is gone
(:mod:`core.ownership.lifeline`), and that beat ends its leases and takes its share. A process
that hangs, or has no life line, stops renewing: its leases run out after ``lease_seconds``
(6 s), and the others do not wait for their next heartbeat to see it: each beat notes when the
first lease another process holds runs out, and the next beat comes then if that is sooner.
Either way its first tick there follows at once (``on_gain``). A process that stops cleanly
gives its partitions and jobs up at once and its heartbeat once its outbox calls have ended
(a ``stopping:`` lease beside it keeps it out of the others' shares meanwhile).

Each beat also notes which processes have left (their ``process:`` lease ran out or was given
up): :meth:`Ownership.gone_processes`. The Redis bus takes over what such a process's consumer
had read and not acknowledged at once, instead of waiting until Redis has not heard from it for
a while: the first tick of a partition taken over waits for exactly those events. The beats run
on a worker thread of their own, never queued behind the event handlers' database calls.

One process alone (the embedded default) takes everything at its first heartbeat, before the
scheduler starts. A process that cannot reach the database keeps what it held until the lease
would have run out, then lets go of it, so two processes never both think they own a partition
for longer than a heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import threading
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from core.ownership.leases import Leases
from core.ownership.lifeline import LifeLine
from core.ownership.runs import JobRuns

log = logging.getLogger(__name__)

PARTITIONS = 16
HEARTBEAT_SECONDS = 2.0
LEASE_SECONDS = 6.0  # three heartbeats: how long a process that hangs keeps its work (a
# killed one's passes on at the next heartbeat of another: its life lock is gone)
FORGET_DEAD_PROCESSES_SECONDS = 3600  # a killed process's own lease row, deleted an hour on
# A beat due at a lease's end comes this long after it: the lease must have run out by then on
# the database's comparison too (expires_at <= now), whatever rounding the column does.
AFTER_EXPIRY_SECONDS = 0.05
TAKE_ATTEMPTS = 3  # rounds of taking free names in one beat, when others took some first

# Shared by the Ownerships of a process (one, but for tests running two runtimes side by side).
BEAT_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ownership-beat")

_PROCESS = "process:"
_LIFE = "life:"  # held beside the process lease by a process that holds a life lock
_STOPPING = "stopping:"  # beside the process lease of one finishing its calls: no share of work
_PARTITION = "partition:"
_JOB = "job:"


def partition_of(guild_id: int) -> int:
    """The guild's partition: its Discord shard when there are :data:`PARTITIONS` shards."""
    return (guild_id >> 22) % PARTITIONS


def on_shard(guild_id: int, shard: tuple[int, int] | None) -> bool:
    """Whether the guild is on Discord shard ``shard`` (id, count): Discord's own formula. A
    process connected to one shard sees only its guilds (None: the whole gateway, every guild)."""
    if shard is None:
        return True
    shard_id, count = shard
    return (guild_id >> 22) % count == shard_id


def _from_own_place(names: list[str], holder: str) -> list[str]:
    """``names`` turned so that they start at a place of ``holder``'s own (a stable hash)."""
    if not names:
        return names
    start = zlib.crc32(holder.encode()) % len(names)
    return names[start:] + names[:start]


def process_name() -> str:
    """This process's own name: host, pid and a random part, so two processes on one host (or
    a process and its restarted self) never share one."""
    host = (socket.gethostname() or "bot")[:40]
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Ownership:
    def __init__(
        self,
        leases: Leases,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        on_gain: Callable[[set[int]], Awaitable[object]] | None = None,
        lifeline: LifeLine | None = None,
    ) -> None:
        """``on_gain(partitions)`` runs (as a task) for partitions this process took over, so
        work their last owner may not have finished is caught up. ``lifeline`` (PostgreSQL):
        this process's life lock, and how it learns at once that another was killed."""
        self.leases = leases
        self.lifeline = lifeline
        self.name = leases.holder
        self.heartbeat_seconds = heartbeat_seconds
        self.on_gain = on_gain
        self.jobs: list[str] = []  # the scheduler's, registered before it runs
        self.runs = JobRuns(leases, heartbeat_seconds)  # when each job is due, in any process
        self.partitions: set[int] = set()
        self.held_jobs: set[str] = set()
        self._valid_until: datetime | None = None
        self._sharing = False  # until start(), this process does all the work itself
        self._tasks: set[asyncio.Task[object]] = set()
        self._live_processes: set[str] = set()
        self._gone: dict[str, datetime] = {}  # processes seen alive, gone since (when noticed)
        self._next_expiry: datetime | None = None  # of a lease another process holds
        # One of beat, give_up and close at a time (each runs in a thread): a beat still under
        # way when a cancelled run gives up would take the leases and the life lock again.
        self._turn = threading.RLock()
        self._given_up = False  # until start() again: a late beat changes nothing

    # --- what the scheduler asks ---------------------------------------------------------------

    def owns_guild(self, guild_id: int) -> bool:
        return not self._sharing or (self._valid() and partition_of(guild_id) in self.partitions)

    def holds_job(self, name: str) -> bool:
        return not self._sharing or (self._valid() and name in self.held_jobs)

    def live_processes(self) -> int:
        """How many bot processes the last beat saw alive, this one among them (1 before
        its first)."""
        return max(1, len(self._live_processes))

    def gone_processes(self) -> frozenset[str]:
        """The names of the processes that a beat saw alive and a later one did not (their
        lease ran out: killed, or cut off; or they stopped): what they had claimed is theirs
        no more. Each is forgotten an hour after it was noticed."""
        return frozenset(self._gone)

    def _valid(self) -> bool:
        """Whether the leases last renewed have not run out meanwhile (the database away)."""
        return self._valid_until is not None and self.leases.clock() < self._valid_until

    # --- the heartbeat -------------------------------------------------------------------------

    def beat(self) -> set[int]:
        """Renew and balance this process's leases; the partitions it gained (none once this
        process gave up or closed)."""
        with self._turn:
            if self._given_up:
                return set()
            return self._beat()

    def _beat(self) -> set[int]:
        started = self.leases.clock()
        alive_names = [_PROCESS + self.name]
        if self.lifeline is not None and self.lifeline.hold():
            alive_names.append(_LIFE + self.name)
        self.leases.hold(alive_names)
        self.leases.forget(_PROCESS, FORGET_DEAD_PROCESSES_SECONDS)
        self.leases.forget(_LIFE, FORGET_DEAD_PROCESSES_SECONDS)
        self.leases.forget(_STOPPING, FORGET_DEAD_PROCESSES_SECONDS)
        live = self.leases.holders()
        if self.lifeline is not None:
            killed = self.lifeline.dead(
                name.removeprefix(_LIFE) for name in live if name.startswith(_LIFE)
            )
            if killed:
                log.info("bot process(es) %s died; taking over their work", ", ".join(killed))
                self.leases.end_held_by(killed)
                live = self.leases.holders()
        alive = {name.removeprefix(_PROCESS) for name in live if name.startswith(_PROCESS)}
        forget_before = started - timedelta(seconds=FORGET_DEAD_PROCESSES_SECONDS)
        self._gone = {name: at for name, at in self._gone.items() if at >= forget_before}
        self._gone.update(dict.fromkeys(self._live_processes - alive, started))
        self._live_processes = alive
        stopping = {name.removeprefix(_STOPPING) for name in live if name.startswith(_STOPPING)}
        processes = max(1, len(alive - stopping))
        every_partition = [f"{_PARTITION}{i}" for i in range(PARTITIONS)]
        partitions = self._take_share(every_partition, live, processes)
        jobs = self._take_share([_JOB + job for job in self.jobs], live, processes)
        self._valid_until = started + timedelta(seconds=self.leases.seconds)
        gained = {int(name.removeprefix(_PARTITION)) for name in partitions} - self.partitions
        self.partitions = {int(name.removeprefix(_PARTITION)) for name in partitions}
        self.held_jobs = {name.removeprefix(_JOB) for name in jobs}
        self._next_expiry = self.leases.next_expiry()
        return gained

    def seconds_to_next_beat(self) -> float:
        """``heartbeat_seconds``, or less when a lease another process holds runs out sooner
        (then just after it): a killed process's work passes on as soon as it is free."""
        if self._next_expiry is None:
            return self.heartbeat_seconds
        until = (self._next_expiry - self.leases.clock()).total_seconds() + AFTER_EXPIRY_SECONDS
        return min(self.heartbeat_seconds, max(until, AFTER_EXPIRY_SECONDS))

    def _take_share(self, names: list[str], live: dict[str, str], processes: int) -> set[str]:
        """Renew this process's names and take free ones up to its share (giving up what is
        over it). Processes that find the same names free at the same moment (two survivors of
        a kill, woken by the same lease's end) each start at their own place in the list, and
        one that lost a race for some takes others at once, not a heartbeat later."""
        share = math.ceil(len(names) / processes)
        mine = [name for name in names if live.get(name) == self.name]
        free = _from_own_place([name for name in names if name not in live], self.name)
        if len(mine) > share:
            self.leases.release(mine[share:])
            mine = mine[:share]
        held = self.leases.hold(mine + free[: max(0, share - len(mine))])
        for _ in range(TAKE_ATTEMPTS - 1):
            if len(held) >= share:
                break
            others = self.leases.holders()
            free = [name for name in names if name not in others and name not in held]
            if not free:
                break
            held = self.leases.hold([*held, *_from_own_place(free, self.name)[: share - len(held)]])
        return held

    async def start(self) -> None:
        """The first heartbeat, before the scheduler runs anything: from here on this process
        does only its share (before, as a tool or a test that ticks by hand, it did all)."""
        self._sharing = True
        with self._turn:
            self._given_up = False
        await self._beat_once(catch_up=False)  # what is free at start needs no catching up

    async def run(self, stop: asyncio.Event, finished: asyncio.Event | None = None) -> None:
        """Beat until ``stop`` is set, then give everything up. With ``finished``: give up the
        partitions and jobs at once, but stay alive (the heartbeat and life lock) until it is
        set: the outbox calls this process is still making stay its own meanwhile, and if it
        is killed before it finishes, its claims pass on within seconds as a dead process's
        (a process that gave up its heartbeat lease is never taken for dead)."""
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.seconds_to_next_beat())
                except TimeoutError:
                    await self._beat_once()
            if finished is not None:
                await asyncio.to_thread(self._give_up_work)
                await self._stay_alive_until(finished)
        finally:
            await asyncio.to_thread(self.give_up)

    async def _stay_alive_until(self, finished: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not finished.is_set():
            try:
                await asyncio.wait_for(finished.wait(), timeout=self.heartbeat_seconds)
            except TimeoutError:
                try:
                    await loop.run_in_executor(BEAT_THREADS, self._hold_alive)
                except Exception as exc:
                    log.warning("this stopping bot process could not renew its heartbeat: %s", exc)

    def _hold_alive(self) -> None:
        with self._turn:
            if self._given_up:
                return
            names = [_PROCESS + self.name, _STOPPING + self.name]
            if self.lifeline is not None and self.lifeline.hold():
                names.append(_LIFE + self.name)
            self.leases.hold(names)

    def _give_up_work(self) -> None:
        """Release the partitions and jobs (this process is stopping), for the others to take
        at once (not counting it in their shares); the heartbeat stays."""
        with self._turn:
            names = [
                *(f"{_PARTITION}{i}" for i in self.partitions),
                *(_JOB + job for job in self.held_jobs),
            ]
            self.partitions, self.held_jobs = set(), set()
            try:
                self.leases.hold([_PROCESS + self.name, _STOPPING + self.name])
                self.leases.release(names)
            except Exception as exc:
                log.warning("this bot process could not give up its share of the work: %s", exc)

    async def _beat_once(self, *, catch_up: bool = True) -> None:
        try:
            gained = await asyncio.get_running_loop().run_in_executor(BEAT_THREADS, self.beat)
        except Exception as exc:  # the database away: what was held lapses with its leases
            log.warning("this bot process could not renew its share of the work: %s", exc)
            self._next_expiry = None  # beat again at the heartbeat, not in a tight loop
            return
        if gained:
            log.info("this bot process took over %d guild partition(s)", len(gained))
            if self.on_gain is not None and catch_up:
                task = asyncio.create_task(self.on_gain(gained))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Let go of the life lock and its connection, if this process still holds them: a
        process that ran :meth:`run` gave them up with everything else; a tool or a test that
        only beat must not leave the connection open for the garbage collector. A beat still
        under way finishes first; one that comes later does nothing."""
        with self._turn:
            self._given_up = True
            if self.lifeline is not None:
                self.lifeline.close()

    def give_up(self) -> None:
        """Release every lease this process holds, for the others to take at once."""
        with self._turn:
            names: Iterable[str] = [
                _PROCESS + self.name,
                *(f"{_PARTITION}{i}" for i in self.partitions),
                *(_JOB + job for job in self.held_jobs),
                _LIFE + self.name,
                _STOPPING + self.name,
            ]
            self.partitions, self.held_jobs, self._valid_until = set(), set(), None
            try:
                self.leases.release(names)
            except Exception as exc:
                log.warning("this bot process could not give up its share of the work: %s", exc)
            self.close()
