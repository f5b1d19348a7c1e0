"""Account links: !link, the link panels, !linkrole, !linklogs and !unlink."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.linking.cog import LinkingCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.linking is None or services.link_effects is None:
        return []

    return [LinkingCog(services.linking, services.link_effects, services.clock)]
