"""Temporary VIP: !vip setup, reward, set, settings, grant, extend, revoke, list and log."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.services import BotServices
from core.discord_bot.vip.cog import VipCog


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.vip is None:
        return []
    return [VipCog(services.vip, services.guilds)]
