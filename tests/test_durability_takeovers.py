"""Takeovers lose nothing: two or three ``core bot`` processes over PostgreSQL and Redis, one of
them killed with SIGKILL three times (and PostgreSQL and Redis restarted once each, between the
kills) while 200 guilds follow a stream whose viewers keep chatting, many of them in the very
second of a tick's instant (stamped with it, as by a platform whose clock runs a little ahead,
and queued just before the instant or just after it), some chats delivered twice as Kick may.

The 200 guilds follow the same Kick channel, so every chat counts in each of them; they are
spread over all 16 partitions (consecutive Discord shards), so every process ticks some, and
each kill takes a share of the guilds' owners away.

Checked per guild and per viewer against the model of ``tests/test_durability.py`` (a chat
counts from the first tick whose instant is after both its stamp and its delivery): no second
lost and none counted twice; and the first tick of every guild whose partition the killed
process held comes within 10 s of the kill (its leases run out 6 s after their last renewal).
A chat stamped with an instant but delivered before it is stamped at its delivery (the
receiver never takes a stamp later than the delivery), so it counts from that instant's own
tick; one delivered after it counts from the next.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.demo import BROADCASTER_ID, CHANNEL, _chat
from core.events import system_clock
from core.features.guilds.service import GuildService
from core.ownership.share import partition_of
from tests.test_durability import (
    BOT,
    GUILD,
    INTERVAL,
    Experiment,
    Process,
    Sent,
    SplitDeployment,
    _run_with_tick_watch,
    _wait_for_health,
    split_deployment,
)

pytestmark = pytest.mark.slow

GUILDS = [int(GUILD) + n * (1 << 22) for n in range(200)]  # shards 0, 1, 2, ... in turn
VIEWERS = [str(7100 + n) for n in range(20)]
SLOTS = 19  # tick intervals of chat (the last kill three before the end)
KILLS = (4, 10, 16)  # slots at which one bot is killed; restarted RESTART_AFTER slots on
RESTART_AFTER = 4
STORES_RESTARTED = {7: "postgres", 13: "redis"}  # between the kills, each with a bot down
TWICE = 0.1  # the share of chats Kick delivers a second time
TAKEOVER_SECONDS = 10.0  # the bound: leases end 6 s after the last renewal
# Two minutes of active window, not the other durability tests' one. A tick waits at most 60 s
# for what is queued before its instant (``core/guild_ticks.py``); on a machine busy enough to
# make it wait that long, the next tick comes 62 s after the last, and a one-minute window would
# rightly forget a viewer whose only chat came just after the last tick. Then the model and the
# bots agree on a viewer who counts nowhere, and "every viewer counts" tells a slow machine,
# not a lost chat. With two minutes, a tick that gave up waiting still counts that chat.
TAKEOVER_WINDOW = 120
# The first tick after a takeover is real work (a heartbeat, then a catch-up tick of 100 guilds
# on PostgreSQL), on a machine the test shares: its delay is printed, and bounded only as a hang.
TICK_HANG_SECONDS = 60.0


@dataclasses.dataclass
class Kill:
    at: float  # wall-clock time of the SIGKILL
    pid: int
    partitions: set[int]  # the partitions the killed process held

    @property
    def guilds(self) -> set[int]:
        return {g for g in GUILDS if partition_of(g) in self.partitions}


@dataclasses.dataclass
class TickLog:
    """Each guild's tick instants in order, and when each was first seen (wall clock: the
    start of the query that saw it, by when it was committed); and the partition leases'
    holders as seen, with when."""

    ticks: dict[int, list[datetime]]
    seen_at: dict[int, list[float]]
    holders: list[tuple[float, dict[int, str]]] = dataclasses.field(default_factory=list)

    def moved_at(self, kill: Kill, pid: int) -> float | None:
        """When every partition of the killed process was first seen held by another."""
        for seen, holders in self.holders:
            if seen > kill.at and all(
                p in holders and f"-{pid}-" not in holders[p] for p in kill.partitions
            ):
                return seen
        return None

    def first_after(self, guild_id: int, moment: float) -> float | None:
        """When the guild's first tick for an instant after ``moment`` was seen."""
        for instant, seen in zip(self.ticks[guild_id], self.seen_at[guild_id], strict=True):
            if instant.timestamp() > moment:
                return seen
        return None


def _watch(database_url: str, log: TickLog, stop: threading.Event) -> None:
    engine = sa.create_engine(database_url)
    query = sa.text("SELECT guild_id, last_tick_at FROM watch_settings")
    leases = sa.text(
        "SELECT name, holder FROM leases WHERE name LIKE 'partition:%' AND expires_at > :now"
    )
    try:
        while not stop.is_set():
            now = time.time()
            try:
                with engine.connect() as conn:
                    rows = conn.execute(query).all()
                    held = conn.execute(leases, {"now": datetime.now(UTC)}).all()
            except sa.exc.SQLAlchemyError:
                rows, held = [], []
            log.holders.append((now, {int(name.split(":")[1]): holder for name, holder in held}))
            for guild_id, value in rows:
                if value is None or guild_id not in log.ticks:
                    continue
                value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
                ticks = log.ticks[guild_id]
                if not ticks or value > ticks[-1]:
                    ticks.append(value)
                    log.seen_at[guild_id].append(now)
            stop.wait(0.05)
    finally:
        engine.dispose()


