"""Kill -9 and restart experiments: every viewer's watchtime against the rules, on both deployments.

A scripted stream of signed webhooks (chat, some delivered twice, some refused while a process is
down and sent again later) plays against real processes while the bot is killed with SIGKILL and
restarted, and (split deployment) PostgreSQL and Redis are restarted. The expected seconds come
from docs/watchtime.md's rules applied to the script and the instants at which ticks ran (read from
the database as they happen): at each tick, a viewer whose latest chat queued before the tick's
instant is at most the active window old gains the seconds since the previous tick (capped at
the window) while the channel is live. Nothing may be lost and nothing counted twice.

Ticks run at multiples of WATCH_INTERVAL_SECONDS; the script sends only well inside an interval
(never within 0.4 s of a tick's instant), and after each disruption waits until a tick has run,
so "queued before the tick" is never a race.

A tick counts chat *said* before its instant that was handled before it ran, however late it
runs. So the model's "queued before the instant" is exact only when no tick runs between a chat's
stamp and its queueing: the script stamps a chat in the safe moment it sends it (the same
interval), and sends a refused chat again (stamped in an earlier interval) only once every
guild's tick of the current interval has run. (Stamping before waiting for the safe moment let a
chat stamped at T-1 be queued at T+0.4, and a tick of T that ran late counted it: seen as one
viewer credited a tick early in every guild after a store restart.)

A tick counts a chat by its stamp: from the first tick whose instant is strictly after it (one
stamped in an instant's own second counts from the next tick), so the model counts a chat from
the first tick whose instant came after both its stamp and its delivery; in the scripts here,
which stamp a chat in the interval they send it, the two agree.

A delivery that a loaded machine slows past the next instant (sent before it, answered after)
leaves one thing open: whether the tick of that instant ran before or after it was handled. Such
a chat counts from that tick or from the next one, and each viewer's seconds must be what one of
those gives (``Experiment.differences``); every other chat counts exactly as above.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from core.demo import BROADCASTER_ID, CHANNEL, _chat, _status
from core.platforms.http import tls_context
from core.platforms.kick.signing import signed_headers
from tests.conftest import IS_CI, TEST_FERNET_KEY
from tests.services import free_port
from tests.support.cli import run as run_cli
from tests.support.fake_apps import apps_knowing
from tests.support.waiting import PROCESS_HANG_SECONDS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GUILD = "300000000000000003"
INTERVAL = 2  # WATCH_INTERVAL_SECONDS
WINDOW = 60  # ACTIVE_WINDOW_MINUTES=1
MARGIN = 0.4  # no webhook is sent closer than this to a tick's instant
# Chats of one viewer whose delivery was answered after the instant it was sent before: a busy
# machine makes many (every one of a viewer's chats, at its worst); 2**this choices are tried.
MOST_STRADDLING_PER_VIEWER = 10
VIEWERS = 30


@dataclass
class Sent:
    """A chat as the script sends it, and when its delivery was accepted (None: not yet)."""

    viewer: str
    chat_id: str
    said_at: datetime
    message_id: str
    accepted_at: float | None = None  # when its first accepted delivery was sent
    answered_at: float | None = None  # and answered
    answers: list[tuple[float, float, str]] = field(default_factory=list)  # started, done, status

    @property
    def straddles_an_instant(self) -> bool:
        """Its first accepted delivery was sent before a tick's instant that counts it (one
        after its stamp) and answered after it."""
        if self.accepted_at is None or self.answered_at is None:
            return False
        sent = max(self.accepted_at, self.said_at.timestamp())
        return int(sent // INTERVAL) != int(self.answered_at // INTERVAL)


@dataclass
class Experiment:
    env: dict[str, str]
    url: str
    private_key: object
    tmp: Path
    ticks: list[datetime] = field(default_factory=list)
    statuses: list[tuple[float, bool]] = field(default_factory=list)
    chats: list[Sent] = field(default_factory=list)
    waiting: list[tuple[str, dict, str, Sent | None]] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    # send() runs in many threads at once (tests/test_durability_chat_commands.py): one count at
    # a time, or two answers at the same moment count as one
    _counting: threading.Lock = field(default_factory=threading.Lock, repr=False)
    other_ticks: list[list[datetime]] = field(default_factory=list)  # other guilds', if any
    window: int = WINDOW  # seconds: the deployment's ACTIVE_WINDOW_MINUTES

    # --- timing -------------------------------------------------------------------------

    def wait_for_safe_moment(self) -> None:
        while True:
            into = time.time() % INTERVAL
            if MARGIN <= into <= INTERVAL - MARGIN - 0.1:
                return
            time.sleep((MARGIN - into) % INTERVAL + 0.01)

    def wait_for_tick_after(self, moment: float, timeout: float = PROCESS_HANG_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ticks and self.ticks[-1].timestamp() > moment:
                return
            time.sleep(0.05)
        raise AssertionError(f"no tick ran after {moment} within {timeout} s")

    def wait_until_every_guild_ticked_now(self, timeout: float = PROCESS_HANG_SECONDS) -> None:
        """A safe moment of an interval whose starting instant every guild has ticked."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wait_for_safe_moment()
            instant = time.time() // INTERVAL * INTERVAL
            lists = [self.ticks, *self.other_ticks]
            if all(ticks and ticks[-1].timestamp() >= instant for ticks in lists):
                return
            time.sleep(0.05)
        raise AssertionError(f"not every guild ticked the current instant within {timeout} s")

    # --- webhooks -----------------------------------------------------------------------

    def send(
        self,
        event_type: str,
        payload: dict,
        message_id: str,
        chat: Sent | None,
        *,
        at_a_safe_moment: bool = True,
    ) -> None:
        """Deliver a webhook (at a safe moment of the interval, unless told not to wait)."""
        if at_a_safe_moment:
            self.wait_for_safe_moment()
        body = json.dumps(payload).encode()
        headers = signed_headers(
            self.private_key, body, event_type=event_type, message_id=message_id
        )
        started = time.time()
        try:
            response = httpx.post(
                f"{self.url}/webhooks/kick",
                content=body,
                headers=headers,
                timeout=5,
                verify=tls_context(),
            )
            outcome = response.json().get("status", str(response.status_code))
            answer = response.text
        except httpx.HTTPError:
            outcome = answer = "unreachable"
        finished = time.time()
        assert outcome in {"queued", "duplicate", "unavailable", "unreachable"}, answer
        with self._counting:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if chat is not None:
            chat.answers.append((started, finished, outcome))
        if outcome in {"unavailable", "unreachable"}:
            self.waiting.append((event_type, payload, message_id, chat))  # Kick retries later
            return
        if chat is not None and chat.accepted_at is None:
            chat.accepted_at, chat.answered_at = started, finished
        if event_type == "livestream.status.updated" and outcome == "queued":
            self.statuses.append((started, bool(payload["is_live"])))

    def resend_waiting(self) -> None:
        waiting, self.waiting = self.waiting, []
        for event_type, payload, message_id, chat in waiting:
            self.wait_until_every_guild_ticked_now()
            self.send(event_type, payload, message_id, chat)

    def chat(self, viewer: str, n: int) -> Sent:
        self.wait_for_safe_moment()  # stamped in the interval it is sent in
        said_at = datetime.now(UTC).replace(microsecond=0)
        sent = Sent(viewer, f"chat-{viewer}-{n}", said_at, f"01DUR{viewer}{n:04d}".ljust(26, "0"))
        self.chats.append(sent)
        payload = _chat(sent.chat_id, (viewer, f"viewer{viewer}"), "gg", said_at)
        self.send("chat.message.sent", payload, sent.message_id, sent)
        return sent

    def status(self, is_live: bool, n: int) -> None:
        self.wait_for_safe_moment()
        now = datetime.now(UTC).replace(microsecond=0)
        payload = _status(is_live, now, None if is_live else now)
        self.send("livestream.status.updated", payload, f"01DURSTATUS{n:04d}".ljust(26, "0"), None)

    # --- the model ----------------------------------------------------------------------

    def story_of(self, viewers: set[str]) -> str:
        """What the script did for these viewers (each send's start, end and answer) and the
        stream's changes, for a failure's message."""
        lines = [f"status live={live} accepted {at:.3f}" for at, live in self.statuses]
        for chat in self.chats:
            if chat.viewer in viewers:
                sends = ", ".join(f"{a:.3f}-{b:.3f} {o}" for a, b, o in chat.answers)
                lines.append(f"{chat.viewer} said {chat.said_at:%H:%M:%S}: {sends}")
        return "\n".join(lines)

    def expected_seconds(
        self, late: frozenset[str] = frozenset(), *, only: str | None = None
    ) -> dict[str, int]:
        """Each viewer's seconds by the rules (``only`` that viewer's, when given), a chat
        counting from the first tick whose instant came after it was sent and after its stamp
        (``late``: the message ids of chats counted from the first tick whose instant came after
        it was answered)."""
        expected: dict[str, int] = {}
        chats = [chat for chat in self.chats if only is None or chat.viewer == only]
        for previous, tick in zip(self.ticks, self.ticks[1:], strict=False):
            instant = tick.timestamp()
            changes = [is_live for at, is_live in self.statuses if at < instant]
            if changes and not changes[-1]:
                continue
            latest: dict[str, float] = {}
            for chat in chats:
                accepted = chat.answered_at if chat.message_id in late else chat.accepted_at
                said = chat.said_at.timestamp()
                if accepted is not None and accepted < instant and said < instant:
                    latest[chat.viewer] = max(latest.get(chat.viewer, said), said)
            seconds = min(int((tick - previous).total_seconds()), self.window)
            for viewer, said in latest.items():
                if said >= instant - self.window:
                    expected[viewer] = expected.get(viewer, 0) + seconds
        return expected

    def differences(self, actual: dict[str, int]) -> dict[str, tuple[list[int], int]]:
        """The viewers whose ``actual`` seconds are none of what the rules allow: (what they
        allow, actual). A chat whose first accepted delivery was sent before an instant and
        answered after it may count either way; a viewer has a choice for each such chat."""
        straddling: dict[str, list[str]] = {}
        for chat in self.chats:
            if chat.straddles_an_instant:
                straddling.setdefault(chat.viewer, []).append(chat.message_id)
        # A busy machine answers slowly, so more chats straddle; each doubles the choices.
        most = MOST_STRADDLING_PER_VIEWER
        assert all(len(ids) <= most for ids in straddling.values()), f"slow deliveries {straddling}"
        allowed = {viewer: {seconds} for viewer, seconds in self.expected_seconds().items()}
        for viewer, ids in straddling.items():
            for late in itertools.product((False, True), repeat=len(ids)):
                chosen = frozenset(i for i, is_late in zip(ids, late, strict=True) if is_late)
                seconds = self.expected_seconds(chosen, only=viewer).get(viewer, 0)
                allowed.setdefault(viewer, {0}).add(seconds)
        return {
            viewer: (sorted(allowed.get(viewer, {0})), actual.get(viewer, 0))
            for viewer in allowed.keys() | actual.keys()
            if actual.get(viewer, 0) not in allowed.get(viewer, {0})
        }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """A one-shot command (migrate, export) as an operator runs it, in this process."""
    return run_cli(env, *args, cwd=Path(env["DATA_DIR"]).parent)


