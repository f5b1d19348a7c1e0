"""Points in Discord: ``!points [@member|name]``, ``!pointsboard``, and for Manage Server
``!pointsgive``, ``!pointsremove``, ``!points rate ...`` and ``!points name ...``."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import (
    Context,
    OptionalViewer,
    Viewer,
    delete_invocation,
    guild_of,
    manage_server,
    require_manage_server,
)
from core.discord_bot.cooldowns import cooldown
from core.discord_bot.pages import send_pages
from core.discord_bot.points import render
from core.discord_bot.render import NO_MENTIONS, inert
from core.events import Platform
from core.features.linking.service import LinkingService
from core.features.points.board import BalanceRow
from core.features.points.se_logins import kick_without_twitch
from core.features.points.se_wallet import STREAMELEMENTS, SeWallet
from core.features.points.service import (
    PointsRefused,
    PointsService,
    one_account,
    parse_amount,
)

SE_BOARD_CANDIDATES = 25  # viewers whose StreamElements balance one !pointsboard asks for


# !pointsgive and !pointsremove take the same arguments, described once for the slash form.
_DESCRIBE_MOVE = app_commands.describe(
    viewer="A @member or a Kick/Twitch name",
    amount="How many",
    reason="Why (kept in the ledger)",
)


class PointsCog(commands.Cog, name="Points"):
    """The server's points: balances, the board, grants and the earning rates."""

    def __init__(
        self,
        points: PointsService,
        linking: LinkingService | None = None,
        wallet: SeWallet | None = None,
    ) -> None:
        self.points = points
        self.linking = linking
        self.wallet = wallet

    async def _reply(self, ctx: Context, text: str) -> None:
        await ctx.send(text, allowed_mentions=NO_MENTIONS)

    async def _streamelements(self, guild_id: int) -> SeWallet | None:
        """The wallet when this guild keeps its points in StreamElements; else None."""
        wallet = self.wallet
        if wallet is not None and await asyncio.to_thread(wallet.uses_streamelements, guild_id):
            return wallet
        return None

    # --- who is meant --------------------------------------------------------------------

    async def _linked(self, guild_id: int, member: discord.abc.User) -> list[BalanceRow]:
        if self.linking is None:
            return []
        rows = []
        for platform in Platform:
            link = await asyncio.to_thread(self.linking.link_of, member.id, platform)
            if link is not None:
                balance = await asyncio.to_thread(
                    self.points.balance, guild_id, platform, link.platform_user_id
                )
                rows.append(BalanceRow(platform, link.platform_user_id, link.username, balance))
        return rows

    async def _targets(
        self, ctx: Context, guild_id: int, viewer: discord.Member | str | None
    ) -> list[BalanceRow]:
        """The accounts meant; refuses plainly when there are none."""
        if isinstance(viewer, str):
            return await asyncio.to_thread(self.points.known_holders_named, guild_id, viewer)
        member = viewer or ctx.author
        rows = await self._linked(guild_id, member)
        if not rows:
            if member.id == ctx.author.id:
                raise PointsRefused(
                    f"Link your Kick or Twitch account first: {ctx.clean_prefix}link."
                )
            raise PointsRefused(
                f"{member.display_name} has not linked a Kick or Twitch account; "
                "name their Kick or Twitch account instead."
            )
        return rows

    async def _one_target(
        self, ctx: Context, guild_id: int, viewer: discord.Member | str
    ) -> BalanceRow:
        return one_account(await self._targets(ctx, guild_id, viewer))

    # --- everyone ------------------------------------------------------------------------

    @commands.hybrid_group(
        name="points", invoke_without_command=True, case_insensitive=True, fallback="show"
    )
    @commands.guild_only()
    @app_commands.describe(viewer="A @member or a Kick/Twitch name (yourself when left out)")
    async def points_group(self, ctx: Context, *, viewer: OptionalViewer = None) -> None:
        """Show your points (or a member's or viewer's)."""
        guild = guild_of(ctx)
        rows = await self._targets(ctx, guild.id, viewer)
        name = await asyncio.to_thread(self.points.name, guild.id)
        lines = []
        wallet = await self._streamelements(guild.id)
        if wallet is not None:
            # StreamElements keeps points by Twitch login: a Kick account's is the Twitch
            # account linked to the same member (se_logins); each login is shown once.
            logins = await asyncio.to_thread(wallet.logins_of, _accounts(rows))
            shown: set[str] = set()
            for row, login in zip(rows, logins, strict=True):
                if login is None:
                    lines.append(render.se_no_twitch_line(row, ctx.clean_prefix))
                    continue
                if login.lower() in shown:
                    continue
                shown.add(login.lower())
                try:
                    balance = await wallet.balance(guild.id, login)
                    held = await asyncio.to_thread(wallet.held, guild.id, login)
                except PointsRefused as refused:
                    lines.append(f"**{render.inert(login)}**: {refused}")
                    continue
                lines.append(render.se_balance_line(login, name, held, balance))
            await self._reply(ctx, "\n".join(lines))
            return
        for row in rows:
            place = await asyncio.to_thread(self.points.place, guild.id, row.points)
            lines.append(render.balance_line(row, name, place))
        await self._reply(ctx, "\n".join(lines))

    @commands.hybrid_command(name="pointsboard")
    @commands.guild_only()
    @cooldown(5.0, commands.BucketType.channel)
    async def pointsboard(self, ctx: Context) -> None:
        """The viewers with the most points here, with buttons to page through."""
        guild = guild_of(ctx)
        name = await asyncio.to_thread(self.points.name, guild.id)
        wallet = await self._streamelements(guild.id)
        if wallet is not None:
            await self._se_board(ctx, wallet, guild, name)
            return
        holders = await asyncio.to_thread(self.points.count_holders, guild.id)
        if holders == 0:
            await self._reply(ctx, render.EMPTY_BOARD)
            return
        pages = max(1, math.ceil(holders / render.PAGE_SIZE))

        async def render_page(page: int) -> discord.Embed:
            rows = await asyncio.to_thread(
                self.points.leaderboard, guild.id, render.PAGE_SIZE, page * render.PAGE_SIZE
            )
            return render.board_embed(guild.name, rows, name, page=page, pages=pages)

        first = await render_page(0)
        await send_pages(
            ctx, first, render_page=render_page, pages=pages, not_yours=render.NOT_YOUR_BOARD
        )

    async def _se_board(
        self, ctx: Context, wallet: SeWallet, guild: discord.Guild, name: str
    ) -> None:
        """StreamElements' balances of the viewers seen earning here (StreamElements' own
        leaderboard reply is not documented, so the board is made here: docs/points.md)."""
        seen = await asyncio.to_thread(self.points.leaderboard, guild.id, SE_BOARD_CANDIDATES)
        await ctx.defer()
        logins = await asyncio.to_thread(wallet.logins_of, _accounts(r.row for r in seen))
        rows = await wallet.board(guild.id, [login for login in logins if login is not None])
        if not rows:
            await self._reply(ctx, render.EMPTY_BOARD)
            return
        embed = render.se_board_embed(guild.name, rows, name)
        await ctx.send(embed=embed, allowed_mentions=NO_MENTIONS)

    # --- Manage Server ---------------------------------------------------------------------

    # ignore_extra=False: "!points rate window 2 hours" is refused, not a 2-minute window.
    @points_group.command(name="rate", ignore_extra=False)
    @commands.guild_only()
    @app_commands.describe(rate="watch, sub, chat, chatcap or window", value="A whole number")
    async def points_rate(self, ctx: Context, rate: str = "", value: str = "") -> None:
        """Show the earning rates, or set one (Manage Server)."""
        guild = guild_of(ctx)
        if rate or value:
            await require_manage_server(ctx)
            if not value:
                raise PointsRefused(
                    f"Usage: {ctx.clean_prefix}points rate <name> <value>, "
                    f"e.g. {ctx.clean_prefix}points rate watch 2."
                )
            rates = await asyncio.to_thread(self.points.set_rate, guild.id, rate, value)
        else:
            rates = await asyncio.to_thread(self.points.rates, guild.id)
        name = await asyncio.to_thread(self.points.name, guild.id)
        await self._reply(ctx, render.rates_text(rates, name, ctx.clean_prefix))

    @points_group.command(name="name")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(name="What your points are called, e.g. Pixels")
    async def points_name(self, ctx: Context, *, name: str = "") -> None:
        """Name your points (Manage Server)."""
        guild = guild_of(ctx)
        if not name.strip():
            current = await asyncio.to_thread(self.points.name, guild.id)
            raise PointsRefused(
                f"Points here are called {current!r}; "
                f"rename them with {ctx.clean_prefix}points name <name>."
            )
        saved = await asyncio.to_thread(self.points.set_name, guild.id, name)
        await self._reply(ctx, f"Points are now called **{inert(saved)}**.")

    @points_group.command(name="backend")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(
        backend="ledger (StreamKeeper's own) or streamelements",
        details="For streamelements: <channel id> <JWT> (your message is deleted)",
    )
    async def points_backend(self, ctx: Context, backend: str = "", *, details: str = "") -> None:
        """Where balances live: StreamKeeper's ledger or StreamElements (Manage Server)."""
        guild = guild_of(ctx)
        private = ctx.interaction is not None
        wanted = backend.strip().casefold()
        secret_typed = bool(details.strip()) and not private
        deleted = secret_typed and await delete_invocation(ctx)
        if self.wallet is None:
            raise PointsRefused("The StreamElements backend is not available on this bot.")
        if not wanted:
            current = await asyncio.to_thread(self.wallet.backend_of, guild.id)
            owed = await asyncio.to_thread(self.wallet.payments_owed, guild.id)
            reply = render.backend_text(current, ctx.clean_prefix, owed)
        elif wanted == "ledger":
            waiting = await asyncio.to_thread(self.wallet.use_ledger, guild.id)
            in_doubt = await asyncio.to_thread(self.wallet.payments_in_doubt, guild.id)
            reply = render.back_on_ledger(waiting, in_doubt)
        elif wanted == STREAMELEMENTS:
            words = details.split()
            if len(words) != 2:
                reply = render.backend_usage(ctx.clean_prefix)
            else:
                await ctx.defer(ephemeral=private)  # StreamElements is asked whose JWT it is
                refused_jwt = await self.wallet.jwt_refused(words[0], words[1])
                try:
                    if refused_jwt is not None:
                        raise PointsRefused(refused_jwt)
                    channel, resent = await asyncio.to_thread(
                        self.wallet.use_streamelements, guild.id, words[0], words[1]
                    )
                except PointsRefused as refused:
                    reply = inert(str(refused))
                else:
                    reply = render.backend_set(channel, resent)
        else:
            reply = render.backend_usage(ctx.clean_prefix)
        if secret_typed:
            reply += (
                "\n(I deleted your message: it held your JWT.)"
                if deleted
                else "\nI couldn't delete your message: delete it yourself, it holds your JWT."
            )
        await ctx.send(reply, ephemeral=private, allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="pointsgive")
    @commands.guild_only()
    @manage_server()
    @_DESCRIBE_MOVE
    async def pointsgive(
        self, ctx: Context, viewer: Viewer, amount: str, *, reason: str = ""
    ) -> None:
        """Give a viewer points (Manage Server)."""
        await self._move(ctx, viewer, amount, reason, give=True)

    @commands.hybrid_command(name="pointsremove")
    @commands.guild_only()
    @manage_server()
    @_DESCRIBE_MOVE
    async def pointsremove(
        self, ctx: Context, viewer: Viewer, amount: str, *, reason: str = ""
    ) -> None:
        """Take points from a viewer (Manage Server); never below zero."""
        await self._move(ctx, viewer, amount, reason, give=False)

    async def _move(
        self, ctx: Context, viewer: Viewer, amount: str, reason: str, *, give: bool
    ) -> None:
        """An admin grant or removal, recorded with the member as actor."""
        guild = guild_of(ctx)
        count = parse_amount(amount)
        row = await self._one_target(ctx, guild.id, viewer)
        wallet = await self._streamelements(guild.id)
        if wallet is not None:
            # A points change through the streamelements worker, keyed by this command.
            source = ctx.interaction.id if ctx.interaction is not None else ctx.message.id
            [login] = await asyncio.to_thread(wallet.logins_of, _accounts([row]))
            if login is None:
                raise PointsRefused(kick_without_twitch(row.username))
            change = await wallet.queue_change(
                guild.id,
                login,
                count if give else -count,
                ref=f"discord:{source}",
                actor_id=ctx.author.id,
                reason=reason,
            )
            name = await asyncio.to_thread(self.points.name, guild.id)
            await self._reply(ctx, render.se_change_text(change, row, login, name))
            return
        move = self.points.give if give else self.points.remove
        balance = await asyncio.to_thread(
            move,
            guild.id,
            row.platform,
            row.platform_user_id,
            count,
            actor_id=ctx.author.id,
            reason=reason,
        )
        name = await asyncio.to_thread(self.points.name, guild.id)
        done = "Gave {} to" if give else "Took {} from"
        await self._reply(
            ctx,
            f"{done.format(render.amount(count, name))} **{inert(row.username)}** "
            f"({render.platform_title(row)}); they have {render.amount(balance, name)}.",
        )


def _accounts(rows: Iterable[BalanceRow]) -> list[tuple[Platform, str, str]]:
    return [(row.platform, row.platform_user_id, row.username) for row in rows]
