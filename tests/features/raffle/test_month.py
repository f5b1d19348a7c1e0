"""The issue's "done when": a simulated month of a raffle, end to end through the Runtime.

Viewers watch, gift subs (one gift arrives from both the webhook and Pusher, one is voided
during its hold) and wager on the affiliate casino (polled in small increments); the period
closes on its own at the month's end, the automatic draw waits for the beacon round and is
announced; the exported proof verifies with the CLI, and a one-ticket edit of the exported
ledger makes verification fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import load_settings
from core.events import Viewer
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.beacon_server import FakeBeacon, fake_randomness
from tests.fakes.shuffle_server import FakeShuffle, connect_guild, verify_player
from tests.features.raffle.support import RecordingAnnouncer, add_viewer, gift
from tests.support.cli import run as run_cli
from tests.support.clock import Clock
from tests.support.events import chat_message

GUILD = 424242
BROADCASTER = "555"
CHANNEL = 9090
VIEWERS = {  # kick id -> (name, discord id, stream hours watched)
    "101": ("ana", 1, 7),
    "102": ("ben", 2, 3),
    "103": ("cleo", 3, 12),
    "104": ("dev", 4, 0),
    "105": ("eli", None, 5),  # never links: earns tickets, cannot win
}


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 1, 0, 0, 10, tzinfo=UTC))


@pytest.fixture
def environment(tmp_path, monkeypatch, kick_keys, clock):
    monkeypatch.chdir(tmp_path)  # no stray .env
    values = {
        "DATA_DIR": str(tmp_path / "data"),
        "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
        "FLASK_SECRET_KEY": "test-link-secret-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "WATCH_INTERVAL_SECONDS": "60",
        "ACTIVE_WINDOW_MINUTES": "60",
        "RAFFLE_AUTO_DRAW": "true",
        "RAFFLE_ANNOUNCEMENT_CHANNEL_ID": str(CHANNEL),
    }
    with FakeBeacon(clock=clock) as beacon:
        values["RAFFLE_BEACON_URL"] = beacon.url
        values["RAFFLE_BEACON_CHAIN"] = beacon.chain_hash  # a test chain: not pinned
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        yield values


def chat(runtime: Runtime, clock: Clock, user_id: str, name: str) -> None:
    event = chat_message("gl", broadcaster=BROADCASTER, user_id=user_id, username=name, at=clock())
    asyncio.run(runtime.dispatcher(event))


async def raffle_after_tick(runtime: Runtime) -> None:
    """The raffle's jobs around a tick, as the scheduler runs them: its timed work, the
    draws waiting for the beacon, the announcements."""
    await runtime.raffle.run_timed_work()
    await runtime.raffle.complete_waiting_draws()
    await runtime.raffle.announce_pending()


def stream_hour(runtime: Runtime, clock: Clock, watchers: list[str]) -> None:
    """One live hour: everyone in ``watchers`` chats, an hour passes, the scheduler runs."""
    for user_id in watchers:
        chat(runtime, clock, user_id, VIEWERS[user_id][0])
    clock.advance(hours=1)
    runtime.tick_all()
    asyncio.run(raffle_after_tick(runtime))


@pytest.fixture
def shuffle():
    with FakeShuffle() as fake:
        yield fake


def test_a_month_of_raffle_ends_in_a_verifiable_draw(environment, shuffle, clock, tmp_path):
    values = {**environment, "SHUFFLE_ALLOWED_HOSTS": shuffle.host}
    runtime = Runtime(load_settings(values, env_file=None), clock=clock)
    try:
        runtime.migrate()
        announcer = RecordingAnnouncer()
        runtime.raffle.announcer = announcer
        runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
        runtime.tick_all()  # the guild's watchtime clock starts
        for user_id, (name, discord_id, _hours) in VIEWERS.items():
            add_viewer(runtime.engine, user_id, name, discord_id)
        runtime.raffle.periods.configure(GUILD, "hold_minutes", "15")
        march = runtime.raffle.periods.start(GUILD)
        asyncio.run(raffle_after_tick(runtime))
        assert [p.period_id for p in announcer.opened] == [march.id]

        # --- the month: streams on a few evenings ---
        for day in (3, 10, 17, 24):
            clock.now = datetime(2026, 3, day, 19, 0, tzinfo=UTC)
            runtime.tick_all()  # the stream went live: the clock restarts here
            for hour in range(3):
                watchers = [
                    uid for uid, (_n, _d, hours) in VIEWERS.items() if hours > 3 * (day // 7) + hour
                ]
                stream_hour(runtime, clock, watchers)

        # Gifts: cleo gifts 2 subs, seen by the webhook and again by Pusher (names only).
        clock.now = datetime(2026, 3, 24, 23, 0, tzinfo=UTC)
        webhook_gift = gift("kick-msg-77", Viewer("103", "cleo"), ("zed", "yan"), clock())
        pusher_gift = gift(
            "pusher-77", Viewer(None, "Cleo"), ("Yan", "Zed"), clock(), with_ids=False
        )
        asyncio.run(runtime.dispatcher(webhook_gift))
        asyncio.run(runtime.dispatcher(pusher_gift))
        # ben gifts 1 sub that Kick later reports as a failed payment: voided during the hold.
        asyncio.run(
            runtime.dispatcher(gift("kick-msg-78", Viewer("102", "ben"), ("xia",), clock()))
        )
        asyncio.run(runtime.dispatcher(gift("kick-msg-79", None, ("wu",), clock())))  # anonymous
        stats = runtime.raffle.views.stats(GUILD)
        bens = [g for g in stats.recent_gifts if g.gifter_name == "ben"]
        runtime.raffle.admin.void_gift(GUILD, bens[0].reference, actor_id=1)
        clock.advance(minutes=20)
        asyncio.run(raffle_after_tick(runtime))

        # Wagers: ana plays on the affiliate casino. The first poll sets her baseline; four
        # polls of $650.25 each add up to $2,601.00, so 52 tickets and no cent lost between them.
        connect_guild(runtime.wagers, GUILD, shuffle)
        verify_player(runtime.wagers, GUILD, VIEWERS["101"][1], "AnaBets")
        shuffle.set_wagered("AnaBets", "5000")
        asyncio.run(runtime.wagers.poll_due(clock()))
        for _ in range(4):
            clock.advance(minutes=5)
            shuffle.add_wager("AnaBets", "650.25")
            asyncio.run(runtime.wagers.poll_due(clock()))

        expected = {"ana": 70 + 52, "ben": 30, "cleo": 120 + 30, "eli": 50}
        board = runtime.raffle.views.board(GUILD, 10)
        assert {e.username: e.tickets for e in board.entries} == expected

        # --- the month ends; nobody touches anything ---
        clock.now = datetime(2026, 4, 1, 0, 0, 10, tzinfo=UTC)
        asyncio.run(raffle_after_tick(runtime))
        info = runtime.raffle.views.info(GUILD)
        assert info.last_closed.id == march.id
        assert info.current.starts_at == datetime(2026, 4, 1, tzinfo=UTC)
        assert info.last_draw.status == "waiting"  # the first round after the end is 20 s away
        assert [p.period_id for p in announcer.closed] == [march.id]
        assert announcer.draws == []

        clock.advance(seconds=30)
        asyncio.run(raffle_after_tick(runtime))
        [(channel_id, announced)] = announcer.draws
        assert channel_id == CHANNEL
        [winner] = announced.winners
        assert winner.username in {"ana", "ben", "cleo"}  # eli is not linked, dev has nothing
        assert winner.discord_user_id == next(
            d for n, d, _h in VIEWERS.values() if n == winner.username
        )
        draw = runtime.raffle.views.info(GUILD).last_draw
        assert draw.beacon_randomness == fake_randomness(draw.beacon_round)
    finally:
        runtime.close()

    # --- anyone can check it with the CLI (a real process: the CLI configures logging) ---
    out = tmp_path / "proof"
    exported = cli("raffle", "export", str(march.id), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    proof_path = out / f"raffle-{march.id}-proof.json"
    ledger_path = out / f"raffle-{march.id}-ledger.json"
    verified = cli("raffle", "verify", str(proof_path), str(ledger_path))
    assert (verified.returncode, verified.stdout.split(":")[0]) == (0, "match")
    # The test chain is not pinned: its signature is checked, and verify says whose key it is.
    assert "checked against the public key in the proof" in verified.stdout
    assert "is not pinned" in verified.stdout

    ledger = json.loads(ledger_path.read_text("utf-8"))
    assert {e["source"] for e in ledger["entries"]} == {"watchtime", "gift", "wager"}
    ledger["entries"][0]["amount"] += 1  # one ticket more for somebody
    ledger_path.write_text(json.dumps(ledger), "utf-8")
    tampered = cli("raffle", "verify", str(proof_path), str(ledger_path))
    assert tampered.returncode == 1
    assert tampered.stdout.startswith("MISMATCH:")
    assert "snapshot hash" in tampered.stdout


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(os.environ, *args, cwd=Path.cwd())