class Process:
    """A process this test started, stopped only through its own PID."""

    def __init__(self, env: dict[str, str], command: list[str], log: Path) -> None:
        self.log = log.open("a")
        self.popen = subprocess.Popen(
            command, env=env, cwd=Path(env["DATA_DIR"]).parent, stdout=self.log, stderr=self.log
        )

    def kill(self) -> None:
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self.log.close()


def _watch_ticks(database_url: str, experiment: Experiment, stop: threading.Event) -> None:
    """Record every value the guild's tick clock takes (ticks are INTERVAL s apart)."""
    engine = sa.create_engine(database_url)
    query = sa.text("SELECT last_tick_at FROM watch_settings WHERE guild_id = :guild")
    try:
        while not stop.is_set():
            try:
                with engine.connect() as conn:
                    value = conn.execute(query, {"guild": int(GUILD)}).scalar()
            except sa.exc.SQLAlchemyError:
                value = None
            if value is not None:
                if isinstance(value, str):
                    value = datetime.fromisoformat(value)
                value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
                if not experiment.ticks or value > experiment.ticks[-1]:
                    experiment.ticks.append(value)
            stop.wait(0.05)
    finally:
        engine.dispose()


def _wait_for_health(url: str, timeout: float = PROCESS_HANG_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1, verify=tls_context()).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the web side did not answer /health in time")


