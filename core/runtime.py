"""The composition root: settings, storage, bus, adapters, services, front ends and scheduler.

Everything is built here with plain constructor calls; nothing else reads the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import redis

from core.bus.base import EventBus
from core.bus.dispatch import Dispatcher
from core.bus.embedded import EmbeddedBus
from core.bus.replay import DatabaseReplayGuard, RedisReplayGuard, ReplayGuard
from core.config import Settings, load_settings
from core.discord_bot.gateway import DiscordGateway, DiscordUnavailable
from core.discord_bot.outbound.linking import DiscordLinks
from core.discord_bot.outbound.raffle import DiscordRaffleAnnouncer
from core.discord_bot.outbound.roles import DiscordMemberRoles
from core.discord_bot.outbound.slot_calls import DiscordSlotCallPoster
from core.events import (
    AccountLinked,
    AccountLinkFailed,
    ChatMessageSent,
    Event,
    Platform,
    StreamEnded,
    StreamStarted,
    SubscriptionsGifted,
    utc,
)
from core.features.chat_commands.commands import StandardCommands
from core.features.chat_commands.ports import ChatSender, TicketBalance, TicketBalances
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.features.connections.arrivals import WebhookArrivals
from core.features.connections.service import AppToken, KickConnections
from core.features.connections.setup import KickSetup
from core.features.connections.subscriptions import SYNC_EVERY_SECONDS, SubscriptionKeeper
from core.features.guilds.default_channel import DefaultChannel
from core.features.guilds.service import GuildService
from core.features.linking.effects import LinkEffects
from core.features.linking.service import LinkingService
from core.features.raffle.beacon import HttpBeacon
from core.features.raffle.service import RaffleService
from core.features.raffle.wagers import PollResult, WagerService
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.service import SlotCallService
from core.features.watchtime.service import TickResult, WatchtimeService
from core.health import HealthReport, run_check
from core.metrics import Metrics
from core.platforms.kick.api import KickApi
from core.platforms.kick.chat import KickChatSender
from core.platforms.kick.oauth_client import KickOAuthClient
from core.platforms.kick.receiver import KickWebhookReceiver
from core.platforms.kick.site import look_up_internal_ids
from core.platforms.kick.sources import ChannelIds, PusherSupervisor, pusher_wanted
from core.platforms.kick.webhook import load_public_key
from core.security.secrets import TokenCipher, new_fernet_key, resolve_secret
from core.storage import db

if TYPE_CHECKING:
    from flask import Flask

    from core.discord_bot.bot import BotServices
    from core.web.app import WebServices

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600


def system_clock() -> datetime:
    return utc(datetime.now().astimezone())


class Runtime:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = system_clock) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = Metrics()
        # Features reach Discord through ports that ask this for the bot once it is running.
        self.discord = DiscordGateway()
        url = settings.database.url or db.sqlite_url(settings.data_dir)
        self.engine = db.create_engine(url)
        self.redis: redis.Redis | None = None
        self.bus: EventBus
        self.replay_guard: ReplayGuard
        publish_delivery: Callable[[Event, str], bool] | None = None
        if settings.redis.url:
            from core.bus.redis_streams import RedisStreamsBus

            self.redis = redis.Redis.from_url(
                settings.redis.url, socket_timeout=5, socket_connect_timeout=5
            )
            redis_bus = RedisStreamsBus(settings.redis.url)
            self.bus = redis_bus
            self.replay_guard = RedisReplayGuard(self.redis)
            # Webhooks: the bus remembers message ids in the publish itself (one round trip).
            publish_delivery = redis_bus.publish_delivery
        else:
            self.bus = EmbeddedBus(self.engine, clock=clock)
            self.replay_guard = DatabaseReplayGuard(self.engine, clock)

        # On SQLite everything lives on one machine, so generated keys can too; processes that
        # share PostgreSQL must share their keys, so there they have to be configured.
        embedded = url.startswith("sqlite")
        self.link_secret = resolve_secret(
            settings.web.flask_secret_key,
            name="FLASK_SECRET_KEY",
            data_dir=settings.data_dir,
            embedded=embedded,
            how_to="generate one with: python -c "
            '"import secrets; print(secrets.token_urlsafe(32))"',
        )
        self.cipher = TokenCipher(
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
        self.guilds = GuildService(self.engine, clock)
        self.linking = LinkingService(
            self.engine,
            clock,
            link_secret=self.link_secret,
            public_base_url=self.public_base_url,
            kick_configured=bool(settings.kick.client_id and settings.kick.client_secret),
        )
        self.connections = KickConnections(
            self.engine,
            self.cipher,
            oauth_base_url=settings.kick.oauth_base_url,
            client_id=settings.kick.client_id,
            redirect_uri=f"{self.public_base_url}/auth/kick/callback",
            make_oauth=self.kick_oauth_client,
            make_api=self.kick_api,
            clock=clock,
        )
        self.watchtime = WatchtimeService(
            self.engine, settings.watchtime, clock, on_tick=self._observe_tick
        )
        kick = settings.kick
        self.app_token = AppToken(self.kick_oauth_client, clock)
        self.subscriptions = SubscriptionKeeper(
            self.connections,
            self.guilds,
            self.kick_api,
            app_token=self.app_token.get if kick.client_id and kick.client_secret else None,
        )
        # Pusher passes on the event types whose webhooks are not arriving (per broadcaster).
        self.webhook_arrivals = WebhookArrivals(self.engine, clock)
        self.pusher: PusherSupervisor | None = None
        if pusher_wanted(kick.pusher_enabled, settings.web.oauth_base_url):
            self.pusher = PusherSupervisor(
                kick.pusher_url,
                channels=self._pusher_channels,
                publish=self.bus.publish,
                deliveries=self.webhook_arrivals.deliveries,
                clock=clock,
            )
        self.kick_receiver = KickWebhookReceiver(
            public_key=load_public_key(settings.kick.webhook_public_key),
            max_age_seconds=settings.kick.webhook_max_age_seconds,
            replay_guard=self.replay_guard,
            is_tracked=lambda platform, user_id: bool(
                self.guilds.guilds_tracking(platform, user_id)
            ),
            publish=self.bus.publish,
            metrics=self.metrics,
            clock=clock,
            broadcaster_of_subscription=self.connections.broadcaster_of_subscription,
            publish_delivery=publish_delivery,
            on_arrival=self.webhook_arrivals.record,
        )
        # --- raffle: periods, the ticket ledger, verifiable draws ---
        self.raffle = RaffleService(
            self.engine,
            settings.raffle,
            clock,
            beacon=HttpBeacon(settings.raffle.beacon_url),
            announcer=DiscordRaffleAnnouncer(self.discord),
        )
        # --- watchtime roles: tiers, and the sync that hands them out on Discord ---
        self.roles = RolesService(self.engine, clock)
        self.role_sync = RoleSync(self.roles, DiscordMemberRoles(self.discord), clock=clock)
        # --- linking: what follows a link attempt on Discord (DM, linked role, link log) ---
        # Watchtime roles follow a link (and an unlink) at once through role_sync.
        self.link_effects = LinkEffects(
            self.linking, DiscordLinks(self.discord), role_sync=self.role_sync
        )
        # --- chat commands and slot calls ---------------------------------------------------
        self.chat_replies = ChatReplier(self._chat_sender_for)
        self.slot_calls = SlotCallService(
            self.engine, clock, default_channel_id=settings.slot_calls.channel_id
        )
        self.slot_call_chat = SlotCallChat(
            self.slot_calls,
            DiscordSlotCallPoster(self.discord),
            self.chat_replies,
            self.guilds.name_of,
        )
        # The raffle answers chat !tickets.
        self.ticket_balances: TicketBalances = RaffleTicketBalances(self.raffle)
        self.chat_commands = ChatCommandRouter(
            [
                *StandardCommands(
                    self.watchtime, self.guilds.name_of, self.ticket_balances
                ).commands(),
                *self.slot_call_chat.commands(),
            ],
            self.chat_replies,
        )
        # --- end of chat commands and slot calls --------------------------------------------
        self.dispatcher = Dispatcher(
            {
                ChatMessageSent: [self.watchtime.record_chat, self.chat_commands.handle],
                StreamStarted: [self.watchtime.record_stream_status],
                StreamEnded: [self.watchtime.record_stream_status],
                AccountLinked: [self.link_effects.account_linked],
                AccountLinkFailed: [self.link_effects.link_failed],
                SubscriptionsGifted: [self.raffle.record_gift],
            },
            self.guilds.guilds_tracking,
            self.metrics,
        )
        self.kick_setup = self._build_kick_setup()
        # KICK_CHANNEL + DISCORD_GUILD_ID: that guild follows that channel, no command needed.
        self.default_channel = DefaultChannel(
            self.guilds, settings.discord.guild_id, kick.channel, self.kick_setup.find_channel
        )
        # --- raffle wagers: each guild's Shuffle affiliate statistics, polled into tickets ---
        self.wagers = WagerService(
            self.engine,
            self.cipher,
            interval_seconds=settings.shuffle.poll_interval_seconds,
            clock=clock,
        )

    def _build_kick_setup(self) -> KickSetup:
        kick = self.settings.kick
        return KickSetup(
            guilds=self.guilds,
            connections=self.connections,
            subscriptions=self.subscriptions,
            make_api=self.kick_api,
            app_token=self.app_token.get,
            look_up_ids=lambda slug: look_up_internal_ids(kick.site_base_url, slug),
            link_secret=self.link_secret,
            public_base_url=self.public_base_url,
            pusher_states=lambda: self.pusher.states() if self.pusher else {},
            last_events=self.dispatcher.last_events,
            client_configured=bool(kick.client_id and kick.client_secret),
            clock=self.clock,
        )

    @property
    def public_base_url(self) -> str:
        """Where Kick sends browsers back to: OAUTH_BASE_URL, else this machine."""
        if self.settings.web.oauth_base_url:
            return self.settings.web.oauth_base_url
        # Kick's site rewrites 127.0.0.1 in redirect URLs, so use localhost.
        return f"http://localhost:{self.settings.web.port}"

    def kick_oauth_client(self) -> KickOAuthClient:
        kick = self.settings.kick
        return KickOAuthClient(
            kick.oauth_base_url, kick.client_id or "", kick.client_secret or "", clock=self.clock
        )

    def kick_api(self) -> KickApi:
        return KickApi(self.settings.kick.api_base_url)

    @functools.cached_property
    def kick_chat(self) -> KickChatSender:
        """Replies in Kick chat (the features that talk back take it as their ChatSender).

        Built on first use, on the bot's event loop, which its HTTP client then belongs to.
        """
        self._kick_chat_api = self.kick_api()
        return KickChatSender(
            self._kick_chat_api,
            streamer_call=self.connections.call_as_streamer,
            bot_user_token=self.settings.kick.bot_user_token,
            failures=self.metrics.chat_failed,
        )

    def _chat_sender_for(self, platform: Platform) -> ChatSender | None:
        """The chat sender of ``platform`` (asked on each reply, so it is built on the loop)."""
        if platform == Platform.KICK:
            return self.kick_chat
        return None

    async def close_kick_chat(self) -> None:
        """Send what is queued, then close the chat sender's HTTP client (on the bot's loop)."""
        if "kick_chat" in self.__dict__:
            await self.kick_chat.close()
            await self._kick_chat_api.aclose()
            del self.__dict__["kick_chat"]

    @classmethod
    def from_environment(cls, env_file: str | Path | None = ".env") -> Runtime:
        return cls(load_settings(env_file=env_file))

    # --- storage and health ------------------------------------------------------------------

    def migrate(self) -> None:
        db.migrate(self.engine)

    def health(self) -> HealthReport:
        def database() -> str:
            db.ping(self.engine)
            pending = db.pending_migrations(self.engine)
            if pending:
                raise RuntimeError(f"{len(pending)} migration(s) pending: run 'make migrate'")
            return f"{self.engine.dialect.name} answers, schema up to date"

        def bus() -> str:
            self.bus.ping()
            return f"{self.bus.name} bus, {self.bus.backlog()} event(s) waiting"

        checks = [run_check("database", database), run_check("bus", bus)]
        if self.redis is not None:
            checks.append(run_check("redis", self._ping_redis))
        return HealthReport(checks)

    def _ping_redis(self) -> str:
        try:
            self.redis.ping()  # type: ignore[union-attr]
        except redis.RedisError as exc:
            raise RuntimeError("Could not connect to Redis. Is it running?") from exc
        return "answers"

    def _observe_tick(self, result: TickResult) -> None:
        self.metrics.tick_duration.observe(result.duration_seconds)
        if result.credited_viewers:
            log.info(
                "guild %s: %d viewer(s) gained %d s of watchtime",
                result.guild_id,
                result.credited_viewers,
                result.seconds_each,
            )

    # --- front ends --------------------------------------------------------------------------

    def web_services(self) -> WebServices:
        from core.web.app import WebServices

        return WebServices(
            kick_receiver=self.kick_receiver,
            health=self.health,
            metrics=self.metrics,
            connections=self.connections,
            linking=self.linking,
            publish=self.bus.publish,
            link_secret=self.link_secret,
            clock=self.clock,
        )

    def bot_services(self) -> BotServices:
        """What the Discord bot's cogs work with."""
        from core.discord_bot.bot import BotServices

        return BotServices(
            self.watchtime,
            self.guilds,
            self.health,
            self.kick_setup,
            roles=self.roles,
            role_sync=self.role_sync,
            linking=self.linking,
            link_effects=self.link_effects,
            slot_calls=self.slot_calls,
            slot_call_chat=self.slot_call_chat,
            raffle=self.raffle,
            wagers=self.wagers,
        )

    def create_web_app(self) -> Flask:
        from core.web.app import create_app

        return create_app(self.web_services())

    def start_web_server(self) -> WebServer:
        return WebServer(
            self.create_web_app(),
            self.settings.web.host,
            self.settings.web.port,
            threads=self.settings.web.threads,
        )

    # --- the event pipeline and the scheduler ------------------------------------------------

    async def run_pipeline(self, stop: asyncio.Event) -> None:
        """Consume events, run the scheduled jobs and the Kick sources until ``stop`` is set."""
        jobs = [self.bus.run(self.dispatcher, stop), self.run_scheduler(stop)]
        jobs.append(self.default_channel.run(stop))
        jobs.append(self.run_role_sync(stop))
        if self.settings.web.oauth_base_url:
            jobs.append(self.run_kick_upkeep(stop))
        if self.pusher is not None:
            jobs.append(self.pusher.run(stop))
        jobs.append(self.run_wager_polls(stop))
        try:
            await asyncio.gather(*jobs)
        finally:
            await self.chat_commands.close()
            await self.close_kick_chat()

    def _pusher_channels(self) -> list[ChannelIds]:
        return [
            ChannelIds(c.broadcaster_user_id, c.chatroom_id, c.channel_id)
            for c in self.guilds.kick_channels()
            if c.chatroom_id is not None
        ]

    async def run_kick_upkeep(self, stop: asyncio.Event, *, every_seconds: float = 60.0) -> None:
        """Keep webhook subscriptions in place: all of them every 30 minutes, and right away
        for a guild that asked (a streamer who just connected, or !kick sync)."""
        last_full = float("-inf")
        while not stop.is_set():
            try:
                if time.monotonic() - last_full >= SYNC_EVERY_SECONDS:
                    await self.subscriptions.sync_all()
                    last_full = time.monotonic()
                else:
                    await self.subscriptions.sync_requested()
            except Exception:
                log.exception("Kick subscription upkeep failed; trying again in a minute")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_seconds)

    async def run_scheduler(self, stop: asyncio.Event) -> None:
        interval = self.settings.watchtime.interval_seconds
        started = time.monotonic()
        last_prune = float("-inf")
        ticks = 0
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick_all)
                if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                    await asyncio.to_thread(self.prune)
                    last_prune = time.monotonic()
            except Exception:
                log.exception("scheduled job failed; retrying at the next tick")
            # --- slot calls: post the calls Discord missed while it was not connected ---
            if self.discord.enabled:
                try:
                    await self.slot_call_chat.post_pending()
                except Exception:
                    log.exception("posting missed slot calls failed; retrying at the next tick")
            try:
                await self.run_raffle()
            except Exception:
                log.exception("raffle job failed; retrying at the next tick")
            ticks += 1
            # Ticks stay on a fixed schedule: a slow tick does not push the next ones later.
            next_at = started + ticks * interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.monotonic()))

    async def run_role_sync(self, stop: asyncio.Event, *, retry_seconds: float = 30.0) -> None:
        """Sync watchtime roles in every guild every ROLE_UPDATE_INTERVAL_SECONDS.

        While the bot is still connecting, try again sooner than a whole interval later.
        """
        interval = self.settings.roles.update_interval_seconds
        while not stop.is_set():
            wait = float(interval)
            try:
                await self.role_sync.sync_all()
            except DiscordUnavailable:
                wait = min(wait, retry_seconds)
            except Exception:
                log.exception("role sync failed; trying again at the next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def run_raffle(self, now: datetime | None = None) -> None:
        """The raffle's timed work after each watchtime tick: period transitions (catching up on
        any missed while the bot was down), watchtime tickets, gift holds, draws waiting for the
        beacon; then the announcements Discord has not taken yet."""
        await self.wagers.poll_ending(now)  # wagers up to a period's end count in it
        await asyncio.to_thread(self.raffle.run_scheduled, now)
        await self.raffle.announce_pending()

    async def poll_wagers(self, now: datetime | None = None) -> list[PollResult]:
        """Poll the Shuffle statistics of every guild that is due (not backing off) once."""
        return await self.wagers.poll_due(now)

    async def run_wager_polls(self, stop: asyncio.Event) -> None:
        interval = self.settings.shuffle.poll_interval_seconds
        while not stop.is_set():
            try:
                await self.poll_wagers()
            except Exception:
                log.exception("Shuffle wager polls failed; trying again at the next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    def tick_all(self, now: datetime | None = None) -> list[TickResult]:
        now = now or self.clock()
        return [self.watchtime.tick(guild_id, now) for guild_id in self.guilds.guild_ids()]

    def prune(self) -> None:
        if isinstance(self.bus, EmbeddedBus):
            self.bus.prune()
        if isinstance(self.replay_guard, DatabaseReplayGuard):
            self.replay_guard.prune()

    def close(self) -> None:
        self.bus.close()
        if self.redis is not None:
            self.redis.close()
        self.engine.dispose()


class RaffleTicketBalances:
    """Chat's ``!tickets`` reads the raffle's standings; the two features stay unaware of each
    other."""

    def __init__(self, raffle: RaffleService) -> None:
        self.raffle = raffle

    def balance(
        self, guild_id: int, platform: Platform, platform_user_id: str
    ) -> TicketBalance | None:
        standing = self.raffle.standing(guild_id, platform, platform_user_id)
        if standing is None:
            return None
        return TicketBalance(standing.tickets, standing.rank, standing.participants)


class WebServer:
    """The production WSGI server (waitress) on a background thread."""

    def __init__(self, app: Flask, host: str, port: int, *, threads: int = 8) -> None:
        from waitress.server import create_server

        self._server = create_server(
            app, host=host, port=port, threads=threads, ident="StreamKeeper"
        )
        self.port: int = self._server.effective_port  # type: ignore[union-attr]
        self.host = host
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Finish the requests in hand, then stop the server's loop from inside its own thread.

        Closing the sockets from this thread instead races with the select() the loop is
        blocked in, which then fails on a closed descriptor.
        """
        from waitress import wasyncore

        server = self._server
        server.task_dispatcher.shutdown()
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))  # type: ignore[union-attr]
        except OSError:
            # The trigger is gone: the server already closed itself and its loop has ended.
            wasyncore.close_all(server._map, ignore_all=True)  # type: ignore[union-attr]
        self._thread.join(timeout=10)
