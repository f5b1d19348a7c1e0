"""The dispatcher alone, in process, on SQLite: chat events handled per second.

``python -m benchmarks.dispatcher [--events 2000] [--runs 3] [--profile]``: a fresh SQLite
database under a temporary folder, one guild tracking one Kick channel, ``--events`` distinct chat
messages from 200 viewers queued on the embedded bus, then the runtime's own dispatcher drains
them (``EmbeddedBus.deliver_due``, every handler the features registered). No HTTP, no web side:
this is what the dispatcher can do when it has the machine to itself. ``--profile`` prints the
cProfile of one run (cumulative, the top 40) to see where a chat event's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.config import load_settings
from core.events import ChatMessageSent, Platform, Viewer
from core.runtime import Runtime

GUILD_ID = 123456789012345678
BROADCASTER_ID = "4242"
VIEWERS = 200
_KEY = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"


def _chats(count: int, start: datetime) -> list[ChatMessageSent]:
    return [
        ChatMessageSent(
            platform=Platform.KICK,
            event_id=f"bench-{n}",
            broadcaster_user_id=BROADCASTER_ID,
            occurred_at=start + timedelta(milliseconds=10 * n),
            viewer=Viewer(str(1000 + n % VIEWERS), f"viewer{n % VIEWERS}"),
            content=f"hello there number {n}",
        )
        for n in range(count)
    ]


def one_run(events: int, *, profile: bool = False) -> float:
    """Events handled per second by the runtime's dispatcher on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="sk-dispatch-") as folder:
        settings = load_settings(
            {"DATA_DIR": str(Path(folder) / "data"), "LOG_LEVEL": "WARNING", "PORT": "0"},
            env_file=None,
        )
        rt = Runtime(settings)
        try:
            rt.migrate()
            rt.guilds.set_kick_channel(GUILD_ID, "benchstreamer", BROADCASTER_ID)
            for chat in _chats(events, datetime.now(UTC) - timedelta(minutes=1)):
                rt.bus.publish(chat)
            profiler = cProfile.Profile() if profile else None
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            asyncio.run(_drain(rt))
            elapsed = time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            if rt.bus.backlog():
                raise SystemExit(f"{rt.bus.backlog()} events left unhandled")
            return events / elapsed
        finally:
            rt.close()


async def _drain(rt: Runtime) -> None:
    while await rt.bus.deliver_due(rt.dispatcher):
        pass


def profile_handlers(events: int) -> None:
    """Each chat handler called directly on this thread (cProfile sees only this thread), with
    the time each took in total, then the profile of all of them together."""
    with tempfile.TemporaryDirectory(prefix="sk-dispatch-") as folder:
        settings = load_settings(
            {"DATA_DIR": str(Path(folder) / "data"), "LOG_LEVEL": "WARNING", "PORT": "0"},
            env_file=None,
        )
        rt = Runtime(settings)
        try:
            rt.migrate()
            rt.guilds.set_kick_channel(GUILD_ID, "benchstreamer", BROADCASTER_ID)
            handlers = rt.handlers[ChatMessageSent]
            spent = dict.fromkeys(range(len(handlers)), 0.0)
            profiler = cProfile.Profile()
            loop = asyncio.new_event_loop()
            for chat in _chats(events, datetime.now(UTC) - timedelta(minutes=1)):
                profiler.enable()
                for n, handler in enumerate(handlers):
                    started = time.perf_counter()
                    if asyncio.iscoroutinefunction(handler):
                        loop.run_until_complete(handler(GUILD_ID, chat))
                    else:
                        handler(GUILD_ID, chat)
                    spent[n] += time.perf_counter() - started
                profiler.disable()
            loop.close()
            for n, handler in enumerate(handlers):
                name = getattr(handler, "__qualname__", repr(handler))
                print(f"  {name:45} {1000 * spent[n] / events:6.2f} ms/event")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        finally:
            rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dispatcher", description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profile_handlers(args.events)
        return
    rates = []
    for _ in range(args.runs):
        load = os.getloadavg()[0]
        rates.append(one_run(args.events))
        print(f"  {rates[-1]:,.0f} events/s (load {load:.1f})")
    print(f"median {statistics.median(rates):,.0f} chat events/s over {args.runs} runs")


if __name__ == "__main__":
    main()