def _play(experiment: Experiment, disruptions: dict[int, object], slots: int = 26) -> None:
    """The script: live, then chat slot by slot (one slot per tick interval), the disruptions
    at their slots, offline, and two more ticks."""
    rng = random.Random(11)  # noqa: S311 - a repeatable script
    arrivals = {str(7000 + n): rng.randrange(1, slots - 4) for n in range(VIEWERS)}
    experiment.status(True, 0)
    for slot in range(1, slots):
        disruption = disruptions.get(slot)
        if disruption is not None:
            recovered_at = disruption()  # type: ignore[operator]
            experiment.wait_for_tick_after(recovered_at)
            experiment.resend_waiting()
        for viewer, arrival in arrivals.items():
            if arrival <= slot and (slot == arrival or rng.random() < 0.15):
                sent = experiment.chat(viewer, slot)
                if rng.random() < 0.1:  # Kick delivers it twice
                    payload = _chat(sent.chat_id, (viewer, f"viewer{viewer}"), "gg", sent.said_at)
                    experiment.send("chat.message.sent", payload, sent.message_id, sent)
        experiment.wait_for_tick_after(time.time())
    experiment.resend_waiting()
    experiment.status(False, 1)
    offline_at = time.time()
    experiment.wait_for_tick_after(offline_at)
    experiment.wait_for_tick_after(offline_at + INTERVAL)