def _partitions_of(engine: sa.Engine, pid: int) -> set[int]:
    query = sa.text(
        "SELECT name, holder FROM leases WHERE name LIKE 'partition:%' AND expires_at > :now"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"now": datetime.now(UTC)}).all()
    return {int(name.split(":")[1]) for name, holder in rows if f"-{pid}-" in holder}


def _wait_until_each_holds_a_share(engine: sa.Engine, pids: list[int]) -> None:
    """Until every bot holds partitions (one started again takes its share within seconds of
    its start), so that the next kill takes a share away from living processes."""
    deadline = time.monotonic() + 60
    while not all(_partitions_of(engine, pid) for pid in pids):
        assert time.monotonic() < deadline, "a bot never took its share of the partitions"
        time.sleep(0.2)


def _chat_in_the_instants_second(
    experiment: Experiment, viewer: str, n: int, *, queued_before: bool
) -> None:
    """A chat stamped with the next instant's own second (as by a platform whose clock runs a
    little ahead), delivered 0.3 s before the instant or 0.15 s after it."""
    instant = (time.time() // INTERVAL + 1) * INTERVAL
    time.sleep(max(0.0, instant + (-0.3 if queued_before else 0.15) - time.time()))
    said_at = datetime.fromtimestamp(instant, UTC)
    sent = Sent(viewer, f"chat-{viewer}-own-{n}", said_at, f"01DUO{viewer}{n:04d}".ljust(26, "0"))
    experiment.chats.append(sent)
    payload = _chat(sent.chat_id, (viewer, f"viewer{viewer}"), "gg", said_at)
    experiment.send("chat.message.sent", payload, sent.message_id, sent, at_a_safe_moment=False)
    if sent.accepted_at is not None and sent.accepted_at < instant:
        # A stamp is never later than the delivery (the receiver's rule): queued before the
        # instant, it is stamped then, and counts from the instant's own tick.
        sent.said_at = datetime.fromtimestamp(sent.accepted_at, UTC)


@pytest.mark.parametrize("bots", [2, 3])
def test_takeovers_lose_and_double_nothing_and_pass_on_within_ten_seconds(
    tmp_path, kick_keys, bots
):
    with split_deployment(tmp_path, kick_keys, window=TAKEOVER_WINDOW) as split:
        engine = sa.create_engine(split.database_url, pool_pre_ping=True)  # PostgreSQL restarts
        try:
            _play_and_check(tmp_path, split, engine, bots)
        finally:
            engine.dispose()


def _play_and_check(tmp_path, split: SplitDeployment, engine: sa.Engine, bots: int) -> None:  # type: ignore[no-untyped-def]
    experiment, processes = split.experiment, split.processes
    guilds = GuildService(engine, system_clock)
    for guild_id in GUILDS[1:]:
        guilds.set_kick_channel(guild_id, CHANNEL, BROADCASTER_ID)
    names = [f"bot-{n}" for n in range(bots)]
    for name in names:
        processes[name] = Process(experiment.env, BOT, tmp_path / f"{name}.log")
    _wait_for_health(experiment.url)
    log = TickLog({g: [] for g in GUILDS}, {g: [] for g in GUILDS})
    experiment.other_ticks = [log.ticks[g] for g in GUILDS[1:]]
    kills: list[Kill] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(split.database_url, log, stop))
    watcher.start()
    try:
        _run_with_tick_watch(
            experiment,
            split.database_url,
            lambda: _play(split, names, engine, kills, tmp_path),
        )
    finally:
        stop.set()
        watcher.join(timeout=10)

    stored = _stored_seconds(engine)
    mismatched = {}
    for guild_id in GUILDS:
        of_guild = dataclasses.replace(experiment, ticks=log.ticks[guild_id])
        differ = of_guild.differences(stored.get(guild_id, {}))
        if differ or len(of_guild.expected_seconds()) != len(VIEWERS):
            mismatched[guild_id] = differ
    assert not experiment.waiting, "some deliveries were never accepted"
    if mismatched:
        guild_id, differ = next(iter(mismatched.items()))
        ticks_seen = [f"{t:%H:%M:%S}" for t in log.ticks[guild_id]]
        of_guild = dataclasses.replace(experiment, ticks=log.ticks[guild_id])
        uncounted = set(VIEWERS) - of_guild.expected_seconds().keys()
        raise AssertionError(
            f"{len(mismatched)} guilds differ; outcomes {experiment.outcomes}; guild {guild_id}:"
            f" (allowed, stored) {differ}; counting nobody for {sorted(uncounted)}\n"
            f"its ticks {ticks_seen}\n{experiment.story_of(set(differ) | uncounted)}"
        )

    assert len(kills) == len(KILLS)
    delays, moves = [], []
    for kill in kills:
        assert kill.partitions, "the killed process held no partition"
        firsts = {g: log.first_after(g, kill.at) for g in kill.guilds}
        assert None not in firsts.values(), "a guild of the killed process was never ticked"
        delays.append(round(max(firsts.values()) - kill.at, 2))  # type: ignore[type-var,operator]
        moved = log.moved_at(kill, kill.pid)
        moves.append(None if moved is None else round(moved - kill.at, 2))
    print(f"after each kill: partitions moved {moves} s, first ticks at the latest {delays} s")  # noqa: T201
    # The promise itself: the dead process's partitions pass on within the bound. (The watcher
    # may miss a move the restarted process undid before its next look: None, not counted.)
    seen = [moved for moved in moves if moved is not None]
    assert seen, (moves, delays)
    assert max(seen) <= TAKEOVER_SECONDS, (moves, delays)
    assert max(delays) <= TICK_HANG_SECONDS, (moves, delays)


