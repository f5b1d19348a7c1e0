"""Subscription tiers in Discord: !tier [@member|name]."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.services import BotServices
from core.discord_bot.sub_tiers.cog import SubTiersCog


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.sub_tiers is None:
        return []
    return [SubTiersCog(services.sub_tiers)]
