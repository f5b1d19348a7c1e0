"""``python -m core demo``: a scripted stream played through real signed webhooks on loopback,
on Kick, then a Twitch channel on the fake Twitch (:mod:`core.demo_twitch`).

It needs no credentials: it makes a throwaway key pair, starts the web server on 127.0.0.1 with
that key and a throwaway SQLite database, sends a live start, chat from a crowd of viewers over
simulated minutes, and an offline, then prints the leaderboard. The simulated stream happens in
the recent past, so every webhook is signed with the real time while chat carries the
simulated time; the demo ticks watchtime itself at each simulated minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from core.config import LoggingSettings, load_settings
from core.demo_twitch import play_twitch, print_twitch_report
from core.events import system_clock
from core.logs import configure_logging
from core.platforms.kick.signing import generate_key_pair, signed_headers
from core.runtime import Runtime

GUILD_ID = 100000000000000001
BROADCASTER_ID = "424242"
CHANNEL = "demo_streamer"
NAMES = (
    "ace",
    "blaze",
    "coco",
    "dash",
    "echo",
    "fable",
    "gizmo",
    "halo",
    "iris",
    "jinx",
    "kiwi",
    "luna",
    "milo",
    "nova",
    "onyx",
    "pixel",
    "quill",
    "rio",
    "sage",
    "tango",
    "umbra",
    "vex",
    "willow",
    "xeno",
    "yuki",
    "zed",
)


@dataclass
class DemoReport:
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def run_demo(*, viewers: int = 36, minutes: int = 30, seed: int = 7) -> int:
    configure_logging(LoggingSettings(level="WARNING"))
    with tempfile.TemporaryDirectory(prefix="streamkeeper-demo-") as tmp:
        kick_code = asyncio.run(
            _play(Path(tmp) / "kick", viewers=viewers, minutes=minutes, seed=seed)
        )
        twitch = asyncio.run(play_twitch(Path(tmp) / "twitch"))
    print_twitch_report(twitch)
    return 1 if kick_code or (twitch is not None and twitch.problems) else 0


def _user(user_id: str, username: str) -> dict[str, Any]:
    return {
        "is_anonymous": False,
        "user_id": int(user_id),
        "username": username,
        "is_verified": None,
        "channel_slug": username,
    }


def _status(is_live: bool, start: datetime, end: datetime | None) -> dict[str, Any]:
    return {
        "broadcaster": _user(BROADCASTER_ID, CHANNEL),
        "is_live": is_live,
        "title": "Demo stream",
        "started_at": start.isoformat(),
        "ended_at": end.isoformat() if end else None,
    }


def _chat(message_id: str, viewer: tuple[str, str], text: str, said_at: datetime) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "broadcaster": _user(BROADCASTER_ID, CHANNEL),
        "sender": _user(*viewer),
        "content": text,
        "created_at": said_at.isoformat(),
    }


@dataclass(frozen=True)
class ChatLine:
    minute: int
    message_id: str
    viewer: tuple[str, str]
    text: str
    said_at: datetime


def _script(viewers: int, minutes: int, start: datetime, seed: int) -> list[ChatLine]:
    """Who says what when. Each viewer arrives, chats at their own pace, and leaves."""
    rng = random.Random(seed)  # noqa: S311 - a repeatable script, not a secret
    lines = []
    for index in range(viewers):
        viewer = (str(5000 + index), f"{NAMES[index % len(NAMES)]}{index // len(NAMES) or ''}")
        arrive = rng.randrange(0, max(1, minutes // 2))
        leave = rng.randrange(arrive + 1, minutes + 1)
        chattiness = rng.choice((0.2, 0.35, 0.5, 0.8))
        for minute in range(arrive, leave):
            if rng.random() < chattiness:
                said_at = start + timedelta(minutes=minute, seconds=rng.randrange(60))
                text = rng.choice(("gg", "W", "lol", "POG"))
                lines.append(ChatLine(minute, f"demo-{viewer[0]}-{minute}", viewer, text, said_at))
    return sorted(lines, key=lambda line: (line.minute, line.said_at))


async def _play(tmp: Path, *, viewers: int, minutes: int, seed: int) -> int:
    private_key, public_pem = generate_key_pair()
    settings = load_settings(
        {
            "DATA_DIR": str(tmp),
            "KICK_WEBHOOK_PUBLIC_KEY": public_pem,
            "HOST": "127.0.0.1",
            "PORT": "0",
            "LOG_LEVEL": "WARNING",
        },
        env_file=None,
    )
    runtime = Runtime(settings)
    runtime.migrate()
    runtime.guilds.set_kick_channel(GUILD_ID, CHANNEL, BROADCASTER_ID)
    server = runtime.start_web_server()
    stop = asyncio.Event()
    consumer = asyncio.create_task(runtime.bus.run(runtime.dispatcher, stop))
    report = DemoReport()
    start = system_clock().replace(microsecond=0) - timedelta(minutes=minutes + 5)
    end = start + timedelta(minutes=minutes)
    script = _script(viewers, minutes, start, seed)

    async def tick(at: datetime) -> None:
        await _drain(runtime)
        await asyncio.to_thread(runtime.tick_all, at)

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:

            async def send(
                event_type: str, payload: dict[str, Any], message_id: str | None = None
            ) -> str:
                body = json.dumps(payload).encode()
                headers = signed_headers(
                    private_key, body, event_type=event_type, message_id=message_id
                )
                response = await client.post("/webhooks/kick", content=body, headers=headers)
                report.sent += 1
                report.count(response.json().get("status", str(response.status_code)))
                return headers["Kick-Event-Message-Id"]

            await tick(start)
            await send("livestream.status.updated", _status(True, start, None))
            first_delivery: tuple[str, ChatLine] | None = None
            for minute in range(minutes):
                for line in (line for line in script if line.minute == minute):
                    payload = _chat(line.message_id, line.viewer, line.text, line.said_at)
                    message_id = await send("chat.message.sent", payload)
                    first_delivery = first_delivery or (message_id, line)
                await tick(start + timedelta(minutes=minute + 1))
            await send("livestream.status.updated", _status(False, start, end))
            # Kick sometimes delivers a message twice: the second copy must change nothing.
            if first_delivery is not None:
                message_id, line = first_delivery
                payload = _chat(line.message_id, line.viewer, line.text, line.said_at)
                await send("chat.message.sent", payload, message_id=message_id)
            await tick(end + timedelta(minutes=1))
        board = await asyncio.to_thread(runtime.watchtime.leaderboard, GUILD_ID, 10)
        stored = await asyncio.to_thread(runtime.watchtime.export, GUILD_ID)
    finally:
        stop.set()
        await consumer
        server.close()
        runtime.close()

    expected = _expected_seconds(script, start, minutes, runtime.watchtime.active_window)
    actual = {row.platform_user_id: row.seconds for row in stored}
    mismatches = sorted(
        (user_id, expected.get(user_id, 0), actual.get(user_id, 0))
        for user_id in expected.keys() | actual.keys()
        if expected.get(user_id, 0) != actual.get(user_id, 0)
    )
    _print_report(report, board, len(stored), minutes)
    if mismatches:
        print(f"  MISMATCH (viewer, expected s, stored s): {mismatches[:5]}")  # noqa: T201
    else:
        print(f"  checked: all {len(expected)} viewers' watchtime matches the script exactly")  # noqa: T201
    return 0 if board and not mismatches and report.outcomes.get("rejected", 0) == 0 else 1


def _expected_seconds(
    script: list[ChatLine], start: datetime, minutes: int, window: timedelta
) -> dict[str, int]:
    """What the rules promise, worked out from the script alone: at each minute's tick while
    live, a viewer whose latest message is at most the active window old gains 60 s.

    A minute's chat is delivered after that minute's opening tick, so a message said exactly
    at a tick's instant first counts at the next tick.
    """
    said: dict[str, list[datetime]] = {}
    for line in script:
        said.setdefault(line.viewer[0], []).append(line.said_at)
    expected: dict[str, int] = {}
    for user_id, times in said.items():
        total = 0
        for minute in range(1, minutes + 1):
            tick = start + timedelta(minutes=minute)
            latest = max((t for t in times if t < tick), default=None)
            if latest is not None and latest >= tick - window:
                total += 60
        if total:
            expected[user_id] = total
    return expected


async def _drain(runtime: Runtime) -> None:
    """Wait until the consumer has handled everything queued so far."""
    async with asyncio.timeout(30):
        while await asyncio.to_thread(runtime.bus.backlog) > 0:  # noqa: ASYNC110 - polls the bus
            await asyncio.sleep(0.02)


def _print_report(report: DemoReport, board: list[Any], total_viewers: int, minutes: int) -> None:
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(report.outcomes.items()))
    lines = [
        f"StreamKeeper demo: {minutes} simulated minutes of {CHANNEL!r} on Kick",
        f"  webhooks sent: {report.sent} ({outcomes})",
        f"  viewers with watchtime: {total_viewers}",
        "",
        "  rank  viewer            watchtime",
    ]
    for ranked in board:
        watched, seconds = divmod(ranked.entry.seconds, 60)
        name = ranked.entry.username
        lines.append(f"  {ranked.rank:>4}  {name:<16}  {watched:>3} min {seconds:02d} s")
    print("\n".join(lines))  # noqa: T201


logging.getLogger(__name__).addHandler(logging.NullHandler())