def _play(  # type: ignore[no-untyped-def]
    split: SplitDeployment,
    names: list[str],
    engine: sa.Engine,
    kills: list[Kill],
    tmp_path,
) -> None:
    """Live; then each tick interval a few viewers chat in the middle of it (some delivered
    twice) and one or two in the second of the next instant; one bot is killed at the slots of
    KILLS (in turn) and started again RESTART_AFTER slots on, a store restarted at the slots of
    STORES_RESTARTED; offline, and two more ticks of every guild."""
    experiment, processes = split.experiment, split.processes
    rng = random.Random(26)  # noqa: S311 - a repeatable script
    experiment.status(True, 0)
    # Every guild live and ticking before anyone chats, so that every viewer counts in the end
    # however long a busy machine takes to start three processes.
    experiment.wait_until_every_guild_ticked_now()
    restarts: dict[int, str] = {}
    victims = iter(names * len(KILLS))
    own = 0
    for slot in range(SLOTS):
        if slot in restarts:
            name = restarts.pop(slot)
            processes[name] = Process(experiment.env, BOT, tmp_path / f"{name}.log")
        if slot in KILLS:
            # Each disruption starts from a steady state: every bot holds a share and every
            # guild ticked the current instant (not one still catching up on the last one).
            _wait_until_each_holds_a_share(engine, [processes[n].popen.pid for n in names])
            experiment.wait_until_every_guild_ticked_now()
            name = next(victims)
            pid = processes[name].popen.pid
            held = _partitions_of(engine, pid)
            kills.append(Kill(time.time(), pid, held))
            processes[name].kill()
            restarts[slot + RESTART_AFTER] = name
        if slot in STORES_RESTARTED:
            # Not during a takeover (its first ticks are timed): every guild ticked now first.
            # A chat meanwhile is refused (503) and sent again once every guild ticks again.
            experiment.wait_until_every_guild_ticked_now()
            restart = {"postgres": split.restart_postgres, "redis": split.restart_redis}
            recovered_at = restart[STORES_RESTARTED[slot]](VIEWERS[slot])
            experiment.wait_for_tick_after(recovered_at)
            experiment.resend_waiting()
        # Everyone chats in the first slots, so every viewer counts in the end.
        chatting = VIEWERS[slot * 4 : slot * 4 + 4] or rng.sample(VIEWERS, rng.randint(1, 3))
        for viewer in chatting:
            sent = experiment.chat(viewer, slot)
            if rng.random() < TWICE:
                payload = _chat(sent.chat_id, (viewer, f"viewer{viewer}"), "gg", sent.said_at)
                experiment.send("chat.message.sent", payload, sent.message_id, sent)
        for viewer in rng.sample(VIEWERS, rng.randint(1, 2)):
            own += 1
            _chat_in_the_instants_second(experiment, viewer, own, queued_before=own % 2 == 0)
    for name in restarts.values():
        processes[name] = Process(experiment.env, BOT, tmp_path / f"{name}.log")
    experiment.resend_waiting()
    experiment.status(False, 1)
    offline_at = time.time()
    experiment.wait_until_every_guild_ticked_now()
    deadline = time.monotonic() + 60
    while not all(t and t[-1].timestamp() > offline_at + INTERVAL for t in experiment.other_ticks):
        assert time.monotonic() < deadline, "not every guild ticked twice after going offline"
        time.sleep(0.1)
    experiment.wait_for_tick_after(offline_at + INTERVAL)


def _stored_seconds(engine: sa.Engine) -> dict[int, dict[str, int]]:
    query = sa.text("SELECT guild_id, platform_user_id, seconds FROM watchtime WHERE seconds > 0")
    stored: dict[int, dict[str, int]] = {}
    with engine.connect() as conn:
        for guild_id, viewer, seconds in conn.execute(query):
            stored.setdefault(guild_id, {})[viewer] = seconds
    return stored
