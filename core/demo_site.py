"""``python -m core demo --dashboard``: the dashboard on 127.0.0.1 with a seeded server and a
sign-in that needs no Discord account, for a newcomer to click through every page and overlay
before making any application.

It keeps everything in a throwaway directory (SQLite, a fresh encryption key and secret), seeds
one server (its Kick and Twitch channels, members, roles and a channel by name, linked viewers,
points, a raffle with tickets, alert styles with a picture, a goal, and a stream's worth of
events through the real bus and handlers: chat, follows, subs, a gift, a raid, a cheer, KICKs),
then serves until Ctrl+C. It never listens beyond this machine: a ``--host`` that is not a
loopback address is refused before anything starts (``core/web/demo.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from core.config import LoggingSettings, load_settings
from core.events import (
    ChatMessageSent,
    Cheered,
    Event,
    Followed,
    KicksGifted,
    Platform,
    Raided,
    Subscribed,
    SubscriptionsGifted,
    Viewer,
    utc,
)
from core.features.directory.repository import Channel, Member, Role, Server
from core.features.directory.service import Snapshot
from core.logs import configure_logging
from core.runtime import Runtime
from core.web.demo import DEMO_USER, NotLoopback, install_demo, is_loopback_host

GUILD_ID = 100000000000000001
GUILD_NAME = "Demo stream server"
KICK_ID, TWITCH_ID = "424242", "141981764"
ROLE_ID, CHANNEL_ID = 100000000000000101, 100000000000000201
VIEWERS = (("ace", "5001"), ("blaze", "5002"), ("coco", "5003"), ("dash", "5004"))


def _png() -> bytes:
    """A 64x64 purple square: the demo's alert picture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x91\x46\xff" * 64 for _ in range(64))
    header = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows)),
            chunk(b"IEND", b""),
        )
    )


def _stream_events(rt: Runtime) -> list[Event]:
    now = utc(rt.clock())
    twitch = {"platform": Platform.TWITCH, "broadcaster_user_id": TWITCH_ID}
    kick = {"platform": Platform.KICK, "broadcaster_user_id": KICK_ID}
    events: list[Event] = []
    for n, (name, user_id) in enumerate(VIEWERS):
        at = now - timedelta(minutes=30 - n)
        viewer = Viewer(user_id, name)
        events.append(
            ChatMessageSent(
                **kick, event_id=f"demo-chat-{n}", occurred_at=at, viewer=viewer, content="hi!"
            )
        )
        events.append(Followed(**kick, event_id=f"demo-follow-{n}", occurred_at=at, viewer=viewer))
    at = now  # after the goal was set: they move it
    events += [
        Subscribed(
            **twitch, event_id="demo-sub", occurred_at=at, viewer=Viewer("5001", "ace"), tier="1000"
        ),
        Subscribed(
            **twitch,
            event_id="demo-resub",
            occurred_at=at,
            viewer=Viewer("5002", "blaze"),
            is_renewal=True,
            months=7,
            tier="2000",
        ),
        SubscriptionsGifted(
            **twitch,
            event_id="demo-gift",
            occurred_at=at,
            gifter=Viewer("5003", "coco"),
            count=5,
            gift_key="5003:5",
        ),
        Raided(
            **twitch,
            event_id="demo-raid",
            occurred_at=at,
            raider=Viewer("777", "friendly_raider"),
            viewers=120,
        ),
        Cheered(
            **twitch,
            event_id="demo-cheer",
            occurred_at=at,
            viewer=Viewer("5004", "dash"),
            bits=500,
            message="Great stream!",
        ),
        KicksGifted(
            **kick,
            event_id="demo-kicks",
            occurred_at=at,
            viewer=Viewer("5001", "ace"),
            amount=100,
            gift_name="Rage Quit",
            message="gg",
        ),
    ]
    return events


