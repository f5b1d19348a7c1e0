"""``!payments doubtful`` lists the server's payments in doubt (calls that ended uncertain);
``!payments settle <#> paid|again [reason]`` settles one, with the member as the admin. Both
for Manage Server."""

from __future__ import annotations

import asyncio

from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import Context, ManagersCog, guild_of, manage_server
from core.discord_bot.payments import render
from core.discord_bot.payments.render import SETTLE_USAGE
from core.discord_bot.render import NO_MENTIONS
from core.features.payments.service import PaymentDoubts, SettleRefused, parse_action
from core.features.typed_numbers import whole_in


class PaymentsCog(ManagersCog, name="Payments"):
    """Payments whose fate is unknown, settled by an admin once."""

    def __init__(self, doubts: PaymentDoubts) -> None:
        self.doubts = doubts

    # No slash fallback: /payments doubtful is the subcommand below (!payments alone lists too).
    @commands.hybrid_group(name="payments", invoke_without_command=True)
    @commands.guild_only()
    @manage_server()
    async def payments_group(self, ctx: Context) -> None:
        """Payments whose fate is unknown: list them, settle one (Manage Server)."""
        await self._list(ctx)

    async def _list(self, ctx: Context) -> None:
        guild = guild_of(ctx)
        doubts = await asyncio.to_thread(self.doubts.doubtful, guild.id, render.SHOWN)
        total = await asyncio.to_thread(self.doubts.count, guild.id)
        text = render.doubts_text(doubts, total, ctx.clean_prefix)
        await ctx.send(text, allowed_mentions=NO_MENTIONS)

    @payments_group.command(name="doubtful")
    @commands.guild_only()
    async def payments_doubtful(self, ctx: Context) -> None:
        """List payments in doubt here, newest first (Manage Server)."""
        await self._list(ctx)

    # Its arguments are read by hand (a missing one gets the usage and an example), so !help
    # shows this line rather than three "optional" arguments.
    @payments_group.command(name="settle", usage=SETTLE_USAGE)
    @commands.guild_only()
    @app_commands.describe(
        call="The call's number, as !payments doubtful lists it",
        action="paid (you checked: it landed) or again (it did not: send it once more)",
        reason="Why (kept with the settlement)",
    )
    async def payments_settle(
        self, ctx: Context, call: str = "", action: str = "", *, reason: str = ""
    ) -> None:
        """Settle a payment in doubt once: paid or again (Manage Server)."""
        guild = guild_of(ctx)
        number = whole_in(call.strip().removeprefix("#"), low=1)
        if number is None or not action:
            raise SettleRefused(render.settle_usage(ctx.clean_prefix))
        settled = await asyncio.to_thread(
            self.doubts.settle,
            guild.id,
            number,
            parse_action(action),
            actor="discord",
            actor_id=ctx.author.id,
            reason=reason,
        )
        await ctx.send(render.settled_text(settled), allowed_mentions=NO_MENTIONS)
