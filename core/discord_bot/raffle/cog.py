"""Raffle commands: tickets and boards for everyone; periods, tickets, draws for admins."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import (
    Context,
    RecordNumber,
    Viewer,
    WholeRange,
    guild_of,
    manage_server,
    typed_channel_refusal,
)
from core.discord_bot.cooldowns import cooldown
from core.discord_bot.raffle import render as render_raffle
from core.discord_bot.render import NO_MENTIONS, inert
from core.features.raffle.admin import MAX_ADMIN_TICKETS
from core.features.raffle.draws.repository import Draw
from core.features.raffle.draws.rounds import split_winner
from core.features.raffle.draws.service import MAX_WINNERS
from core.features.raffle.service import RaffleService

Tickets = WholeRange[int, 1, MAX_ADMIN_TICKETS]


class RaffleCog(commands.Cog, name="Raffle"):
    """The monthly raffle: tickets from watching, gifted subs and wagers; draws anyone can check."""

    def __init__(self, raffle: RaffleService) -> None:
        self.raffle = raffle

    # --- everyone --------------------------------------------------------------------------

    @commands.hybrid_command(name="tickets")
    @commands.guild_only()
    async def tickets(self, ctx: Context) -> None:
        """Show your raffle tickets by source, your rank and your chance to win."""
        guild = guild_of(ctx)
        await ctx.defer()
        views = await asyncio.to_thread(self.raffle.views.tickets_of, guild.id, ctx.author.id)
        await ctx.send(render_raffle.tickets_views(views), allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="raffleboard")
    @commands.guild_only()
    @cooldown(5.0, commands.BucketType.channel)
    @app_commands.describe(count="How many viewers to show (1 to 25)")
    async def raffleboard(self, ctx: Context, count: WholeRange[int, 1, 25] = 10) -> None:
        """Show who holds the most raffle tickets."""
        guild = guild_of(ctx)
        await ctx.defer()
        view = await asyncio.to_thread(self.raffle.views.board, guild.id, count)
        await ctx.send(
            embed=render_raffle.board_embed(guild.name, view), allowed_mentions=NO_MENTIONS
        )

    @commands.hybrid_command(name="raffleinfo")
    @commands.guild_only()
    async def raffleinfo(self, ctx: Context) -> None:
        """Show the raffle period, its dates, the ticket rates and the draw commitment."""
        guild = guild_of(ctx)
        await ctx.defer()
        view = await asyncio.to_thread(self.raffle.views.info, guild.id)
        draws = [view.last_draw] if view.last_draw is not None else []
        names = await asyncio.to_thread(self.raffle.views.winner_names, draws)
        embed = render_raffle.info_embed(view, names)
        await ctx.send(embed=embed, allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="fair")
    @commands.guild_only()
    @app_commands.describe(draw="A draw number (default: the last draw)")
    async def fair(
        self,
        ctx: Context,
        draw: RecordNumber = None,  # type: ignore[assignment]
    ) -> None:
        """Show the proof of a draw: seed, commitment, ledger hash, beacon round and winners."""
        guild = guild_of(ctx)
        await ctx.defer()
        proof = await asyncio.to_thread(self.raffle.views.proof, guild.id, draw)
        page = self.raffle.proof_page(proof.period.id) if proof.document is not None else None
        embed = render_raffle.proof_embed(proof, draw, page)
        await ctx.send(embed=embed, allowed_mentions=NO_MENTIONS)

    # --- periods (Manage Server) -----------------------------------------------------------

    @commands.hybrid_command(name="rafflestart")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(start_day="Day of this month to start", end_day="Last day")
    async def rafflestart(
        self,
        ctx: Context,
        # Not Optional: discord.py would quietly skip a bad day instead of refusing it.
        start_day: WholeRange[int, 1, 31] = None,  # type: ignore[assignment]
        end_day: WholeRange[int, 1, 31] = None,  # type: ignore[assignment]
    ) -> None:
        """Open a raffle period (default: now to the end of the month); monthly after that."""
        guild = guild_of(ctx)
        await ctx.defer()
        period = await asyncio.to_thread(
            self.raffle.periods.start, guild.id, start_day=start_day, end_day=end_day
        )
        await ctx.send(render_raffle.period_started(period), allowed_mentions=NO_MENTIONS)

    # ignore_extra=False: "!raffleend 2026-12-31" is refused, not a close now (so is restart).
    @commands.hybrid_command(name="raffleend", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    async def raffleend(self, ctx: Context) -> None:
        """Close the raffle period now and stop opening new ones."""
        guild = guild_of(ctx)
        await ctx.defer()
        closing = await asyncio.to_thread(self.raffle.periods.end, guild.id)
        await ctx.send(
            render_raffle.period_ended(closing.period, closing.draw), allowed_mentions=NO_MENTIONS
        )

    @commands.hybrid_command(name="rafflerestart", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    async def rafflerestart(self, ctx: Context) -> None:
        """Close the open period now and open a fresh one until the end of the month."""
        guild = guild_of(ctx)
        await ctx.defer()
        restarted = await asyncio.to_thread(self.raffle.periods.restart, guild.id)
        closing, period = restarted
        lines = [render_raffle.period_ended(closing.period, closing.draw)] if closing else []
        lines.append(render_raffle.period_started(period))
        await ctx.send("\n".join(lines), allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="rafflesetdate")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(start="First day, YYYY-MM-DD", end="Last day, YYYY-MM-DD")
    async def rafflesetdate(self, ctx: Context, start: str, end: str) -> None:
        """Set the raffle period's first and last day (in the raffle's time zone)."""
        guild = guild_of(ctx)
        await ctx.defer()
        period = await asyncio.to_thread(self.raffle.periods.set_dates, guild.id, start, end)
        await ctx.send(render_raffle.period_started(period), allowed_mentions=NO_MENTIONS)

    # ignore_extra=False: "!raffleset hold_minutes 2 hours" is refused, not a 2-minute hold.
    @commands.hybrid_command(name="raffleset", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(
        name="watch_hour, gifted_sub, wager_thousand, hold_minutes, auto_draw, channel, "
        "time_zone or linked_only",
        value="The new value",
    )
    async def raffleset(self, ctx: Context, name: str | None = None, value: str = "") -> None:
        """Show the raffle settings, or change one: !raffleset <name> <value>."""
        guild = guild_of(ctx)
        await ctx.defer()
        before = await asyncio.to_thread(self.raffle.views.info, guild.id)
        rates, note = before.rates, ""
        if name is not None:
            refusal = (
                typed_channel_refusal(guild, value) if name.strip().lower() == "channel" else None
            )
            if refusal is not None:
                await ctx.send(refusal, allowed_mentions=NO_MENTIONS)
                return
            rates = await asyncio.to_thread(self.raffle.periods.configure, guild.id, name, value)
            if rates.time_zone != before.rates.time_zone and before.current is not None:
                note = "\n" + render_raffle.zone_changed(before.current)
        await ctx.send(render_raffle.settings_text(rates) + note, allowed_mentions=NO_MENTIONS)

    # --- tickets (Manage Server) -----------------------------------------------------------

    @commands.hybrid_command(name="rafflegive")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(
        viewer="A linked @member, or a Kick or Twitch name (kick:name, twitch:name)"
    )
    async def rafflegive(
        self, ctx: Context, viewer: Viewer, tickets: Tickets, *, reason: str = ""
    ) -> None:
        """Give a viewer raffle tickets, with a reason for the ledger."""
        await self._give(ctx, viewer, tickets, reason)

    @commands.hybrid_command(name="raffleremove")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(
        viewer="A linked @member, or a Kick or Twitch name (kick:name, twitch:name)"
    )
    async def raffleremove(
        self, ctx: Context, viewer: Viewer, tickets: Tickets, *, reason: str = ""
    ) -> None:
        """Take raffle tickets from a viewer, with a reason for the ledger."""
        await self._give(ctx, viewer, -tickets, reason)

    async def _give(
        self, ctx: Context, viewer: discord.Member | str, tickets: int, reason: str
    ) -> None:
        guild = guild_of(ctx)
        await ctx.defer()
        given = await asyncio.to_thread(
            self.raffle.admin.give,
            guild.id,
            actor_id=ctx.author.id,
            tickets=tickets,
            reason=reason,
            reference=f"discord:{ctx.interaction.id if ctx.interaction else ctx.message.id}",
            **_who(viewer),
        )
        verb = "Gave" if tickets > 0 else "Took"
        await ctx.send(
            f"{verb} {abs(tickets):,} tickets {'to' if tickets > 0 else 'from'} "
            f"{render_raffle.receiver(viewer, given)}; they now have {given.balance:,}.",
            allowed_mentions=NO_MENTIONS,
        )

    @commands.hybrid_command(name="rafflevoid")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(reference="The gift's reference, from !rafflestats")
    async def rafflevoid(self, ctx: Context, reference: str) -> None:
        """Cancel a gift's tickets (e.g. a failed payment); references are in !rafflestats."""
        guild = guild_of(ctx)
        await ctx.defer()
        gift = await asyncio.to_thread(
            self.raffle.admin.void_gift, guild.id, reference, actor_id=ctx.author.id
        )
        await ctx.send(
            f"Voided gift `{gift.reference}` by {inert(gift.gifter_name)} "
            f"({gift.tickets:,} tickets).",
            allowed_mentions=NO_MENTIONS,
        )

    @commands.hybrid_command(name="rafflestats")
    @commands.guild_only()
    @manage_server()
    async def rafflestats(
        self,
        ctx: Context,
        member: discord.Member = None,  # type: ignore[assignment]
    ) -> None:
        """Raffle totals by source, ledger entries and recent gifts, or one member's."""
        guild = guild_of(ctx)
        await ctx.defer()
        view = await asyncio.to_thread(
            self.raffle.views.stats, guild.id, member.id if member else None
        )
        await ctx.send(embed=render_raffle.stats_embed(view), allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="raffleexclude")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(
        viewer="A @member, or a Kick or Twitch name (kick:name, twitch:name): the streamer, a bot"
    )
    async def raffleexclude(self, ctx: Context, viewer: Viewer) -> None:
        """Keep a viewer out of the raffle's boards and draws."""
        guild = guild_of(ctx)
        await ctx.defer()
        change = await asyncio.to_thread(
            self.raffle.admin.exclude, guild.id, actor_id=ctx.author.id, **_who(viewer)
        )
        await ctx.send(render_raffle.excluded(change), allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="raffleinclude")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(viewer="A @member, or a Kick or Twitch name (kick:name, twitch:name)")
    async def raffleinclude(self, ctx: Context, viewer: Viewer) -> None:
        """Let an excluded viewer take part in the raffle again."""
        guild = guild_of(ctx)
        await ctx.defer()
        change = await asyncio.to_thread(self.raffle.admin.include, guild.id, **_who(viewer))
        await ctx.send(render_raffle.included(change), allowed_mentions=NO_MENTIONS)

    # --- draws (Manage Server) -------------------------------------------------------------

    @commands.hybrid_command(name="raffledraw")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(winners=f"How many winners (1 to {MAX_WINNERS})", prize="The prize")
    async def raffledraw(
        self,
        ctx: Context,
        winners: WholeRange[int, 1, MAX_WINNERS] = 1,
        *,
        prize: str = "",
    ) -> None:
        """Draw winners of the last closed period (waits for the beacon if it must)."""
        await self._draw(ctx, self.raffle.draws.request, winners=winners, prize=prize)

    @commands.hybrid_command(name="rafflereroll")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(reason="#2 first to replace only winner 2, then why (recorded)")
    async def rafflereroll(self, ctx: Context, draw: RecordNumber, *, reason: str) -> None:
        """Draw again for a draw: "#2 no answer" replaces winner 2 only; else every winner."""
        winner, why = split_winner(reason)
        await self._draw(ctx, self.raffle.draws.reroll, draw_id=draw, reason=why, winner=winner)

    @commands.hybrid_command(name="raffleforce")
    @commands.guild_only()
    @manage_server()
    async def raffleforce(self, ctx: Context) -> None:
        """Complete a draw that waits for the beacon without it; the proof will say so."""
        await self._draw(ctx, self.raffle.draws.force)

    async def _draw(self, ctx: Context, ask: Callable[..., Draw], **arguments: Any) -> None:
        """Ask the draws service (``ask(guild_id, actor_id=..., **arguments)``), say what it
        did and post what became due."""
        guild = guild_of(ctx)
        await ctx.defer()
        draw = await asyncio.to_thread(ask, guild.id, actor_id=ctx.author.id, **arguments)
        await ctx.send(render_raffle.draw_requested(draw), allowed_mentions=NO_MENTIONS)
        await self.raffle.announce_pending()


def _who(viewer: discord.Member | str) -> dict[str, Any]:
    if isinstance(viewer, discord.Member):
        return {"member_id": viewer.id, "username": None}
    return {"member_id": None, "username": viewer}
