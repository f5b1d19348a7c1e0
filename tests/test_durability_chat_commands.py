"""Kill -9 while chat commands wait on their guild's queue, with real processes: the embedded
bot restarted, and the split deployment's other bot taking over without a restart.

The embedded bot (``core run`` on SQLite) keeps a guild's points in StreamElements (a fake on
loopback whose balance reads hang), and ten viewers type ``!points`` at once. The first command
waits on StreamElements and the other nine wait behind it on the guild's queue; the bus has
heard every message handled. The bot is killed with SIGKILL right then and started again, and
StreamElements answers again. Every viewer gets exactly one answer: the restarted bot takes the
ten commands the dead one left in ``chat_commands_pending`` once its heartbeat lease has run
out. (Before they were kept, the nine waiting commands were lost with the process.) Three
slot calls waiting behind them are each stored once and answered once as well.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.demo import _chat
from core.events import Platform, system_clock
from core.features.linking.repository import AccountLink, save_link
from core.features.points.se_wallet import SeWallet
from core.features.slot_calls.service import SlotCallService
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.support.waiting import PROCESS_HANG_SECONDS
from tests.test_durability import (
    BOT,
    GUILD,
    Process,
    _experiment,
    _wait_for_health,
    split_deployment,
)

pytestmark = pytest.mark.slow

VIEWERS = [str(8000 + n) for n in range(10)]


def _count(database_url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def _eventually(check, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + PROCESS_HANG_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {PROCESS_HANG_SECONDS} s")
        time.sleep(0.05)


PENDING = "SELECT count(*) FROM chat_commands_pending"


def _points_in_streamelements(database_url: str, se: FakeStreamElements) -> threading.Event:
    """The guild keeps its points in the fake StreamElements, each viewer with a balance there
    that reads hang on until the event is set; each Kick viewer's Discord member linked their
    Twitch account, whose login StreamElements keeps the points by."""
    engine = sa.create_engine(database_url)
    try:
        wallet = SeWallet(engine, system_clock, TokenCipher(TEST_FERNET_KEY), None)  # type: ignore[arg-type]
        wallet.use_streamelements(int(GUILD), CHANNEL_ID, JWT)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for n, viewer in enumerate(VIEWERS, start=1):
                for platform, user_id in ((Platform.KICK, viewer), (Platform.TWITCH, f"t{viewer}")):
                    link = AccountLink(platform, user_id, 1000 + n, f"viewer{viewer}", now)
                    save_link(conn, link, int(GUILD))
    finally:
        engine.dispose()
    for viewer in VIEWERS:
        se.points[f"viewer{viewer}"] = 100 + int(viewer) % 100
    return se.hang_reads()


def _every_viewer_types_points(experiment, calls: int = 0) -> list[str]:  # type: ignore[no-untyped-def]
    """Each viewer types ``!points`` at once (signed Kick webhooks), and then the first
    ``calls`` of them ``!call Slot <n>`` each; their message ids."""
    said_at = datetime.now(UTC).replace(microsecond=0)
    messages = {f"points-{viewer}": (viewer, "!points", "01PTS") for viewer in VIEWERS}

    def send(message_id: str) -> None:
        viewer, text, tag = messages[message_id]
        payload = _chat(message_id, (viewer, f"viewer{viewer}"), text, said_at)
        delivery = f"{tag}{viewer}".ljust(26, "0")
        experiment.send("chat.message.sent", payload, delivery, None, at_a_safe_moment=False)

    with ThreadPoolExecutor(len(messages)) as pool:
        list(pool.map(send, list(messages)))
    slot_calls = {f"call-{v}": (v, f"!call Slot {v}", "01CAL") for v in VIEWERS[:calls]}
    messages.update(slot_calls)
    for message_id in slot_calls:  # behind the points, on the guild's queue
        send(message_id)
    assert experiment.outcomes == {"queued": len(messages)}
    return list(messages)


def _answers(database_url: str) -> Counter[str]:
    """How many chat replies were queued to each message."""
    rows = _count(database_url, "SELECT payload FROM outbox WHERE service = 'kick-chat'")
    return Counter(json.loads(row[0]).get("reply_to_message_id") for row in rows)


def test_commands_waiting_when_the_bot_is_killed_are_each_answered_once(tmp_path: Path, kick_keys):
    with FakeStreamElements() as se:
        experiment = _experiment(
            tmp_path,
            kick_keys,
            STREAMELEMENTS_API_URL=se.base_url,
            TOKEN_ENCRYPTION_KEY=TEST_FERNET_KEY,
        )
        database_url = f"sqlite:///{tmp_path / 'data' / 'streamkeeper.sqlite3'}"
        held = _points_in_streamelements(database_url, se)
        engine = sa.create_engine(database_url)
        SlotCallService(engine, system_clock).set_enabled(int(GUILD), True)
        engine.dispose()

        log = tmp_path / "run.log"
        command = [sys.executable, "-m", "core", "run"]
        running = Process(experiment.env, command, log)
        try:
            _wait_for_health(experiment.url)
            messages = _every_viewer_types_points(experiment, calls=3)
            handled = "SELECT count(*) FROM bus_events WHERE acked_at IS NOT NULL"
            _eventually(
                lambda: _count(database_url, handled) == [(len(messages),)] and se.reads,
                "every message handled and the first command asking StreamElements",
            )
            assert len(set(se.reads)) == 1  # the first command waits on it, the rest behind it
            assert _count(database_url, PENDING) == [(len(messages),)]

            running.kill()
            held.set()
            running = Process(experiment.env, command, log)
            _wait_for_health(experiment.url)

            _eventually(lambda: set(_answers(database_url)) == set(messages), "every answer")
            _eventually(lambda: _count(database_url, PENDING) == [(0,)], "no command left")
            assert _answers(database_url) == dict.fromkeys(messages, 1)
            calls = "SELECT slot_name FROM slot_calls ORDER BY id"  # one call per message
            assert _count(database_url, calls) == [(f"Slot {v}",) for v in VIEWERS[:3]]
        finally:
            running.stop()

    assert {f"viewer{viewer}" for viewer in VIEWERS} <= set(se.reads)


def test_commands_waiting_on_a_killed_bot_are_answered_once_by_the_other_bot(
    tmp_path: Path, kick_keys
):
    """Two ``core bot`` processes over PostgreSQL and Redis (and gunicorn's web side): ten
    viewers type ``!points`` at once while StreamElements' balance reads hang, and the bot
    holding commands in ``chat_commands_pending`` is killed with SIGKILL. Nobody restarts it:
    the other bot takes its commands at its next heartbeat (the killed one's life lock is gone)
    and every viewer gets exactly one answer."""
    with (
        FakeStreamElements() as se,
        split_deployment(tmp_path, kick_keys, STREAMELEMENTS_API_URL=se.base_url) as split,
    ):
        experiment, database_url = split.experiment, split.database_url
        held = _points_in_streamelements(database_url, se)
        bots = {name: Process(experiment.env, BOT, tmp_path / f"{name}.log") for name in "ab"}
        split.processes.update(bots)
        _wait_for_health(experiment.url)
        beating = "SELECT count(*) FROM leases WHERE name LIKE 'life:%' AND expires_at > now()"
        _eventually(lambda: _count(database_url, beating) == [(2,)], "both bots beating")

        messages = _every_viewer_types_points(experiment)
        _eventually(
            lambda: _count(database_url, PENDING) == [(len(messages),)] and se.reads,
            "every command accepted and one asking StreamElements",
        )
        holders = {h for (h,) in _count(database_url, "SELECT holder FROM chat_commands_pending")}
        [killed] = [
            name
            for name, bot in bots.items()
            if any(f"-{bot.popen.pid}-" in holder for holder in holders)
        ][:1]
        bots[killed].kill()
        killed_at = time.monotonic()
        held.set()

        _eventually(lambda: set(_answers(database_url)) == set(messages), "every answer")
        _eventually(lambda: _count(database_url, PENDING) == [(0,)], "no command left")
        took = time.monotonic() - killed_at
        print(f"both bots held commands: {len(holders) == 2}; answered {took:.1f} s after the kill")  # noqa: T201
        survivor = next(bot for name, bot in bots.items() if name != killed)
        assert survivor.popen.poll() is None  # the same process: nobody was restarted
        assert _answers(database_url) == dict.fromkeys(messages, 1)
    assert {f"viewer{viewer}" for viewer in VIEWERS} <= set(se.reads)
