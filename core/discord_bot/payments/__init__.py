"""Payments in doubt in Discord: !payments doubtful and !payments settle (Manage Server)."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.payments.cog import PaymentsCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.payment_doubts is None:
        return []
    return [PaymentsCog(services.payment_doubts)]
