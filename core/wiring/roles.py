"""Watchtime roles: tiers, and the sync that hands them out on Discord."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from core.discord_bot.gateway import DiscordUnavailable
from core.discord_bot.roles.outbound import DiscordMemberRoles
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync
from core.scheduler import wait_or_stop

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

log = logging.getLogger(__name__)
RETRY_WHILE_CONNECTING_SECONDS = 30.0


def install(rt: Assembly) -> None:
    rt.roles = RolesService(rt.engine, rt.clock)
    rt.role_sync = RoleSync(rt.roles, DiscordMemberRoles(rt.discord), clock=rt.clock)
    interval = rt.settings.roles.update_interval_seconds

    async def run_role_sync(stop: asyncio.Event) -> None:
        """Sync every guild every ROLE_UPDATE_INTERVAL_SECONDS; while the bot is still
        connecting, try again sooner than a whole interval later."""
        while not stop.is_set():
            wait = float(interval)
            try:
                await rt.role_sync.sync_all()
            except DiscordUnavailable:
                wait = min(wait, RETRY_WHILE_CONNECTING_SECONDS)
            except Exception:
                log.exception("role sync failed; trying again at the next interval")
            await wait_or_stop(stop, wait)

    # Each bot process syncs the guilds its own Discord shard sees.
    rt.scheduler.loop("role sync", run_role_sync, everywhere=True)
