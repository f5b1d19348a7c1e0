"""Storage, the bus, the replay guard and the secrets every feature builds on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import redis

from core.bus.embedded import EmbeddedBus
from core.bus.replay import DatabaseReplayGuard, RedisReplayGuard
from core.config import SettingsError
from core.events import Event, system_clock
from core.ownership.leases import Leases
from core.ownership.lifeline import LifeLine
from core.ownership.presence import Presence, discord_presence_name
from core.ownership.share import LEASE_SECONDS, Ownership
from core.ratelimits import windows_for
from core.security.secrets import TokenCipher, new_fernet_key, resolve_secret
from core.storage import db

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

PRUNE_EVERY_SECONDS = 3600


def install(rt: Assembly) -> None:
    settings = rt.settings
    url = settings.database.url or db.sqlite_url(settings.data_dir)
    if settings.database.url:  # a SQLite file of its own, or PostgreSQL (no file to make)
        files = _usable("DATABASE_URL's SQLite file", None)
    else:
        files = _usable("DATA_DIR", settings.data_dir)
    with files:
        rt.engine = db.create_engine(url, settings.database.timeouts)
    # This process's share of the guilds and the scheduled jobs, among the bot processes.
    # Leases compare times written by other processes: the wall clock, never a test's.
    leases = Leases(rt.engine, rt.process_name, system_clock, seconds=LEASE_SECONDS)
    rt.ownership = Ownership(
        leases,
        on_gain=lambda partitions: _catch_up(rt, partitions),
        # On PostgreSQL the others learn at once that this process was killed.
        lifeline=LifeLine(rt.engine, leases.holder) if db.is_postgresql(rt.engine) else None,
    )
    rt.scheduler.ownership = rt.ownership
    rt.on_close(rt.ownership.close)
    # A bot process says it is connected to Discord, for the processes that are not (health).
    presence = Presence(
        Leases(rt.engine, rt.process_name, system_clock, seconds=LEASE_SECONDS),
        discord_presence_name(settings.discord.shard),
        lambda: rt.discord.enabled and rt.discord.status.is_connected,
    )
    rt.scheduler.loop("Discord presence", presence.run, everywhere=True)
    rt.redis = None
    rt.publish_delivery: Callable[[Event, str], bool] | None = None
    if settings.redis.url:
        from core.bus.redis_streams import RedisStreamsBus

        rt.redis = redis.Redis.from_url(
            settings.redis.url, socket_timeout=5, socket_connect_timeout=5
        )
        redis_bus = RedisStreamsBus(settings.redis.url, consumer=rt.process_name)
        # Processes gone (their lease ran out): their unacknowledged events are taken over at
        # once, and a takeover's first tick waits for them.
        redis_bus.gone_consumers = rt.ownership.gone_processes
        rt.bus = redis_bus
        rt.replay_guard = RedisReplayGuard(rt.redis)
        # Webhooks: the bus remembers message ids in the publish itself (one round trip).
        rt.publish_delivery = redis_bus.publish_delivery
    else:
        embedded_bus = EmbeddedBus(rt.engine, clock=rt.clock)
        rt.bus = embedded_bus
        rt.replay_guard = DatabaseReplayGuard(rt.engine, rt.clock)
        # Webhooks: the message id and the event are stored in one transaction.
        rt.publish_delivery = embedded_bus.publish_delivery

    # Partners' rate limits: in Redis, shared by every bot process (while it is out, each keeps
    # its share), else in this one.
    rt.windows = windows_for(rt.redis, rt.ownership.live_processes)

    # On SQLite everything lives on one machine, so generated keys can too; processes that
    # share PostgreSQL must share their keys, so there they have to be configured.
    embedded = url.startswith("sqlite")
    with _usable("DATA_DIR", settings.data_dir):
        _resolve_secrets(rt, embedded)
    rt.scheduler.every(
        "pruning delivered events",
        lambda: PRUNE_EVERY_SECONDS,
        lambda: asyncio.to_thread(prune, rt),
    )


async def _catch_up(rt: Assembly, partitions: set[int]) -> None:
    """Partitions taken over: the work after their last owner's last tick (it may have died
    between the two), their guilds' tick for the latest instant (it may have died before it),
    then the work each process does after its own tick."""
    await rt.scheduler.finish_last_tick()
    await rt.ticks.catch_up(rt.clock(), partitions)
    await rt.scheduler.run_after_tick()


def prune(rt: Assembly) -> None:
    """Forget delivered events and old webhook receipts kept in the database, and dead events
    (the database's or Redis's) set aside over 30 days ago."""
    from core.bus.redis_streams import RedisStreamsBus

    if isinstance(rt.bus, EmbeddedBus | RedisStreamsBus):
        rt.bus.prune()
    if isinstance(rt.replay_guard, DatabaseReplayGuard):
        rt.replay_guard.prune()


def _resolve_secrets(rt: Assembly, embedded: bool) -> None:
    settings = rt.settings
    rt.link_secret = resolve_secret(
        settings.web.flask_secret_key,
        name="FLASK_SECRET_KEY",
        data_dir=settings.data_dir,
        embedded=embedded,
        how_to='generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
    )
    rt.cipher = TokenCipher(
        resolve_secret(
            settings.token_encryption_key,
            name="TOKEN_ENCRYPTION_KEY",
            data_dir=settings.data_dir,
            embedded=embedded,
            generate=new_fernet_key,
            how_to='generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"',
        )
    )


@contextmanager
def _usable(setting: str, folder: Path | None) -> Iterator[None]:
    """An OSError from making the data folder or a file in it (a folder this user may not
    write, a file where the folder should be) stops the start in one line, as a bad setting
    does. A SQLite file named in DATABASE_URL is not quoted: the URL is not echoed."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, FileExistsError | NotADirectoryError):
            reason += " (not a folder)"
        where = "" if folder is None else f" {str(folder)!r}"  # a path: never long
        raise SettingsError([f"{setting}{where} cannot be used: {reason}"]) from exc
