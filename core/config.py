"""Typed settings, read once at start-up from the environment and ``.env``.

:func:`load_settings` is the only place that reads the environment; everything else receives a
:class:`Settings`. Every problem is reported in one plain line (``SettingsError.problems``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from core.features.quoting import shown
from core.settings_guards import (
    eventsub_secret_problems,
    flask_secret_key_problems,
    kick_webhook_max_age_problems,
    plain_ascii,
)
from core.settings_reader import WHOLE_MAX, SettingsError, SettingsReader
from core.settings_urls import database_url_problems, redis_url_problems
from core.storage.timeouts import SessionTimeouts

__all__ = ["Settings", "SettingsError", "load_settings"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str | None  # None: the embedded SQLite file under data_dir
    # PostgreSQL session timeouts, milliseconds, 0: off (core/storage/timeouts.py).
    timeouts: SessionTimeouts = field(default_factory=SessionTimeouts)


@dataclass(frozen=True)
class RedisSettings:
    url: str | None  # None: the embedded bus, kept in the database


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    oauth_base_url: str | None = None
    flask_secret_key: str | None = field(default=None, repr=False)
    threads: int = 8
    # Live dashboard streams (SSE) per process: each holds a thread of its own, beside ``threads``.
    live_max_streams: int = 100
    # ... and at most this many per overlay link, per Discord server and per client address, so
    # one server's link never takes another's (core/web/dashboard/live_admission.py).
    live_max_streams_per_overlay: int = 5
    live_max_streams_per_server: int = 20
    live_max_streams_per_client: int = 10
    live_stream_seconds: int = 300  # a stream then ends; the browser reconnects and resumes
    # Who runs this instance, named on /terms and /privacy.
    operator_name: str | None = None
    operator_contact: str | None = None
    # How long a signed link (a member's !link, a streamer's setup link) can be opened.
    link_expiry_minutes: int = 60
    # How many reverse proxies in front append to X-Forwarded-For (0: trust no forwarded header).
    trusted_proxy_count: int = 0
    # A bearer token /metrics requires (None: /metrics answers anyone).
    metrics_token: str | None = field(default=None, repr=False)
    # Where a bot process of its own (``python -m core bot``) serves /health and /metrics, at
    # ``host`` (None: it serves nothing; 0: any free port).
    bot_metrics_port: int | None = None
    # The largest picture or sound a streamer may upload for an alert (OVERLAY_MEDIA_MAX_BYTES);
    # at most 960,000, so that the upload fits the server's 1 MiB request body limit.
    overlay_media_max_bytes: int = 900_000

    @property
    def server_threads(self) -> int:
        """The web server's threads: ``threads`` for requests, plus one per admitted stream, so
        open dashboards never take a thread a webhook needs (core/web/dashboard/live.py)."""
        return self.threads + self.live_max_streams


@dataclass(frozen=True)
class DiscordSettings:
    token: str | None = field(default=None, repr=False)
    guild_id: int | None = None  # the one server that follows KICK_CHANNEL
    # The dashboard's "Log in with Discord" (OAuth2, scopes identify guilds).
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    api_base_url: str = "https://discord.com/api/v10"
    oauth_base_url: str = "https://discord.com/oauth2"
    # (shard id, shard count): this bot process's part of the gateway, with several processes
    shard: tuple[int, int] | None = None


@dataclass(frozen=True)
class KickSettings:
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    channel: str | None = None
    webhook_public_key: str | None = None  # PEM text or a path; None: Kick's key, bundled
    webhook_max_age_seconds: int = 600
    api_base_url: str = "https://api.kick.com"
    oauth_base_url: str = "https://id.kick.com"
    pusher_enabled: bool | None = None  # None: decided from OAUTH_BASE_URL
    pusher_url: str = (
        "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=8.4.0"
        "&flash=false"
    )
    site_base_url: str = "https://kick.com"  # the unofficial site API that knows chatroom ids
    bot_user_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TwitchSettings:
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    eventsub_secret: str | None = field(default=None, repr=False)  # the webhooks' HMAC key
    api_base_url: str = "https://api.twitch.tv/helix"
    oauth_base_url: str = "https://id.twitch.tv/oauth2"
    eventsub_ws_url: str = "wss://eventsub.wss.twitch.tv/ws"  # used when webhooks cannot reach us


@dataclass(frozen=True)
class StreamElementsSettings:
    api_url: str = "https://api.streamelements.com/kappa/v2"  # the loyalty points API


@dataclass(frozen=True)
class WatchtimeSettings:
    interval_seconds: int = 60
    active_window_minutes: int = 5


@dataclass(frozen=True)
class RolesSettings:
    update_interval_seconds: int = 600


@dataclass(frozen=True)
class RaffleSettings:
    auto_draw: bool = False
    announcement_channel_id: int | None = None
    # drand relays, asked in order until one answers a round whose signature checks out
    # (GET <relay>/<chain hash>/public/<round>); RAFFLE_BEACON_URL is a one-relay list.
    beacon_urls: tuple[str, ...] = (
        "https://api.drand.sh",
        "https://api2.drand.sh",
        "https://api3.drand.sh",
        "https://drand.cloudflare.com",
    )
    # The drand chain new periods take their round from: "quicknet", "default" (the pinned
    # League of Entropy chains, core/features/raffle/beacons/chains.py) or a chain hash.
    beacon_chain: str = "quicknet"


@dataclass(frozen=True)
class ShuffleSettings:
    """Wager tickets from Shuffle's affiliate statistics (URL and codes are per guild)."""

    poll_interval_seconds: int = 300
    # The only hosts (``host`` or ``host:port``) an affiliate URL may point at.
    allowed_hosts: tuple[str, ...] = ("affiliate.shuffle.com", "shuffle.com")


