"""Wager tickets: !linkshuffle, !verifyshuffle, !unlinkshuffle and !shuffle url|codes|role|status.

The affiliate statistics URL carries the streamer's affiliate key, so it is never shown whole:
``!shuffle url`` deletes the admin's message once it is stored (``/shuffle url`` is private from
the start) and every reply shows the URL masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import Context, delete_invocation, guild_of, manage_server
from core.discord_bot.render import MESSAGE_LIMIT, NO_MENTIONS, inert, truncate
from core.events import utc
from core.features.raffle.errors import WagerRefused
from core.features.raffle.wagers.service import WagerService, WagerStatus
from core.features.raffle.wagers.shuffle_accounts import Verified

log = logging.getLogger(__name__)
OFF_WORDS = ("off", "none", "clear")


class RaffleWagersCog(commands.Cog, name="Wager tickets"):
    """Raffle tickets for wagers on Shuffle under the streamer's code."""

    def __init__(self, wagers: WagerService) -> None:
        self.wagers = wagers

    # --- viewers -------------------------------------------------------------------------------

    # The name is the rest of the line: "High Roller" is refused, not asked for as "High".
    @commands.hybrid_command(name="linkshuffle")
    @commands.guild_only()
    @app_commands.describe(name="Your Shuffle username")
    async def link_shuffle(self, ctx: Context, *, name: str) -> None:
        """Ask to link your Shuffle account, so your wagers earn raffle tickets."""
        guild = guild_of(ctx)
        request = await asyncio.to_thread(self.wagers.request_link, guild.id, ctx.author.id, name)
        reply = link_requested(request.username, request.has_stream_link, ctx.clean_prefix)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    # --- admins --------------------------------------------------------------------------------

    @commands.hybrid_command(name="verifyshuffle")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(member="Who asked", name="The Shuffle username they asked for")
    async def verify_shuffle(self, ctx: Context, member: discord.Member, *, name: str) -> None:
        """Confirm a member's Shuffle account after checking it plays under your code (Manage
        Server)."""
        guild = guild_of(ctx)
        if member.bot:
            await ctx.send("Bots don't wager on Shuffle.", allowed_mentions=NO_MENTIONS)
            return
        verified = await asyncio.to_thread(
            self.wagers.verify,
            guild.id,
            admin_id=ctx.author.id,
            discord_user_id=member.id,
            name=name,
        )
        role_note = await self._give_role(guild, member, verified.role_id, ctx.author)
        reply = verified_reply(member, verified, role_note)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    # A discord.User too, as !unlink takes: someone who left is named by their user id.
    @commands.hybrid_command(name="unlinkshuffle")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(member="The member (or user id, for someone who left)")
    async def unlink_shuffle(self, ctx: Context, member: discord.Member | discord.User) -> None:
        """Forget a member's Shuffle account; tickets already given stay (Manage Server)."""
        guild = guild_of(ctx)
        link = await asyncio.to_thread(self.wagers.unlink, guild.id, member.id)
        who = (
            member.mention
            if isinstance(member, discord.Member)
            else f"{inert(member.name)} (no longer in this server)"
        )
        if link is None:
            reply = f"{who} has no verified Shuffle account here (any request is gone)."
            await ctx.send(reply, allowed_mentions=NO_MENTIONS)
            return
        role_id = await asyncio.to_thread(self.wagers.verified_role, guild.id)
        role = guild.get_role(role_id) if role_id else None
        if isinstance(member, discord.Member) and role is not None and role in member.roles:
            with contextlib.suppress(discord.HTTPException):
                await member.remove_roles(role, reason=f"Shuffle account unlinked by {ctx.author}")
        reply = (
            f"{who} is no longer linked to **{inert(link.username)}** on Shuffle; "
            "the tickets they earned stay."
        )
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @commands.hybrid_group(name="shuffle", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    @manage_server()
    async def shuffle_group(self, ctx: Context) -> None:
        """Set up wager tickets from your Shuffle affiliate statistics (Manage Server)."""
        await ctx.send(shuffle_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    @shuffle_group.command(name="url")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(url="Your affiliate statistics link (it holds your key), or off")
    async def shuffle_url(self, ctx: Context, url: str) -> None:
        """Set the affiliate statistics link; your message is deleted (Manage Server)."""
        guild = guild_of(ctx)
        private = ctx.interaction is not None
        deleted = private or await delete_invocation(ctx)
        wanted = None if url.strip().lower() in OFF_WORDS else url
        try:
            masked = await asyncio.to_thread(self.wagers.set_affiliate_url, guild.id, wanted)
        except WagerRefused as refused:
            reply = inert(str(refused))
        else:
            reply = url_saved(masked, ctx.clean_prefix)
        if not deleted:
            reply += (
                "\nI couldn't delete your message: delete it yourself, the link holds your key."
            )
        elif not private:
            reply += "\n(I deleted your message: the link holds your affiliate key.)"
        await ctx.send(reply, ephemeral=private, allowed_mentions=NO_MENTIONS)

    @shuffle_group.command(name="codes")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(codes="Your campaign codes, separated by commas or spaces, or off")
    async def shuffle_codes(self, ctx: Context, *, codes: str) -> None:
        """Set the campaign codes whose players earn tickets (Manage Server)."""
        guild = guild_of(ctx)
        wanted = None if codes.strip().lower() in OFF_WORDS else codes
        saved = await asyncio.to_thread(self.wagers.set_campaign_codes, guild.id, wanted)
        if saved:
            reply = f"Players under {format_codes(saved)} now earn wager tickets."
        else:
            reply = "Campaign codes cleared: nobody earns wager tickets until you set some."
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @shuffle_group.command(name="role")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="The role verified members get (a @role, its name, or off)")
    async def shuffle_role(self, ctx: Context, *, role: str) -> None:
        """Set the role that !verifyshuffle gives, or turn it off (Manage Server)."""
        guild = guild_of(ctx)
        if role.strip().lower() in OFF_WORDS:
            await asyncio.to_thread(self.wagers.set_verified_role, guild.id, None)
            await ctx.send("Verified members get no role.", allowed_mentions=NO_MENTIONS)
            return
        try:
            chosen = await commands.RoleConverter().convert(ctx, role.strip())
        except commands.RoleNotFound:
            await ctx.send("I can't find that role here.", allowed_mentions=NO_MENTIONS)
            return
        if chosen.is_default() or chosen.managed:
            reply = "That role can't be given by hand; pick another."
            await ctx.send(reply, allowed_mentions=NO_MENTIONS)
            return
        await asyncio.to_thread(self.wagers.set_verified_role, guild.id, chosen.id)
        reply = f"Verified members get {chosen.mention}."
        if not chosen.is_assignable():
            reply += (
                " I can't give it yet: give me Manage Roles and move my role above it in "
                "Server Settings > Roles."
            )
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @shuffle_group.command(name="status")
    @commands.guild_only()
    @manage_server()
    async def shuffle_status(self, ctx: Context) -> None:
        """Show the wager ticket setup, the last poll and who waits to be verified."""
        guild = guild_of(ctx)
        status = await asyncio.to_thread(self.wagers.status, guild.id)
        await ctx.send(status_text(status, ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    async def _give_role(
        self,
        guild: discord.Guild,
        member: discord.Member,
        role_id: int | None,
        admin: discord.abc.User,
    ) -> str | None:
        """Give the verified role; a line for the reply when there is something to say."""
        if role_id is None:
            return None
        role = guild.get_role(role_id)
        if role is None:
            return "The verified role no longer exists; set another with !shuffle role."
        if role in member.roles:
            return None
        try:
            await member.add_roles(role, reason=f"Shuffle account verified by {admin}")
        except discord.HTTPException as exc:
            log.warning("guild %s: could not give the Shuffle role: %s", guild.id, exc)
            return (
                f"I couldn't give {role.mention}: give me Manage Roles and move my role above it."
            )
        return f"They now have {role.mention}."


# --- what the cog says ---------------------------------------------------------------------------


def link_requested(username: str, has_stream_link: bool, prefix: str) -> str:
    reply = (
        f"Thanks! An admin will check that **{inert(username)}** plays under the streamer's code "
        f"and confirm it with {prefix}verifyshuffle. Until then your wagers are counted but "
        "give no tickets"
    )
    if has_stream_link:
        return reply + "."
    return reply + f"; you also need your Kick or Twitch account linked ({prefix}link)."


def verified_reply(member: discord.Member, verified: Verified, role_note: str | None) -> str:
    name = inert(verified.link.username)
    lines = [f"{member.mention} is verified as **{name}** on Shuffle: their wagers earn tickets."]
    if verified.replaced:
        lines.append(f"(Replaces {inert(verified.replaced)}.)")
    if not verified.has_stream_link:
        lines.append(
            "They have no Kick or Twitch account linked yet: their tickets wait until they "
            "link one."
        )
    if role_note:
        lines.append(role_note)
    return "\n".join(lines)


def shuffle_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}shuffle url <link>|off, {prefix}shuffle codes <code,...>|off, "
        f"{prefix}shuffle role <@role>|off, {prefix}shuffle status\n"
        f"Viewers ask with {prefix}linkshuffle <name>; you confirm with "
        f"{prefix}verifyshuffle @member <name>."
    )


def url_saved(masked: str | None, prefix: str) -> str:
    if masked is None:
        return "Statistics link removed: wager polling is off."
    return (
        f"Saved the statistics link: {masked}. Check it with {prefix}shuffle status after a poll."
    )


def format_codes(codes: tuple[str, ...]) -> str:
    return ", ".join(f"`{code}`" for code in codes)


def status_text(status: WagerStatus, prefix: str) -> str:
    minutes = max(1, status.interval_seconds // 60)
    lines = [
        "**Shuffle wager tickets**",
        "Statistics link: " + (status.masked_url or f"not set ({prefix}shuffle url <link>)"),
        "Campaign codes: "
        + (format_codes(status.campaign_codes) or f"none ({prefix}shuffle codes <code,...>)"),
        f"Rate: {status.tickets_per_thousand} tickets per $1,000 wagered; polled every "
        f"{minutes} min",
        f"Last successful poll: {_when(status.last_success_at)}",
    ]
    # A problem since the last success, or found by it (an account it left out: same moment).
    if status.last_problem and (
        status.last_success_at is None
        or (status.last_problem_at and status.last_problem_at >= status.last_success_at)
    ):
        lines.append(
            f"Last problem: {inert(status.last_problem)} ({_when(status.last_problem_at)})"
        )
    if status.next_poll_at is not None:
        lines.append(f"Backing off: next try {_when(status.next_poll_at)}")
    if not status.has_open_period:
        lines.append("Period: none open, so no tickets are given")
    elif status.baseline_at is None:
        lines.append("This period's baseline: taken at its first successful poll")
    else:
        lines.append(f"This period's baseline: taken {_when(status.baseline_at)}")
    role = f"<@&{status.verified_role_id}>" if status.verified_role_id else "none"
    lines.append(f"Verified role: {role}")
    lines.append(
        f"Verified accounts: {status.linked_accounts}; "
        f"waiting for an admin: {status.pending_requests}"
    )
    lines.extend(
        f"- <@{request.discord_user_id}> asks for **{inert(request.username)}** "
        f"({_when(request.requested_at)})"
        for request in status.requests
    )
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def _when(moment: datetime | None) -> str:
    return "not yet" if moment is None else discord.utils.format_dt(utc(moment), "R")
