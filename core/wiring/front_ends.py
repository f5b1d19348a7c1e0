"""The front ends' configurations, built from the assembled runtime: the feature services as
declared in :class:`core.services.FeatureServices` (copied field by field, so a new service
needs no line here), plus what only that front end needs (settings, the bus's publish, health).

The front ends take these as arguments and never import the composition root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.bus.event_log import event_log_of
from core.health import HealthReport, unread
from core.services import services_of

if TYPE_CHECKING:
    from core.discord_bot.services import BotServices
    from core.web.app import WebServices
    from core.web.dashboard.config import DashboardConfig
    from core.wiring.assembly import Assembly


def bot_services(rt: Assembly) -> BotServices:
    """What the Discord bot's cogs work with."""
    from core.discord_bot.services import BotServices

    return BotServices(**services_of(rt), health=rt.process_health, clock=rt.clock)


def web_services(rt: Assembly) -> WebServices:
    """What the web app is built with: the webhooks' receivers, health and metrics, the sign-in
    pages' services, the dashboard and the setup page."""
    from core.web.app import WebServices
    from core.web.setup import setup_config

    return WebServices(
        **services_of(rt),
        kick_receiver=rt.kick_receiver,
        twitch_receiver=rt.twitch_receiver,
        health=rt.health,
        metrics=rt.metrics,
        publish=rt.bus.publish,
        link_secret=rt.link_secret,
        clock=rt.clock,
        dashboard=dashboard_config(rt),
        trusted_proxy_count=rt.settings.web.trusted_proxy_count,
        metrics_token=rt.settings.web.metrics_token,
        setup=setup_config(rt.settings, rt.health, rt.setup_token, rt.link_secret),
    )


def dashboard_config(rt: Assembly) -> DashboardConfig:
    """The dashboard's settings, the feature services its pages call, and the few calls made
    for it from the runtime's parts (a guild's health, the event log, coroutines on the loop)."""
    from core.web.dashboard.aio import coroutine_runner
    from core.web.dashboard.config import DashboardConfig
    from core.web.dashboard.live_admission import LiveCaps
    from core.web.dashboard.platform_sync import platform_syncs
    from core.web.dashboard.wiring import (
        guild_channel_ids_of,
        guild_roles_of,
        raffle_exporter,
    )

    settings = rt.settings

    def guild_health(guild_id: int) -> HealthReport:
        # The process checks of /health (none naming another server), then the guild's own
        # lines of !health: each says so when the database did not answer, as !health does.
        from core.features.connections.checks import stored_platform_checks
        from core.web.dashboard.connection_words import fix_words
        from core.web.dashboard.guilds import UNDONE_LISTED

        checks = list(rt.process_health().checks)
        words = fix_words(rt.clock)
        checks += stored_platform_checks(rt.kick_setup, rt.twitch_setup, guild_id, words)
        checks.append(rt.undone_calls.check(guild_id, listed_at=UNDONE_LISTED))
        return HealthReport(checks)

    def health_while_down() -> HealthReport:
        # While the database does not answer, who asks cannot be checked: the process checks,
        # and a server's own lines of guild_health as not read (nothing of any server's).
        from core.features.connections.checks import CONNECTION_LINES
        from core.outbox.undone import CHECK_NAME

        unread_lines = [unread(CONNECTION_LINES), unread(CHECK_NAME)]
        return HealthReport([*rt.process_health().checks, *unread_lines])

    return DashboardConfig(
        **services_of(rt),
        secret=rt.link_secret,
        public_url=settings.web.oauth_base_url,
        client_id=settings.discord.client_id,
        client_secret=settings.discord.client_secret,
        api_base_url=settings.discord.api_base_url,
        oauth_base_url=settings.discord.oauth_base_url,
        operator_name=settings.web.operator_name,
        operator_contact=settings.web.operator_contact,
        bot_guild_ids=rt.guilds.guild_ids,
        bot_serves=rt.guilds.served_of,
        guild_name=rt.guilds.name_of,
        guild_health=guild_health,
        health_while_down=health_while_down,
        guilds_tracking=rt.guilds.guilds_tracking,
        channel_of=rt.guilds.channel_of,
        raffle_export=raffle_exporter(rt.raffle.views),
        event_log=event_log_of(rt.bus, rt.clock),
        metrics=rt.metrics,
        live_caps=LiveCaps(
            process=settings.web.live_max_streams,
            per_overlay=settings.web.live_max_streams_per_overlay,
            per_guild=settings.web.live_max_streams_per_server,
            per_client=settings.web.live_max_streams_per_client,
        ),
        live_stream_seconds=settings.web.live_stream_seconds,
        run=coroutine_runner(lambda: rt.loop),
        guild_roles=guild_roles_of(rt.directory),
        guild_channel_ids=guild_channel_ids_of(rt.directory),
        platform_syncs=platform_syncs(rt),
        redis=rt.redis,
    )