def seed(rt: Runtime) -> None:
    """One server with something on every page."""
    rt.guilds.ensure_guild(GUILD_ID, GUILD_NAME)
    rt.guilds.set_kick_channel(GUILD_ID, "demo_streamer", KICK_ID)
    rt.guilds.set_twitch_channel(GUILD_ID, "demo_streamer", TWITCH_ID)
    roles = (
        Role(ROLE_ID, "Regulars", 2, 0x3498DB, assignable=True),
        Role(GUILD_ID, "@everyone", 0, is_default=True),
    )
    channels = (Channel(CHANNEL_ID, "announcements", "text", 0, can_post=True),)
    server = Server(GUILD_ID, GUILD_NAME, can_manage_roles=True)
    rt.directory.record_server(Snapshot(server, roles, channels))
    members = [Member(DEMO_USER.id, DEMO_USER.name)]
    members += [Member(DEMO_USER.id + n + 1, name) for n, (name, _) in enumerate(VIEWERS)]
    rt.directory.record_members(GUILD_ID, members)
    for n, (name, user_id) in enumerate(VIEWERS):
        rt.linking.link(
            guild_id=GUILD_ID,
            discord_user_id=DEMO_USER.id + n + 1,
            platform=Platform.KICK,
            platform_user_id=user_id,
            username=name,
        )
        rt.points.give(GUILD_ID, Platform.KICK, user_id, 250 * (n + 1), actor="demo")
    rt.roles.add_tier(GUILD_ID, ROLE_ID, 600)
    settings = rt.overlays.alert_settings
    picture = settings.upload(GUILD_ID, "purple-square.png", _png()).media_id
    settings.save_style(
        GUILD_ID,
        "cheer",
        {
            "enabled": "on",
            "template": "{who} cheered {amount} bits: {message}",
            "seconds": "6",
            "image_id": picture,
        },
    )
    settings.save_variation(GUILD_ID, "gifted_subs", {"threshold": "5", "image_id": picture})
    rt.overlays.goal.save(GUILD_ID, {"measure": "subs", "target": "50", "title": "Road to 50"})
    for event in _stream_events(rt):
        rt.bus.publish(event)


def seed_raffle(rt: Runtime) -> None:
    """A raffle with tickets given by hand (to viewers the events named)."""
    rt.raffle.periods.configure(GUILD_ID, "channel", str(CHANNEL_ID))
    rt.raffle.periods.start(GUILD_ID)
    for n, (name, _) in enumerate(VIEWERS):
        rt.raffle.admin.give(
            GUILD_ID,
            actor_id=DEMO_USER.id,
            member_id=None,
            tickets=40 - 5 * n,
            reason="quiz",
            username=f"kick:{name}",  # the demo's viewers chat on Kick (ace on Twitch too)
            reference=f"demo:{n}",
        )


async def _deliver(rt: Runtime) -> None:
    while await asyncio.to_thread(rt.bus.backlog):
        await rt.bus.deliver_due(rt.dispatcher)


def run_demo_site(
    *, host: str = "127.0.0.1", port: int = 8080, ready: Callable[[str], None] | None = None
) -> int:
    """Serve the demo until Ctrl+C (or until ``ready`` raises SystemExit/KeyboardInterrupt, for
    tests); 2 when ``host`` is not a loopback address."""
    if not is_loopback_host(host):
        print(  # noqa: T201
            f"The demo runs on this computer only: {host!r} is not a loopback address.",
            file=sys.stderr,
        )
        return 2
    configure_logging(LoggingSettings(level="WARNING"))
    with tempfile.TemporaryDirectory(prefix="streamkeeper-demo-site-") as tmp:
        settings = load_settings(
            {
                "DATA_DIR": str(Path(tmp)),
                "HOST": host,
                "PORT": str(port),
                "FLASK_SECRET_KEY": secrets.token_urlsafe(32),
                "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "KICK_PUSHER_ENABLED": "false",
                "LOG_LEVEL": "WARNING",
            },
            env_file=None,
        )
        runtime = Runtime(settings)
        try:
            return asyncio.run(_serve(runtime, host, ready))
        except NotLoopback as refused:
            print(refused, file=sys.stderr)  # noqa: T201
            return 2
        finally:
            runtime.close()


async def _serve(runtime: Runtime, host: str, ready: Callable[[str], None] | None) -> int:
    from core.web.server import WebServer
    from core.web.server_errors import cannot_listen

    runtime.migrate()
    seed(runtime)
    runtime.loop = asyncio.get_running_loop()
    await _deliver(runtime)
    seed_raffle(runtime)
    app = runtime.create_web_app()
    install_demo(app, host, {GUILD_ID: GUILD_NAME})
    port = runtime.settings.web.port
    try:
        server = WebServer(app, host, port, threads=runtime.settings.web.server_threads)
    except OSError as exc:
        words = cannot_listen(exc, host, port, "--port (make demo DASHBOARD=1 PORT=...)")
        if words is None:
            raise
        print(words, file=sys.stderr)  # noqa: T201
        await runtime.shutdown()
        return 1
    url = server.url
    print(f"StreamKeeper demo: open {url}/ and press 'Sign in to the demo'. Ctrl+C stops it.")  # noqa: T201
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        if ready is not None:
            await asyncio.to_thread(ready, url)
        else:
            await stop.wait()
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        server.close()
        await runtime.shutdown()
    return 0
