"""The dashboard's settings and service calls, taken from a Runtime (one call in
``Runtime.web_services``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.bus.event_log import event_log_of
from core.features.web_sessions.service import WebSessions
from core.health import HealthReport
from core.web.dashboard.aio import coroutine_runner
from core.web.dashboard.config import DashboardConfig, ProofFiles
from core.web.dashboard.live_admission import LiveCaps
from core.web.dashboard.platform_sync import platform_syncs

if TYPE_CHECKING:
    from core.features.directory.service import DirectoryService
    from core.features.raffle.proofs import Proof
    from core.features.raffle.views import RaffleViews
    from core.features.roles.ports import GuildRoles
    from core.runtime import Runtime


def raffle_exporter(views: RaffleViews) -> Callable[[int], ProofFiles]:
    """A closed period's proof files, as ``python -m core raffle export`` gets them (the ledger
    read only when asked for); LookupError when there is none to show (unknown, open, or not
    drawn yet)."""
    from core.features.raffle.errors import RaffleRefused

    def proof(period_id: int, with_ledger: bool) -> tuple[dict[str, Any], Proof]:
        try:
            found = views.export(period_id, with_ledger=with_ledger)
        except RaffleRefused as exc:
            raise LookupError(str(exc)) from exc
        if found.document is None:
            raise LookupError(f"period {period_id} has no draw yet")
        return found.document, found

    def read_ledger(period_id: int) -> dict[str, Any]:
        ledger = proof(period_id, with_ledger=True)[1].ledger
        if ledger is None:
            raise LookupError(f"period {period_id} has no ledger")
        return ledger

    def export(period_id: int) -> ProofFiles:
        document, found = proof(period_id, with_ledger=False)
        return ProofFiles(document, found.entry_count, lambda: read_ledger(period_id))

    return export


def guild_roles_of(directory: DirectoryService) -> Callable[[int], GuildRoles | None]:
    """A guild's roles as the bot last saw them (the server directory, so every web process
    knows them): which exist and which it may hand out; None when the bot never described it."""

    def guild_roles(guild_id: int) -> GuildRoles | None:
        from core.features.roles.ports import GuildRoles

        server, roles = directory.server(guild_id), directory.roles(guild_id)
        if server is None or server.can_manage_roles is None or not roles:
            return None
        return GuildRoles(
            can_manage_roles=server.can_manage_roles,
            assignable_role_ids=frozenset(role.role_id for role in roles if role.assignable),
            existing_role_ids=frozenset(role.role_id for role in roles),
        )

    return guild_roles


def guild_channel_ids_of(directory: DirectoryService) -> Callable[[int], frozenset[int] | None]:
    """A guild's channel ids as the bot last saw them; None when it never described the guild."""

    def channel_ids(guild_id: int) -> frozenset[int] | None:
        channels = directory.channels(guild_id)
        return frozenset(channel.channel_id for channel in channels) if channels else None

    return channel_ids


def dashboard_config(rt: Runtime) -> DashboardConfig:
    settings = rt.settings

    def guild_health(guild_id: int) -> HealthReport:
        # The process checks of /health, then the guild's own lines of !health.
        from core.features.connections.checks import kick_checks, twitch_checks
        from core.web.dashboard.connection_words import FIX_WORDS

        checks = list(rt.health().checks)
        checks += kick_checks(rt.kick_setup.status(guild_id), FIX_WORDS)
        if rt.twitch_setup.client_configured:
            checks += twitch_checks(rt.twitch_setup.status(guild_id), FIX_WORDS)
        return HealthReport(checks)

    return DashboardConfig(
        secret=rt.link_secret,
        public_url=settings.web.oauth_base_url,
        client_id=settings.discord.client_id,
        client_secret=settings.discord.client_secret,
        api_base_url=settings.discord.api_base_url,
        oauth_base_url=settings.discord.oauth_base_url,
        operator_name=settings.web.operator_name,
        operator_contact=settings.web.operator_contact,
        bot_guild_ids=rt.guilds.guild_ids,
        guild_name=rt.guilds.name_of,
        guild_health=guild_health,
        raffle_export=raffle_exporter(rt.raffle.views),
        slot_calls=rt.slot_calls,
        heist=rt.heist,
        points=rt.points,
        payment_doubts=rt.payment_doubts,
        linking=rt.linking,
        watchtime=rt.watchtime,
        raffle_views=rt.raffle.views,
        event_log=event_log_of(rt.bus, rt.clock),
        guilds_tracking=rt.guilds.guilds_tracking,
        channel_of=rt.guilds.channel_of,
        metrics=rt.metrics,
        webhook_arrivals=rt.webhook_arrivals,
        publish=rt.bus.publish,
        live_backend=rt.live_backend,
        live_caps=LiveCaps(
            process=settings.web.live_max_streams,
            per_overlay=settings.web.live_max_streams_per_overlay,
            per_guild=settings.web.live_max_streams_per_server,
            per_client=settings.web.live_max_streams_per_client,
        ),
        live_stream_seconds=settings.web.live_stream_seconds,
        run=coroutine_runner(lambda: rt.loop),
        vip=rt.vip,
        overlays=rt.overlays,
        raffle=rt.raffle,
        roles=rt.roles,
        kick_setup=rt.kick_setup,
        twitch_setup=rt.twitch_setup,
        directory=rt.directory,
        guild_roles=guild_roles_of(rt.directory),
        guild_channel_ids=guild_channel_ids_of(rt.directory),
        platform_syncs=platform_syncs(rt),
        redis=rt.redis,
        sessions=WebSessions(rt.engine, rt.clock),
    )