def _experiment(tmp_path: Path, kick_keys, *, window: int = WINDOW, **env: str) -> Experiment:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KICK_", "DISCORD_", "DATABASE_", "REDIS_", "PORT", "HOST"))
    }
    port = free_port()
    base.update(
        PYTHONPATH=str(ROOT),
        DATA_DIR=str(tmp_path / "data"),
        KICK_WEBHOOK_PUBLIC_KEY=kick_keys[1],
        PYTHONUNBUFFERED="1",
        PORT=str(port),
        WATCH_INTERVAL_SECONDS=str(INTERVAL),
        ACTIVE_WINDOW_MINUTES=str(window // 60),
        LOG_LEVEL=os.environ.get("DURABILITY_LOG_LEVEL", "WARNING"),
        **env,
    )
    experiment = Experiment(base, f"http://127.0.0.1:{port}", kick_keys[0], tmp_path, window=window)
    assert _cli(base, "migrate").returncode == 0
    with apps_knowing(base, kick=(CHANNEL, BROADCASTER_ID)) as checking:
        added = _cli(
            checking,
            "guild",
            "add",
            GUILD,
            "--kick-channel",
            CHANNEL,
            "--kick-broadcaster-id",
            BROADCASTER_ID,
        )
    assert added.returncode == 0, added.stderr
    return experiment


def _run_with_tick_watch(experiment: Experiment, database_url: str, play) -> None:
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_ticks, args=(database_url, experiment, stop))
    watcher.start()
    try:
        play()
    finally:
        stop.set()
        watcher.join(timeout=10)


def test_embedded_run_killed_three_times_loses_and_doubles_nothing(tmp_path, kick_keys):
    experiment = _experiment(tmp_path, kick_keys)
    log = tmp_path / "run.log"
    command = [sys.executable, "-m", "core", "run"]
    running = [Process(experiment.env, command, log)]
    _wait_for_health(experiment.url)

    def kill_and_restart() -> float:
        running[0].kill()
        # While it is down, Kick's deliveries fail and are sent again later.
        experiment.chat("7999", len(experiment.chats))
        running[0] = Process(experiment.env, command, log)
        _wait_for_health(experiment.url)
        return time.time()

    database_url = f"sqlite:///{tmp_path / 'data' / 'streamkeeper.sqlite3'}"
    try:
        _run_with_tick_watch(
            experiment,
            database_url,
            lambda: _play(experiment, dict.fromkeys((5, 11, 17), kill_and_restart)),
        )
    finally:
        running[0].stop()
    _check_with(experiment, VIEWERS + 1)


