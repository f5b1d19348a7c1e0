"""Watchtime roles: !roles and its subcommands."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.roles.cog import RolesCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.roles is None:
        return []

    return [RolesCog(services.roles, services.role_sync)]
