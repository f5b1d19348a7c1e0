"""!health: the checks of the whole bot, and of this server's connections and roles."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.health.cog import HealthCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    return [
        HealthCog(
            services.health,
            kick=services.kick_setup,
            twitch=services.twitch_setup,
            watchtime=services.watchtime,
            roles=services.roles,
            role_sync=services.role_sync,
            linking=services.linking,
            undone=services.undone_calls,
            services=services,
        )
    ]