def _check_with(experiment: Experiment, viewers: int) -> None:
    result = _cli(experiment.env, "export", "--guild", GUILD, "--format", "json")
    assert result.returncode == 0, result.stderr
    actual = {row["platform_user_id"]: row["seconds"] for row in json.loads(result.stdout)}
    expected = experiment.expected_seconds()
    assert not experiment.waiting, "some deliveries were never accepted"
    assert len(expected) == viewers, (len(expected), viewers)
    mismatches = experiment.differences(actual)
    assert mismatches == {}, (
        f"(allowed, stored) per viewer; outcomes {experiment.outcomes}; ticks "
        f"{[f'{t:%H:%M:%S}' for t in experiment.ticks]}\n{experiment.story_of(set(mismatches))}"
    )


@dataclass
class SplitDeployment:
    """PostgreSQL and Redis of this test's own (restartable), the experiment on them, and the
    gunicorn web side; the bot processes are the test's."""

    postgres: Any
    redis: Any
    experiment: Experiment
    database_url: str
    processes: dict[str, Process] = field(default_factory=dict)

    def restart_postgres(self, viewer: str) -> float:
        self.postgres.stop()
        self.experiment.chat(viewer, len(self.experiment.chats))  # refused: 503, sent later
        self.postgres.start()
        return time.time()

    def restart_redis(self, viewer: str) -> float:
        self.redis.stop()
        self.experiment.chat(viewer, len(self.experiment.chats))  # refused: 503, sent later
        self.redis.start()
        return time.time()


@contextmanager
def split_deployment(  # type: ignore[no-untyped-def]
    tmp_path: Path, kick_keys, *, window: int = WINDOW, **env: str
) -> Iterator[SplitDeployment]:
    """The split deployment's stores and web side (``window``: the active window in seconds,
    whole minutes; ``env``: more settings), stopped (every process started here or by the
    test, by its PID) and removed afterwards."""
    from tests import services
    from tests.conftest import _fresh_postgres_database

    try:
        postgres = services.RestartablePostgres()
        redis_server = services.RestartableRedis()
    except services.ServiceUnavailable as exc:
        if IS_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    postgres.start()
    redis_server.start()
    deployment = None
    try:
        database_url = _fresh_postgres_database(postgres.url)
        experiment = _experiment(
            tmp_path,
            kick_keys,
            window=window,
            DATABASE_URL=database_url,
            REDIS_URL=redis_server.url,
            FLASK_SECRET_KEY="durability-test-secret-a-key-of-32-characters-or-more",
            TOKEN_ENCRYPTION_KEY=TEST_FERNET_KEY,
            **env,
        )
        deployment = SplitDeployment(postgres, redis_server, experiment, database_url)
        web = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", experiment.url[7:]]
        web.append("core.wsgi:create_app()")
        deployment.processes["web"] = Process(experiment.env, web, tmp_path / "web.log")
        yield deployment
    finally:
        for process in deployment.processes.values() if deployment else ():
            process.stop()
        redis_server.remove()
        postgres.remove()


BOT = [sys.executable, "-m", "core", "bot"]


def test_split_gunicorn_and_bot_survive_kills_and_database_and_redis_restarts(tmp_path, kick_keys):
    with split_deployment(tmp_path, kick_keys) as split:
        experiment, processes = split.experiment, split.processes
        processes["bot"] = Process(experiment.env, BOT, tmp_path / "bot.log")
        _wait_for_health(experiment.url)

        def kill_bot() -> float:
            processes["bot"].kill()
            experiment.chat("7998", len(experiment.chats))  # queued while the bot is down
            processes["bot"] = Process(experiment.env, BOT, tmp_path / "bot.log")
            return time.time()

        disruptions = {
            5: kill_bot,
            9: lambda: split.restart_postgres("7997"),
            13: kill_bot,
            17: lambda: split.restart_redis("7996"),
        }
        _run_with_tick_watch(experiment, split.database_url, lambda: _play(experiment, disruptions))
        _check_with(experiment, VIEWERS + 3)


