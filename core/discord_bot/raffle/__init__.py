"""The raffle in Discord: tickets, boards, periods, draws and proofs; Shuffle wager links."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.raffle.cog import RaffleCog
from core.discord_bot.raffle.wagers_cog import RaffleWagersCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    found: list[commands.Cog] = []
    if services.raffle is not None:
        found.append(RaffleCog(services.raffle))
    if services.wagers is not None:
        found.append(RaffleWagersCog(services.wagers))
    return found
