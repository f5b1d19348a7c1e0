"""The composition root: settings, infrastructure, then each feature's own wiring.

Everything is built with plain constructor calls: the parts every feature builds on in
:class:`~core.wiring.assembly.Assembly`, each feature in ``core/wiring/<feature>.py`` (in
:data:`FEATURES` order), and the front ends' configurations in ``core/wiring/front_ends.py``.
This module runs them and holds what the processes call (the pipeline, the front ends, closing).
Nothing else reads the environment, and nothing below imports this module back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.bus.dispatch import Dispatcher
from core.config import Settings, load_settings
from core.events import system_clock
from core.features.schema import migrate
from core.features.watchtime.service import TickResult
from core.wiring import (
    chat,
    directory,
    front_ends,
    heist,
    kick,
    linking,
    live,
    overlays,
    points,
    privacy,
    raffle,
    roles,
    slot_calls,
    sub_tiers,
    twitch,
    viewers,
    vip,
    watchtime,
    web_sessions,
)
from core.wiring.assembly import Assembly

if TYPE_CHECKING:
    from flask import Flask

    from core.discord_bot.services import BotServices
    from core.web.app import WebServices
    from core.web.server import WebServer

log = logging.getLogger(__name__)

# Each feature's install(runtime), in order: a feature may use what the ones before it built.
FEATURES = (
    live,
    directory,
    viewers,
    watchtime,
    roles,
    linking,
    kick,
    twitch,
    raffle,
    chat,
    slot_calls,
    vip,
    sub_tiers,
    points,
    heist,
    overlays,
    web_sessions,
    privacy,
)


class Runtime(Assembly):
    """The running parts, every feature installed: its services are set here under their own
    names (``runtime.raffle``, ``runtime.kick_setup``), typed in
    :class:`core.services.FeatureServices`; see ``core/wiring/``."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = system_clock) -> None:
        super().__init__(settings, clock=clock)
        for feature in FEATURES:
            feature.install(self)
        self.dispatcher = Dispatcher(
            dict(self.handlers),
            self.guilds.guilds_tracking,
            self.metrics,
            handled=lambda guild_ids: self.live.changed_many((g, "events") for g in guild_ids),
            left_guilds=self.guilds.left_guild_ids,
            arrivals=self.event_arrivals,
        )

    @classmethod
    def from_environment(cls, env_file: str | Path | None = ".env") -> Runtime:
        return cls(load_settings(env_file=env_file))

    def migrate(self) -> None:
        migrate(self.engine)

    # --- front ends: each takes the services it uses, built in core/wiring/front_ends.py -----

    def web_services(self) -> WebServices:
        return front_ends.web_services(self)

    def bot_services(self) -> BotServices:
        """What the Discord bot's cogs work with."""
        return front_ends.bot_services(self)

    def create_web_app(self) -> Flask:
        from core.web.app import create_app

        return create_app(self.web_services())

    def start_web_server(self) -> WebServer:
        from core.web.server import WebServer  # the web's packages load only where it serves

        return WebServer(
            self.create_web_app(),
            self.settings.web.host,
            self.settings.web.port,
            threads=self.settings.web.server_threads,
        )

    def start_ops_server(self) -> WebServer | None:
        """A bot process's ``/health`` and ``/metrics`` (core/web/ops.py) at ``HOST`` and
        ``BOT_METRICS_PORT``; None when that is not set."""
        port = self.settings.web.bot_metrics_port
        if port is None:
            return None
        from core.web.ops import OPS_THREADS, OpsServices, create_ops_app
        from core.web.server import WebServer

        services = OpsServices(self.health, self.metrics, self.settings.web.metrics_token)
        return WebServer(
            create_ops_app(services), self.settings.web.host, port, threads=OPS_THREADS
        )

    # --- the event pipeline and the scheduler ------------------------------------------------

    async def run_pipeline(self, stop: asyncio.Event) -> None:
        """Consume events and run the scheduled jobs until ``stop`` is set."""
        # The dashboard runs the features' coroutines on this loop (their clients live on it).
        self.loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(self.bus.run(self.dispatcher, stop), self.scheduler.run(stop))
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Run the features' shutdown hooks (closing their HTTP clients), newest first, on the
        event loop that used them; the pipeline does it when it stops."""
        for hook in reversed(self._shutdown_hooks):
            await hook()
        self.loop = None

    def tick_all(self, now: datetime | None = None) -> list[TickResult]:
        """The watchtime tick in every guild at once (the scheduler's ``GuildTicks`` waits for
        each guild's own backlog first)."""
        return self.watchtime.tick_many(self.guilds.guild_ids(), now or self.clock())

    def close(self) -> None:
        for hook in reversed(self._close_hooks):
            try:
                hook()
            except Exception:
                log.warning("a close hook failed", exc_info=True)
        self.bus.close()
        if self.redis is not None:
            self.redis.close()
        self.engine.dispose()