def _stored_chats(database: Path) -> list[str]:
    """The chat ids of every event in the queue (acknowledged by the dispatcher or not)."""
    import sqlite3

    conn = sqlite3.connect(database, timeout=30)
    try:
        payloads = [row[0] for row in conn.execute("SELECT payload FROM bus_events")]
    finally:
        conn.close()
    return [json.loads(payload)["event_id"] for payload in payloads]


def test_embedded_kill_during_group_commits_keeps_every_acknowledged_webhook(tmp_path, kick_keys):
    """Many senders at once (so appends are group-committed), kill -9 mid-stream: every
    delivery answered 200 is in the database after the kill, and sending everything again
    after a restart stores each chat exactly once."""
    experiment = _experiment(tmp_path, kick_keys)
    command = [sys.executable, "-m", "core", "run"]
    database = tmp_path / "data" / "streamkeeper.sqlite3"
    said_at = datetime.now(UTC).replace(microsecond=0)
    deliveries = []
    for n in range(800):
        chat_id = f"gc-chat-{n:04d}"
        body = json.dumps(_chat(chat_id, (str(8000 + n % 50), f"v{n % 50}"), "gg", said_at))
        message_id = f"01GC{n:06d}".ljust(26, "0")
        headers = signed_headers(
            experiment.private_key,
            body.encode(),
            event_type="chat.message.sent",
            message_id=message_id,
        )
        deliveries.append((chat_id, body.encode(), headers))

    def send_all(outcomes: dict[str, str], senders: int = 16) -> list[threading.Thread]:
        def sender(share) -> None:
            with httpx.Client(timeout=10, verify=tls_context()) as client:
                for chat_id, body, headers in share:
                    try:
                        response = client.post(
                            f"{experiment.url}/webhooks/kick", content=body, headers=headers
                        )
                        outcomes[chat_id] = f"{response.status_code} {response.json()['status']}"
                    except httpx.HTTPError:
                        outcomes[chat_id] = "unreachable"

        threads = [
            threading.Thread(target=sender, args=(deliveries[i::senders],)) for i in range(senders)
        ]
        for thread in threads:
            thread.start()
        return threads

    process = Process(experiment.env, command, tmp_path / "run.log")
    first: dict[str, str] = {}
    try:
        _wait_for_health(experiment.url)
        threads = send_all(first)
        deadline = time.monotonic() + 60
        # The senders add to ``first`` meanwhile: count a copy (dict.copy holds the GIL).
        while sum(o == "200 queued" for o in first.copy().values()) < 150:
            assert time.monotonic() < deadline, "the senders did not get going"
            time.sleep(0.01)
    finally:
        process.kill()  # mid-stream: with 16 senders, batches are being committed
    for thread in threads:
        thread.join(30)

    acknowledged = {chat for chat, outcome in first.items() if outcome == "200 queued"}
    assert set(first.values()) <= {"200 queued", "unreachable"}, set(first.values())
    assert len(acknowledged) >= 150
    assert len(acknowledged) < len(deliveries), "the kill came too late to test anything"
    stored = _stored_chats(database)
    assert acknowledged <= set(stored), "an acknowledged webhook was lost"
    assert len(stored) == len(set(stored))

    # Kick retries everything it did not see answered; we resend everything.
    process = Process(experiment.env, command, tmp_path / "run.log")
    try:
        _wait_for_health(experiment.url)
        second: dict[str, str] = {}
        for thread in send_all(second):
            thread.join(60)
    finally:
        process.stop()
    stored_after = _stored_chats(database)
    assert sorted(stored_after) == sorted(chat_id for chat_id, _, _ in deliveries)  # once each
    assert {second[chat] for chat in acknowledged} == {"200 duplicate"}
    assert set(second.values()) <= {"200 queued", "200 duplicate"}
