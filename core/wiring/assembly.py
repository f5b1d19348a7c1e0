"""What every feature's install builds on: the settings, the clock, metrics, the Discord gateway,
the infrastructure (``infrastructure.py``), the event handlers table, the scheduler and the
outbox workers, and the calls an install makes to register its work.

:class:`~core.runtime.Runtime` is an ``Assembly`` that runs the installs of ``core/wiring/``;
the installs know only this class, so nothing in ``core/wiring/`` imports the composition root
back. The feature services themselves are typed once, in :class:`core.services.FeatureServices`.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import redis

from core.bus.dispatch import Dispatcher, EventHandler
from core.bus.health import bus_check
from core.config import Settings
from core.discord_bot.gateway import DiscordGateway
from core.events import Event, Platform, system_clock
from core.features.chat_commands.ports import ChatSender
from core.features.connections.health import consent_check
from core.features.guilds.service import GuildService
from core.guild_ticks import GuildTicks
from core.health import Check, HealthReport, run_check, webhooks_check
from core.logs import guild_names
from core.metrics import Metrics
from core.outbox import DISCORD, store
from core.outbox.overdue import overdue_check
from core.outbox.undone import UndoneCalls
from core.outbox.worker import OutboxWorker
from core.ownership.presence import discord_check
from core.ownership.share import on_shard, process_name
from core.scheduler import Scheduler
from core.services import FeatureServices
from core.setup.access import SetupToken
from core.storage import db
from core.wiring import infrastructure

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from core.bus.base import EventBus
    from core.ownership.share import Ownership

# A Discord call gets this long: discord.py waits out a rate limit of up to 30 s inside it (its
# least ``max_ratelimit_timeout``), then posts (15 s, as any partner's request), so a call cut
# off in that wait (uncertain, never posted) cannot happen. It is tried this many times over
# about an hour and a half of backoff before it ends failed.
DISCORD_TIMEOUT_SECONDS = 45.0
DISCORD_ATTEMPTS = 24


class Assembly(FeatureServices):
    """The running parts before any feature is installed, and the registrations installs make.
    Each install sets its services here under its own name (``rt.raffle``, ``rt.kick_setup``),
    typed in :class:`FeatureServices`."""

    engine: Engine
    bus: EventBus
    ownership: Ownership
    redis: redis.Redis | None
    link_secret: str
    dispatcher: Dispatcher  # set once every feature is installed

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = system_clock) -> None:
        FeatureServices.__init__(self)
        self.settings = settings
        self.clock = clock
        self.metrics = Metrics()
        # Features reach Discord through ports that ask this for the bot once it is running.
        self.discord = DiscordGateway()
        # Log lines name a guild as the connected bot knows it ("guild 222 (The Leles)").
        guild_names.use(self.discord.guild_name)
        self.handlers: dict[type[Event], list[EventHandler]] = defaultdict(list)
        self.chat_senders: dict[Platform, Callable[[], ChatSender]] = {}
        self.outbox_workers: list[OutboxWorker] = []
        self._shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        self._close_hooks: list[Callable[[], object]] = []
        self.loop: asyncio.AbstractEventLoop | None = None  # the pipeline's, while it runs
        self.process_name = process_name()  # among the bot processes, and on the Redis bus
        interval = settings.watchtime.interval_seconds
        self.scheduler = Scheduler(interval, lambda at, stop: self.ticks.run(at, stop), clock)
        infrastructure.install(self)
        # Calls to Discord leave the event path too (posts, DMs, roles): features add their kinds
        # to this worker, which makes the calls of this process's own Discord shard's guilds.
        self.discord_calls = OutboxWorker(
            self.engine,
            DISCORD,
            {},
            clock,
            shard=settings.discord.shard,
            timeout_seconds=DISCORD_TIMEOUT_SECONDS,
            max_attempts=DISCORD_ATTEMPTS,
        )
        self.call_through(self.discord_calls)
        # What the workers could not do, for !health and the dashboard's overview.
        self.undone_calls = UndoneCalls(self.engine, clock)
        self.metrics.gauge_at_scrape(
            "streamkeeper_outbox_pending",
            "Calls to outside services waiting to be made or tried again, by service.",
            "service",
            self._pending_calls,  # read at each scrape, for every service with a worker
        )
        self.metrics.gauge_at_scrape(
            "streamkeeper_outbox_overdue_seconds",
            "How long the most overdue call of each service has waited past its time (0: none "
            "is): a partner down or too slow, or no process making its calls.",
            "service",
            self._overdue_calls,
        )
        self.guilds = GuildService(self.engine, clock)
        # A guild's tick waits for its own presence from before the instant, no one else's;
        # each bot process ticks the guilds of its own partitions.
        self.ticks = GuildTicks(
            self.bus,
            self.served_guild_ids,
            self.guilds.guilds_tracking,
            lambda guild_ids, at: self.watchtime.tick_many(guild_ids, at),
            limit_seconds=max(2.0 * interval, 60.0),
            interval_seconds=interval,
        )

    # --- what the features' installs use --------------------------------------------------------

    def handle(self, event_type: type[Event], handler: EventHandler) -> None:
        """Call ``handler(guild_id, event)`` for each guild an ``event_type`` event is for."""
        self.handlers[event_type].append(handler)

    def _count_call(self, service: str, outcome: str) -> None:
        self.metrics.outbox_calls.inc(service=service, outcome=outcome)

    def _pending_calls(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return store.pending_by_service(conn, [w.service for w in self.outbox_workers])

    def _overdue_calls(self) -> dict[str, float]:
        with self.engine.connect() as conn:
            services = [w.service for w in self.outbox_workers]
            return store.overdue_by_service(conn, services, self.clock())

    def on_discord_shard(self, guild_id: int) -> bool:
        """Whether this process's Discord client reaches the guild (its shard, DISCORD_SHARD_ID
        of DISCORD_SHARD_COUNT; every guild when the settings are not set): work on Discord
        for a guild runs in the process whose client sees it."""
        return on_shard(guild_id, self.settings.discord.shard)

    def call_through(self, worker: OutboxWorker) -> None:
        """Run ``worker`` with the pipeline: it makes the calls its service's handlers queued
        in the outbox (``core/outbox/``)."""
        # Its claims carry this process's name and last while this process beats, so a killed
        # process's calls pass on within seconds (core/ownership/claims.py).
        worker.beat_by(self.process_name)
        worker.on_outcome = self._count_call
        self.outbox_workers.append(worker)
        # Workers in many processes share the calls by themselves.
        self.scheduler.loop(f"{worker.service} calls", worker.run, everywhere=True)

    def on_shutdown(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Await ``hook`` when the pipeline stops (the last registered first)."""
        self._shutdown_hooks.append(hook)

    def on_close(self, hook: Callable[[], object]) -> None:
        """``hook()`` when the runtime closes, before the database goes: a feature's own
        threads stop here, whether or not the pipeline ran."""
        self._close_hooks.append(hook)

    def chat_sender_for(self, platform: Platform) -> ChatSender | None:
        """The chat sender of ``platform`` (asked on each reply, so it is built on the loop)."""
        make = self.chat_senders.get(platform)
        return make() if make is not None else None

    @property
    def public_base_url(self) -> str:
        """Where Kick sends browsers back to: OAUTH_BASE_URL, else this machine."""
        if self.settings.web.oauth_base_url:
            return self.settings.web.oauth_base_url
        # Kick's site rewrites 127.0.0.1 in redirect URLs, so use localhost.
        return f"http://localhost:{self.settings.web.port}"

    @property
    def link_lifetime(self) -> timedelta:
        """How long a signed link works (LINK_EXPIRY_MINUTES)."""
        return timedelta(minutes=self.settings.web.link_expiry_minutes)

    @functools.cached_property
    def setup_token(self) -> SetupToken:
        """The setup page's one-time token: made once per process, logged once at start."""
        return SetupToken()

    def own_guild_ids(self) -> list[int]:
        """The guilds of the partitions this bot process owns (every guild when it runs alone,
        or does not share its work: a tool, a test)."""
        return [g for g in self.guilds.guild_ids() if self.ownership.owns_guild(g)]

    def served_guild_ids(self) -> list[int]:
        """:meth:`own_guild_ids` but those the bot was removed from: the guilds whose viewers
        this process credits for watching (watchtime ticks, points)."""
        left = self.guilds.left_guild_ids()
        return [g for g in self.own_guild_ids() if g not in left]

    # --- health --------------------------------------------------------------------------------

    def health(self) -> HealthReport:
        """The deployment's health, for its operator (``/health``, ``core health``): this
        process's checks, then the lines that speak of every server (which ones need their
        streamer to connect again, payments in doubt across servers)."""
        checks = [
            *self.process_health(operator=True).checks,
            consent_check(self.engine, self.guilds.name_of),
            self.payment_doubts.health_check(),
            self.kick_public_key.health_check(),
            overdue_check(self.engine, [w.service for w in self.outbox_workers], self.clock()),
        ]
        return HealthReport(checks)

    def process_health(self, *, operator: bool = False) -> HealthReport:
        """This process's checks alone (database, bus, Redis, Discord, webhooks): what a
        server's own health view (``!health``, the dashboard's overview) shows before its own
        lines. Nothing here names or counts another server, nor names a bot process (a host):
        the bus's backlog (every server's events, and whether they wait too long) and the bot
        processes' names only for the ``operator``."""

        def database() -> str:
            db.ping(self.engine)
            pending = db.pending_migrations(self.engine)
            if pending:
                raise RuntimeError(
                    f"{len(pending)} migration(s) pending: run 'python setup_database.py'"
                )
            return f"{self.engine.dialect.name} answers, schema up to date"

        checks = [
            run_check("database", database),
            bus_check(self.bus, self.clock(), backlog=operator),
        ]
        if self.redis is not None:
            checks.append(run_check("redis", self._ping_redis))
        if self.discord.enabled:  # this process runs the bot: it must be connected
            status = self.discord.status
            checks.append(Check("discord", status.is_connected, status.describe()))
        elif self.settings.discord.token:  # another process runs it: what it says it is
            shard = self.settings.discord.shard
            checks.append(discord_check(self.ownership.leases, shard[1] if shard else None))
        checks.append(self.webhooks_check())
        return HealthReport(checks if operator else [check.for_a_server() for check in checks])

    def webhooks_check(self) -> Check:
        """Which webhook routes take deliveries (both platforms' when both are configured)."""
        return webhooks_check(
            twitch_secret_set=bool(self.settings.twitch.eventsub_secret),
            base_url=self.settings.web.oauth_base_url,
        )

    def _ping_redis(self) -> str:
        try:
            self.redis.ping()  # type: ignore[union-attr]
        except redis.RedisError as exc:
            raise RuntimeError("Could not connect to Redis. Is it running?") from exc
        return "answers"
