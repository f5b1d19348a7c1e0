"""What the dashboard is built with: the Discord application, the public URL, the operator, and
the few service calls its pages make (no SQL in the views)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.health import HealthReport
from core.services import FeatureServices
from core.web.dashboard.live_admission import LiveCaps


@dataclass(frozen=True)
class ProofFiles:
    """A closed raffle period's proof document and its ledger's size; the ledger document
    itself (every entry: megabytes for a busy period) is read only when asked for."""

    document: dict[str, Any]
    entry_count: int
    read_ledger: Callable[[], dict[str, Any]]  # LookupError when it is gone meanwhile
    time_zone: str = "UTC"  # the guild's raffle time zone: the page shows the times in it


if TYPE_CHECKING:
    from redis import Redis

    from core.bus.event_log import DatabaseEventLog, RedisEventLog
    from core.events import Platform
    from core.features.guilds.repository import TrackedChannel
    from core.features.roles.ports import GuildRoles
    from core.metrics import Metrics
    from core.web.dashboard.platform_sync import PlatformSync


@dataclass(kw_only=True)
class DashboardConfig(FeatureServices):
    """The dashboard's settings and calls; its pages take their feature's service from the
    fields it inherits (``installed(config().raffle)``: a 404 naming the area when it is None)."""

    secret: str = field(repr=False)  # signs the session cookie; also keys the token's encryption
    public_url: str | None  # OAUTH_BASE_URL: the redirect is <public_url>/dashboard/callback
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    api_base_url: str = "https://discord.com/api/v10"
    oauth_base_url: str = "https://discord.com/oauth2"
    operator_name: str | None = None
    operator_contact: str | None = None
    # Guilds the bot serves (our guild table): all of them (a viewer's own data), and which of
    # some ids (a dashboard user's servers; None: asked of the whole list).
    bot_guild_ids: Callable[[], list[int]] = list
    bot_serves: Callable[[Collection[int]], set[int]] | None = None
    # The name the bot stored for a guild (None: unknown).
    guild_name: Callable[[int], str | None] = lambda guild_id: None
    # The !health checks for one guild.
    guild_health: Callable[[int], HealthReport] = lambda guild_id: HealthReport()
    # What the overview shows while the database does not answer: the process checks, and a
    # server's own lines as not read (who asks cannot be checked then).
    health_while_down: Callable[[], HealthReport] = HealthReport
    # A closed period's proof files, as ``python -m core raffle export`` writes them; raises
    # LookupError when there is none to show.
    raffle_export: Callable[[int], ProofFiles] | None = None
    # The event log: the bus read for one guild (core/bus/event_log.py), the dispatcher's
    # routing (platform, broadcaster, chatroom -> guild ids) and this process's metrics.
    event_log: DatabaseEventLog | RedisEventLog | None = None
    guilds_tracking: Callable[..., list[int]] | None = None
    # A guild's channel on a platform (its name for the event log), or None.
    channel_of: Callable[[int, Platform], TrackedChannel | None] = lambda guild_id, platform: None
    metrics: Metrics | None = None
    # Live updates (core/web/dashboard/live.py, through the inherited ``live_backend``): how
    # many streams at once (in the process, per overlay link, per server, per client address:
    # live_admission.py), and how long one lasts before the browser reconnects.
    live_caps: LiveCaps = field(default_factory=LiveCaps)
    live_stream_seconds: int = 300
    # Runs a feature's coroutine from a web thread and returns its result (core/wiring/
    # front_ends.py: on the bot's loop in the combined process, else on a loop of this process).
    run: Callable[[Any], Any] | None = None
    # A guild's roles and channel ids as the bot last saw them (the directory), to check a
    # typed or picked id; None when they cannot be known (the bot never described the guild).
    guild_roles: Callable[[int], GuildRoles | None] = lambda guild_id: None
    guild_channel_ids: Callable[[int], frozenset[int] | None] = lambda guild_id: None
    # The overview's Sync buttons (!kick sync, !twitch sync) by URL slug; a platform this
    # process cannot sync is absent (core/web/dashboard/platform_sync.py).
    platform_syncs: dict[str, PlatformSync] = field(default_factory=dict)
    # The deployment's Redis (a sync client), where rate limits are kept for every web process;
    # None: each process keeps its own.
    redis: Redis | None = None
    session_hours: int = 8
    # How long Discord's word that a user may manage a guild is used: for pages, and for
    # changes (a POST), which ask again sooner.
    permission_cache_seconds: int = 180
    permission_write_seconds: int = 30

    def served(self, guild_ids: Collection[int]) -> set[int]:
        """Which of ``guild_ids`` the bot serves."""
        if self.bot_serves is not None:
            return self.bot_serves(guild_ids)
        return set(self.bot_guild_ids()) & set(guild_ids)

    @property
    def login_configured(self) -> bool:
        return bool(self.client_id and self.client_secret and self.public_url)

    @property
    def secure_cookies(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/dashboard/callback"