@dataclass(frozen=True)
class SlotCallsSettings:
    channel_id: int | None = None


@dataclass(frozen=True)
class HeistSettings:
    """What a guild's heist starts with; ``!heistset`` overrides them per guild."""

    join_window_seconds: int = 120
    cooldown_seconds: int = 300


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    format: str = "text"  # or "json"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database: DatabaseSettings = field(default_factory=lambda: DatabaseSettings(None))
    redis: RedisSettings = field(default_factory=lambda: RedisSettings(None))
    web: WebSettings = field(default_factory=WebSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    kick: KickSettings = field(default_factory=KickSettings)
    twitch: TwitchSettings = field(default_factory=TwitchSettings)
    watchtime: WatchtimeSettings = field(default_factory=WatchtimeSettings)
    roles: RolesSettings = field(default_factory=RolesSettings)
    raffle: RaffleSettings = field(default_factory=RaffleSettings)
    slot_calls: SlotCallsSettings = field(default_factory=SlotCallsSettings)
    heist: HeistSettings = field(default_factory=HeistSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    token_encryption_key: str | None = field(default=None, repr=False)
    shuffle: ShuffleSettings = field(default_factory=ShuffleSettings)
    streamelements: StreamElementsSettings = field(default_factory=StreamElementsSettings)
    chat_bots: tuple[str, ...] = ()  # CHAT_BOTS: more chat bots' logins, on every platform


def _session_timeouts(read: SettingsReader) -> SessionTimeouts:
    defaults, most = SessionTimeouts(), 3_600_000  # an hour

    def ms(name: str, default: int) -> int:
        return read.whole(name, default, maximum=most, unit="milliseconds")

    return SessionTimeouts(
        lock_ms=ms("DATABASE_LOCK_TIMEOUT_MS", defaults.lock_ms),
        statement_ms=ms("DATABASE_STATEMENT_TIMEOUT_MS", defaults.statement_ms),
        idle_in_transaction_ms=ms(
            "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", defaults.idle_in_transaction_ms
        ),
        connection_check_ms=ms("DATABASE_CONNECTION_CHECK_MS", defaults.connection_check_ms),
    )


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Build settings from ``environ`` (default: the process environment) over ``env_file``.

    The environment wins over the file. Raises :class:`SettingsError` listing every problem.
    """
    values: dict[str, str] = {}
    unreadable = None
    if env_file is not None and Path(env_file).is_file():
        try:
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        except UnicodeDecodeError:
            # A Windows editor's encoding, or PowerShell's `echo ... > .env` (UTF-16).
            unreadable = f"{env_file} is not UTF-8 text: save it as UTF-8 (no BOM)."
    values.update(os.environ if environ is None else environ)
    read = SettingsReader(values)
    if unreadable is not None:
        read.problems.append(unreadable)

    database_url = read.text("DATABASE_URL")
    read.problems.extend(database_url_problems(database_url))
    redis_url = read.text("REDIS_URL")
    read.problems.extend(redis_url_problems(redis_url))

    data_dir = read.text("DATA_DIR", "data") or "data"
    if any(ord(c) < 32 or ord(c) == 127 for c in data_dir):
        read.problems.append("DATA_DIR holds a control character: name a folder.")
        data_dir = "data"
    settings = Settings(
        data_dir=Path(data_dir),
        database=DatabaseSettings(database_url, _session_timeouts(read)),
        redis=RedisSettings(redis_url),
        web=WebSettings(
            host=read.text("HOST", "127.0.0.1") or "127.0.0.1",
            port=read.whole("PORT", 8080, minimum=0, maximum=65535),  # 0: any free port
            oauth_base_url=read.url("OAUTH_BASE_URL"),
            flask_secret_key=read.text("FLASK_SECRET_KEY"),
            threads=read.whole("WEB_THREADS", 8, minimum=1, maximum=128),
            # Each open stream holds a thread (started with the server) and a connection on top
            # of waitress's 500 (core/web/server.py): past a few hundred, the usual 1,024
            # descriptors per process run out before the streams do.
            live_max_streams=read.whole("LIVE_MAX_STREAMS", 100, minimum=0, maximum=400),
            live_max_streams_per_overlay=read.whole(
                "LIVE_MAX_STREAMS_PER_OVERLAY", 5, minimum=1, maximum=400
            ),
            live_max_streams_per_server=read.whole(
                "LIVE_MAX_STREAMS_PER_SERVER", 20, minimum=1, maximum=400
            ),
            live_max_streams_per_client=read.whole(
                "LIVE_MAX_STREAMS_PER_CLIENT", 10, minimum=1, maximum=400
            ),
            live_stream_seconds=read.whole("LIVE_STREAM_SECONDS", 300, minimum=15),
            operator_name=read.text("OPERATOR_NAME"),
            operator_contact=read.text("OPERATOR_CONTACT"),
            link_expiry_minutes=read.whole(
                "LINK_EXPIRY_MINUTES", 60, minimum=5, maximum=1440, unit="minutes"
            ),
            trusted_proxy_count=read.whole("WEB_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5),
            metrics_token=read.text("METRICS_TOKEN"),
            bot_metrics_port=read.optional_whole("BOT_METRICS_PORT", maximum=65535),
            overlay_media_max_bytes=read.whole(
                "OVERLAY_MEDIA_MAX_BYTES", 900_000, minimum=1_000, maximum=960_000
            ),
        ),
        discord=DiscordSettings(
            token=read.text("DISCORD_TOKEN"),
            guild_id=read.snowflake("DISCORD_GUILD_ID"),
            client_id=read.text("DISCORD_CLIENT_ID"),
            client_secret=read.text("DISCORD_CLIENT_SECRET"),
            api_base_url=read.url("DISCORD_API_BASE_URL", DiscordSettings.api_base_url) or "",
            oauth_base_url=read.url("DISCORD_OAUTH_BASE_URL", DiscordSettings.oauth_base_url) or "",
            shard=read.shard("DISCORD_SHARD_ID", "DISCORD_SHARD_COUNT"),
        ),
        kick=KickSettings(
            client_id=read.text("KICK_CLIENT_ID"),
            client_secret=read.text("KICK_CLIENT_SECRET"),
            channel=read.text("KICK_CHANNEL"),
            webhook_public_key=read.text("KICK_WEBHOOK_PUBLIC_KEY"),
            webhook_max_age_seconds=read.whole(
                "KICK_WEBHOOK_MAX_AGE_SECONDS", 600, minimum=-WHOLE_MAX, unit="seconds"
            ),
            api_base_url=read.url("KICK_API_BASE_URL", "https://api.kick.com") or "",
            oauth_base_url=read.url("KICK_OAUTH_BASE_URL", "https://id.kick.com") or "",
            pusher_enabled=read.flag("KICK_PUSHER_ENABLED", None),
            pusher_url=read.ws_url("KICK_PUSHER_URL", KickSettings.pusher_url),
            site_base_url=read.url("KICK_SITE_BASE_URL", "https://kick.com") or "",
            bot_user_token=read.text("KICK_BOT_USER_TOKEN"),
        ),
        twitch=TwitchSettings(
            client_id=read.text("TWITCH_CLIENT_ID"),
            client_secret=read.text("TWITCH_CLIENT_SECRET"),
            eventsub_secret=read.text("TWITCH_EVENTSUB_SECRET"),
            api_base_url=read.url("TWITCH_API_BASE_URL", TwitchSettings.api_base_url) or "",
            oauth_base_url=read.url("TWITCH_OAUTH_BASE_URL", TwitchSettings.oauth_base_url) or "",
            eventsub_ws_url=read.ws_url("TWITCH_EVENTSUB_WS_URL", TwitchSettings.eventsub_ws_url),
        ),
        watchtime=WatchtimeSettings(
            interval_seconds=read.whole("WATCH_INTERVAL_SECONDS", 60, minimum=1, unit="seconds"),
            active_window_minutes=read.whole("ACTIVE_WINDOW_MINUTES", 5, minimum=1, unit="minutes"),
        ),
        roles=RolesSettings(
            update_interval_seconds=read.whole(
                "ROLE_UPDATE_INTERVAL_SECONDS", 600, minimum=1, unit="seconds"
            )
        ),
        raffle=RaffleSettings(
            auto_draw=bool(read.flag("RAFFLE_AUTO_DRAW", False)),
            announcement_channel_id=read.snowflake("RAFFLE_ANNOUNCEMENT_CHANNEL_ID"),
            beacon_urls=read.urls(
                "RAFFLE_BEACON_URLS", read.url("RAFFLE_BEACON_URL"), RaffleSettings.beacon_urls
            ),
            beacon_chain=read.chain("RAFFLE_BEACON_CHAIN", RaffleSettings.beacon_chain),
        ),
        slot_calls=SlotCallsSettings(channel_id=read.snowflake("SLOT_CALLS_CHANNEL_ID")),
        heist=HeistSettings(
            # The ranges !heistset takes (core/features/heist/rules.py), so a default is one
            # the command would accept.
            join_window_seconds=read.whole(
                "HEIST_JOIN_WINDOW_SECONDS", 120, minimum=10, maximum=3600, unit="seconds"
            ),
            cooldown_seconds=read.whole(
                "HEIST_COOLDOWN_SECONDS", 300, minimum=0, maximum=86_400, unit="seconds"
            ),
        ),
        logging=LoggingSettings(
            level=read.choice("LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
            format=read.choice("LOG_FORMAT", "text", ("text", "json"), upper=False),
        ),
        token_encryption_key=read.text("TOKEN_ENCRYPTION_KEY"),
        shuffle=ShuffleSettings(
            poll_interval_seconds=read.whole(
                "SHUFFLE_POLL_INTERVAL_SECONDS", 300, minimum=60, unit="seconds"
            ),
            allowed_hosts=read.hosts("SHUFFLE_ALLOWED_HOSTS", ShuffleSettings.allowed_hosts),
        ),
        streamelements=StreamElementsSettings(
            api_url=read.url("STREAMELEMENTS_API_URL", StreamElementsSettings.api_url) or ""
        ),
        chat_bots=read.logins("CHAT_BOTS"),
    )
    read.problems.extend(kick_webhook_max_age_problems(settings.kick.webhook_max_age_seconds))
    read.problems.extend(flask_secret_key_problems(settings.web.flask_secret_key))
    read.problems.extend(eventsub_secret_problems(settings.twitch.eventsub_secret))
    token = settings.discord.token
    if token is not None and not plain_ascii(token):  # sent in an HTTP header, as it is
        read.problems.append(
            f"DISCORD_TOKEN holds a character no bot token has (a pasted space or quote?); "
            f"{len(token)} characters"
        )
    channel = settings.kick.channel
    if channel and settings.discord.guild_id is None:
        read.problems.append(
            "KICK_CHANNEL needs DISCORD_GUILD_ID, the id of the Discord server that follows it"
        )
    elif channel and not _KICK_SLUG.fullmatch(channel.lstrip("@")):  # as guild add takes it
        read.problems.append(
            "KICK_CHANNEL must be a Kick channel name (letters, digits, - and _, at most 25), "
            f"got {shown(channel)}"
        )
    if read.problems:
        raise SettingsError(read.problems)
    return settings


_KICK_SLUG = re.compile(r"[A-Za-z0-9_-]{1,25}")
