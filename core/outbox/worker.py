"""One outside service's worker: it makes the calls handlers queued for that service, at the pace
the service allows, and records what came of each.

A call's kind says how to make it (:class:`Kind`): ``run(guild_id, payload)`` answers with an
outcome: :class:`Done`, :class:`Refused` (the service said no for good, with its reason),
:class:`Retry` (later, e.g. a 429 or a 5xx) or :class:`Uncertain` (it may have happened; never
sent again). An exception or a call that outlasts ``timeout_seconds`` is retried with backoff, up
to ``max_attempts``; for a kind that is not ``idempotent`` (the service has no idempotency key) a
timeout is :class:`Uncertain` instead, and so is a call a dead worker left in flight. Such a
kind whose client says when its request leaves (``says_when_sent``, ``sending.py``) is in
flight only from then: before, any failure, a stop or a kill leave it to be made again; after,
any failure is :class:`Uncertain`, an exception too (never made twice). A kind's ``then``
gives the next calls of a chain (a VIP change, then the redemption's status), queued in the same
transaction as the outcome, so a chain never stops half way.

Each guild's calls are made in order, in a lane of their own: a lane takes its guild's next due
calls when it is free, and a guild whose partner hangs holds only its own lane (up to ``lanes``
at once), while the worker keeps claiming the other guilds' calls. A call to be tried again
holds its guild's later calls of the service until it ends (made, refused, uncertain, or failed
after ``max_attempts``): the lane gives them back unspent, and no worker claims them before it.

A worker of a bot process (:meth:`OutboxWorker.beat_by`) stamps its claims with the process's
name: they last while the process's heartbeat lease does (``core/ownership/claims.py``), so a
killed process's calls pass to another within seconds and a living one keeps a call however
long its partner hangs; :data:`claims.SAFETY_NET`, renewed when a call starts, is the one fixed
bound. A worker on its own (tools, tests) holds a claim ``timeout_seconds + 5``. A stopping
worker gives its claims back; a call whose claim passed to another worker meanwhile is left to
that worker.

While the database fails, what came of a call is written again until it is taken (the outcome
is known only here), and the calls a lane could not give back stay its worker's to claim again
at once (:func:`store.claim`), not held until their claim runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.bus.base import NotReady
from core.events import system_clock, utc
from core.outbox import deadline, sending, store
from core.outbox.store import Claimed, Effect
from core.outbox.waits import retry_delay
from core.ownership import claims
from core.ownership.share import process_name

log = logging.getLogger(__name__)

KEEP = timedelta(days=30)  # how long what came of a call stays (status pages, support)
PRUNE_EVERY_SECONDS = 3600.0
STOP_GRACE_SECONDS = 5.0  # calls under way when the worker stops get this long to end
RECORD_RETRY_MAX_SECONDS = 5.0  # the longest wait between tries to record a call's outcome


@dataclass(frozen=True)
class Done:
    result: str = ""


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class Retry:
    reason: str
    after_seconds: float | None = None  # None: the worker's backoff (bounded: waits.py)


@dataclass(frozen=True)
class Uncertain:
    reason: str


Outcome = Done | Refused | Retry | Uncertain


@dataclass(frozen=True)
class Kind:
    run: Callable[[int, dict[str, Any]], Awaitable[Outcome]]
    idempotent: bool = True  # whether making the call twice does no harm
    then: Callable[[int, dict[str, Any], Outcome], list[Effect]] | None = None
    # Whether its partner's client says when its request leaves (``sending.going_out``): then
    # a call that is not idempotent and fails before that is tried again, and after it ends
    # uncertain (but ``TurnedAway``); else it is made from its start, an exception tried again.
    says_when_sent: bool = False


@dataclass
class OutboxWorker:
    engine: Engine
    service: str
    kinds: dict[str, Kind]
    clock: Callable[[], datetime]
    name: str = field(default_factory=process_name)
    batch: int = 10
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    first_backoff_seconds: float = 2.0
    max_backoff_seconds: float = 300.0
    poll_seconds: float = 0.5
    lanes: int = 8  # guilds whose calls are made at the same time (one guild's in order)
    shard: tuple[int, int] | None = None  # (id, count): only that Discord shard's guilds' calls
    beats: bool = False  # whether ``name``'s heartbeat lease is renewed (see beat_by)
    # Told each call's outcome: (service, "done" | "refused" | "uncertain" | "failed" | "retry").
    on_outcome: Callable[[str, str], None] | None = None
    # The service's own records of ended work, forgotten with its calls (``KEEP`` after they
    # ended): ``prune_also(conn, before)`` deletes what ended before ``before``.
    prune_also: Callable[[Connection, datetime], int] | None = None
    _is_running: bool = field(default=False, init=False, repr=False)  # in run()

    def beat_by(self, process: str) -> None:
        """Claim as the process ``process``, whose heartbeat (``process:<name>`` in ``leases``)
        its ownership renews: claims then last while it beats."""
        self.name = process[: claims.HOLDER_LENGTH]
        self.beats = True

    @property
    def lease(self) -> timedelta:
        """How long a claim holds at most, from its claim or its call's start: a process that
        beats loses it earlier only by dying (its lease running out); a worker on its own
        holds it ``timeout_seconds + 5``."""
        if self.beats:
            return claims.SAFETY_NET
        return timedelta(seconds=self.timeout_seconds + 5)

    async def run(self, stop: asyncio.Event) -> None:
        """Make due calls until ``stop`` is set; a failure of the database is retried. Calls
        that ended more than ``KEEP`` ago are forgotten now and then. When ``stop`` is set,
        calls under way get ``STOP_GRACE_SECONDS`` to end; one still running then is left in
        flight, as a killed worker would leave it, and every claim is given back, so another
        process takes the calls at once."""
        pruned_at = float("-inf")
        loop = asyncio.get_running_loop()
        lanes: dict[int, asyncio.Task[None]] = {}
        self._is_running = True
        try:
            while not stop.is_set():
                try:
                    if loop.time() - pruned_at > PRUNE_EVERY_SECONDS:
                        await asyncio.to_thread(self._prune)
                        pruned_at = loop.time()
                    claimed = await self._open_lanes(lanes)
                except Exception:
                    log.warning(
                        "%s outbox: the database failed; retrying", self.service, exc_info=True
                    )
                    claimed = 0
                if not claimed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        finally:
            running = list(lanes.values())
            if running:
                _done, late = await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
            try:
                await asyncio.to_thread(self._let_go)
            except Exception:  # the database away: the claims end with their holder's lease
                log.warning("%s outbox: claims not given back", self.service, exc_info=True)
            self._is_running = False

    async def _open_lanes(self, lanes: dict[int, asyncio.Task[None]]) -> int:
        """Claim due calls of guilds whose lanes are free and start a lane for each such guild;
        how many calls were claimed."""
        if len(lanes) >= max(1, self.lanes):
            return 0
        claimed = await asyncio.to_thread(self._claim, utc(self.clock()), set(lanes))
        for guild_id, calls in _by_guild(claimed).items():
            task = asyncio.create_task(self._lane(calls))
            lanes[guild_id] = task
            task.add_done_callback(lambda _, guild_id=guild_id: lanes.pop(guild_id, None))
        return len(claimed)

    async def _lane(self, calls: list[Claimed]) -> None:
        """Make a guild's claimed calls in order, up to the first that did not end here: one to
        be tried again (or passed to another worker, or whose outcome the database did not
        take) is followed by none of its guild's later calls, which are given back unspent
        and claimed again behind it (:func:`store.claim`)."""
        for index, call in enumerate(calls):
            try:
                ended = await self._make(call)
            except Exception:  # the database failed recording it: claimed again, once free
                log.warning("%s outbox: %s not recorded", self.service, call.key, exc_info=True)
                ended = False
            if not ended:
                await self._give_back(calls[index + 1 :])
                return

    async def _give_back(self, calls: list[Claimed]) -> None:
        if not calls:
            return
        try:
            await asyncio.to_thread(self._return_claims, [call.id for call in calls])
        except Exception:  # the database away: this worker claims them again when it answers
            log.warning("%s outbox: claims not given back", self.service, exc_info=True)

    def _return_claims(self, effect_ids: list[int]) -> None:
        with self.engine.begin() as conn:
            store.give_back(conn, effect_ids, self.name)

    async def run_once(self) -> int:
        """Claim due calls and make them: each guild's in order, different guilds' at the same
        time (so one guild's hanging partner holds only its own calls); how many were claimed.
        For tests and tools: ``run`` keeps its lanes open instead of waiting for a round. Never
        beside ``run`` of the same worker: a worker takes its own claims again when no lane of
        its holds them (:func:`store.claim`), and the other's lanes are not this one's."""
        if self._is_running:
            raise RuntimeError(f"the {self.service} worker runs already: run_once beside it")
        claimed = await asyncio.to_thread(self._claim, utc(self.clock()), set())
        room = asyncio.Semaphore(max(1, self.lanes))

        async def lane(calls: list[Claimed]) -> None:
            async with room:
                await self._lane(calls)

        await asyncio.gather(*(lane(calls) for calls in _by_guild(claimed).values()))
        return len(claimed)

    def _prune(self) -> None:
        before = utc(self.clock()) - KEEP
        with self.engine.begin() as conn:
            store.prune(conn, before)
            if self.prune_also is not None:
                self.prune_also(conn, before)

    def _let_go(self) -> None:
        with self.engine.begin() as conn:
            store.let_go(conn, self.service, self.name)

    def _claim(self, now: datetime, busy: set[int]) -> list[Claimed]:
        with self.engine.begin() as conn:
            return store.claim(
                conn,
                self.service,
                self.name,
                now,
                now + self.lease,
                self.batch,
                skip_guilds=busy,
                shard=self.shard,
                alive_at=system_clock(),  # leases are written on the wall clock
            )

    async def _make(self, call: Claimed) -> bool:
        """Make the call and record what came of it; whether it ended (False: it is to be tried
        again, or another worker took it over)."""
        kind = self.kinds.get(call.kind)
        if kind is None:
            return await self._record(call, Refused(f"no {self.service} call named {call.kind}"))
        if call.was_in_flight and not kind.idempotent:
            return await self._record(call, Uncertain("a worker stopped while making this call"))
        watches = not kind.idempotent and kind.says_when_sent
        if not await asyncio.to_thread(self._start, call, not watches):
            log.info("%s outbox: %s passed to another worker", self.service, call.key)
            return False
        watch = sending.Watch(functools.partial(self._went_out, call) if watches else None)
        try:
            # Not wait_for: on 3.11 a call ending as its lane is cancelled drops the cancel.
            async with asyncio.timeout(self.timeout_seconds):
                with deadline.within(self.timeout_seconds), sending.watched(watch):
                    outcome = await kind.run(call.guild_id, call.payload)
        except TimeoutError:
            no_answer = f"no answer within {self.timeout_seconds:g} s"
            outcome = Uncertain(no_answer) if _may_be_made(kind, watch) else Retry(no_answer)
        except NotReady as exc:  # the partner is not connected yet (Discord): nothing was sent
            outcome = Retry(str(exc) or type(exc).__name__)
        except sending.TurnedAway as exc:  # rate-limited: nothing done, though it went out
            outcome = Retry(str(exc), exc.retry_after)
        except Exception as exc:
            log.warning("%s outbox: %s failed (%s)", self.service, call.key, exc)
            failure = f"{type(exc).__name__}: {exc}"
            if watches and watch.went_out:  # it may have happened: never again
                outcome = Uncertain(f"failed after its request went out ({failure})")
            else:
                outcome = Retry(failure)
        if watch.is_taken_over:
            log.info("%s outbox: %s passed to another worker", self.service, call.key)
            return False
        if watch.stopped is not None and not watch.went_out:  # nothing left, whatever it says
            outcome = Retry(f"not sent: {watch.stopped}")
        return await self._record(call, outcome)

    def _start(self, call: Claimed, in_flight: bool) -> bool:
        with self.engine.begin() as conn:
            until = utc(self.clock()) + self.lease
            return store.start(conn, call.id, self.name, until, in_flight=in_flight)

    async def _went_out(self, call: Claimed) -> bool:
        """Mark ``call`` in flight, its request about to leave; False when it is not ours now."""

        def mark() -> bool:
            with self.engine.begin() as conn:
                return store.mark_in_flight(conn, call.id, self.name)

        return await asyncio.to_thread(mark)

    async def _record(self, call: Claimed, outcome: Outcome) -> bool:
        """Record ``outcome``; whether the call ended (False: it is to be tried again)."""
        if isinstance(outcome, Retry) and call.attempts + 1 >= self.max_attempts:
            tries = call.attempts + 1
            plural = "s" if tries != 1 else ""
            outcome = Refused(f"gave up after {tries} attempt{plural}: {outcome.reason}")
            state = store.FAILED
        else:
            state = _STATES.get(type(outcome), store.FAILED)
        now = utc(self.clock())
        if self.on_outcome is not None:
            self.on_outcome(self.service, "retry" if isinstance(outcome, Retry) else state)
        if isinstance(outcome, Retry):
            delay = retry_delay(
                outcome.after_seconds,
                call.attempts,
                self.first_backoff_seconds,
                self.max_backoff_seconds,
            )
            when = now + timedelta(seconds=delay)
            await self._written(call, lambda: self._retry(call, when, outcome.reason))
            return False
        kind = self.kinds.get(call.kind)
        follow = kind.then(call.guild_id, call.payload, outcome) if kind and kind.then else []
        await self._written(call, lambda: self._finish(call, state, _words(outcome), follow, now))
        if state != store.DONE:
            log.info("%s outbox: %s ended %s (%s)", self.service, call.key, state, _words(outcome))
        return True

    async def _written(self, call: Claimed, write: Callable[[], object]) -> None:
        """``write()`` (in a thread) what came of ``call``; while the database fails, again and
        again, up to the claim's time (this process holds it while it beats), then the error.
        The outcome is known here alone: lost, the call would stay in flight, to be made again
        (or called uncertain) by whoever claims it next."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.lease.total_seconds()
        wait = self.poll_seconds
        for tries in itertools.count(1):
            try:
                await asyncio.to_thread(write)
            except Exception as exc:
                if loop.time() + wait > give_up_at:
                    raise
                if tries == 1:
                    log.warning(
                        "%s outbox: what came of %s not recorded (%s); trying again",
                        self.service,
                        call.key,
                        exc,
                    )
                await asyncio.sleep(wait)
                wait = min(2 * wait, RECORD_RETRY_MAX_SECONDS)
            else:
                if tries > 1:
                    log.info("%s outbox: what came of %s recorded", self.service, call.key)
                return

    def _retry(self, call: Claimed, when: datetime, reason: str) -> None:
        with self.engine.begin() as conn:
            store.retry_at(conn, call.id, self.name, when, reason)

    def _finish(
        self, call: Claimed, state: str, result: str, follow: list[Effect], now: datetime
    ) -> None:
        with self.engine.begin() as conn:
            if store.finish(conn, call.id, self.name, state, result, now):
                for effect in follow:
                    store.enqueue(conn, effect, now)


_STATES = {Done: store.DONE, Refused: store.REFUSED, Uncertain: store.UNCERTAIN}


def _may_be_made(kind: Kind, watch: sending.Watch) -> bool:
    """Whether a call of ``kind`` that failed without an answer may have happened and must not
    be made again."""
    if kind.idempotent:
        return False
    return watch.went_out or not kind.says_when_sent


def _by_guild(calls: list[Claimed]) -> dict[int, list[Claimed]]:
    by_guild: dict[int, list[Claimed]] = {}
    for call in calls:
        by_guild.setdefault(call.guild_id, []).append(call)
    return by_guild


def _words(outcome: Outcome) -> str:
    return outcome.result if isinstance(outcome, Done) else outcome.reason
