"""Temporary VIP commands (Manage Server): the reward, the settings, grants by hand, the list
and the log. Viewers get VIP by redeeming the reward on Twitch."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import (
    AnyWhole,
    Context,
    ManagersCog,
    RecordNumber,
    guild_of,
    typed_channel_refusal,
)
from core.discord_bot.render import NO_MENTIONS, inert
from core.discord_bot.vip import render
from core.discord_bot.vip.render import LIMITS_USAGE, RULE_USAGE, SETUP_USAGE
from core.events import Platform
from core.features.amounts import AmountNotUnderstood, parse_whole_amount
from core.features.guilds.service import GuildService
from core.features.typed_numbers import whole_in
from core.features.vip.limits import RewardLimits, limits_of
from core.features.vip.ports import TwitchBusy
from core.features.vip.rules import RuleAsked
from core.features.vip.service import VipRefused, VipService

# Hours as typed: ASCII digits, read as every other number is (int() takes full-width digits
# and "+5"); any whole number, so that the service's refusal names the range in words.
Hours = AnyWhole

T = TypeVar("T")
RewardChange = Literal["cost", "hours", "title", "pause", "resume", "delete"]
Setting = Literal["stacking", "cap", "max", "chat", "autoremove", "channel"]
_SWITCHES = {"on": True, "off": False}


async def _twitch(call: Awaitable[T]) -> T:
    try:
        return await call
    except TwitchBusy:
        raise VipRefused("Twitch did not answer; try again in a moment.") from None


def parse_setting(setting: str, value: str) -> dict[str, Any]:
    """A ``!vip set`` argument as the service's setting; raises VipRefused for a bad value."""
    value = value.strip().lower()
    if setting in ("stacking", "chat", "autoremove"):
        if value not in _SWITCHES:
            raise VipRefused(f"{setting} is on or off.")
        name = {"stacking": "is_stacking", "chat": "is_chat_notices"}.get(
            setting, "is_auto_removal"
        )
        return {name: _SWITCHES[value]}
    if setting == "channel":
        if value in ("off", "none"):
            return {"notice_channel_id": None}
        channel_id = whole_in(value.removeprefix("<#").removesuffix(">"), low=1)
        if channel_id is None:
            raise VipRefused("channel is a #channel or off.")
        return {"notice_channel_id": channel_id}
    if setting == "max" and value in ("off", "none"):
        return {"max_concurrent": None}
    if not (value.isascii() and value.isdecimal()) or len(value) > 9:
        raise VipRefused(f"{setting} is a whole number.")
    return {"max_hours" if setting == "cap" else "max_concurrent": int(value)}


_RULE_FLAGS = {
    "platform",
    "when",
    "hours",
    "reward-id",
    "title",
    "cost",
    "tier",
    "at-least",
}


def parse_rule(details: str, prefix: str) -> RuleAsked:
    """``!vip rule add`` options (as ``python -m core vip rule add`` takes them) as the rule
    asked; raises VipRefused, with the usage, for anything it cannot read."""
    usage = f"Usage: {prefix}vip rule add {RULE_USAGE}."
    try:
        words = shlex.split(details)
    except ValueError:
        raise VipRefused(f"A quote is not closed. {usage}") from None
    if len(words) % 2:
        raise VipRefused(usage)
    given = dict(zip(words[::2], words[1::2], strict=True))
    flags = {name.removeprefix("--").lower(): value for name, value in given.items()}
    unknown = sorted(name for name in flags if name not in _RULE_FLAGS)
    if unknown or any(not name.startswith("--") for name in given):
        raise VipRefused(usage)
    platform = {"twitch": Platform.TWITCH, "kick": Platform.KICK}.get(
        flags.get("platform", "").lower()
    )
    if platform is None or "when" not in flags or "hours" not in flags:
        raise VipRefused(usage)

    def number(name: str) -> int | None:
        value = flags.get(name)
        if value is None:
            return None
        try:
            return parse_whole_amount(value, max_digits=12)
        except AmountNotUnderstood as exc:
            raise VipRefused(
                f"--{name}: {exc}" if exc.ambiguous else f"--{name} is a whole number."
            ) from None

    return RuleAsked(
        platform=platform,
        when=flags["when"],
        hours=number("hours") or 0,
        reward_id=flags.get("reward-id"),
        title=flags.get("title"),
        cost=number("cost"),
        tier=number("tier"),
        at_least=number("at-least"),
    )


def parse_limit(value: str, what: str) -> int | None:
    """A ``!vip limits`` count: a whole number, or off (no limit); the service checks the
    bounds. Raises VipRefused for anything else."""
    value = value.strip().lower()
    if value in ("off", "none"):
        return None
    if not (value.isascii() and value.isdecimal()) or len(value) > 9:
        raise VipRefused(f"{what} is a whole number or off.")
    return int(value)


class VipCog(ManagersCog, name="Temporary VIP"):
    """Temporary Twitch VIPs from a channel-point reward, with expiry and an audit log."""

    def __init__(self, service: VipService, guilds: GuildService) -> None:
        self.service = service
        self.guilds = guilds

    async def _reply(self, ctx: Context, text: str) -> None:
        await ctx.send(text, allowed_mentions=NO_MENTIONS)

    @commands.hybrid_group(name="vip", invoke_without_command=True, case_insensitive=True)
    @app_commands.default_permissions(manage_guild=True)
    async def vip(self, ctx: Context) -> None:
        """Temporary Twitch VIPs (Manage Server)."""
        await self._reply(ctx, render.usage(ctx.clean_prefix))

    @vip.command(name="setup", usage=SETUP_USAGE)
    @app_commands.describe(details="<title> <cost> <hours>, e.g. VIP for a day 5000 24")
    async def vip_setup(self, ctx: Context, *, details: str) -> None:
        """Create (or adopt) the VIP reward: <title> <cost> <hours> (Manage Server)."""
        words = details.split()
        cost, hours = (whole_in(word) for word in words[-2:]) if len(words) >= 3 else (None, None)
        if cost is None or hours is None:
            raise VipRefused(f"Usage: {ctx.clean_prefix}vip setup {SETUP_USAGE}.")
        title = " ".join(words[:-2])
        guild = guild_of(ctx)
        result = await _twitch(self.service.setup(guild.id, ctx.author.id, title, cost, hours))
        await self._reply(ctx, render.setup_done(result, hours))

    @vip.command(name="reward")
    @app_commands.describe(what="What to change", value="The new cost, hours or title")
    async def vip_reward(self, ctx: Context, what: RewardChange, *, value: str = "") -> None:
        """Change the reward's cost, hours or title; pause, resume or delete it."""
        guild = guild_of(ctx)
        await self._reply(
            ctx, await _twitch(self.service.change_reward(guild.id, what, value or None))
        )

    @vip.command(name="limits", usage=LIMITS_USAGE)
    @app_commands.describe(
        per_stream="Most redemptions per stream, or off",
        per_viewer="Most redemptions per viewer per stream, or off",
        cooldown="Seconds between redemptions (up to 604800, 7 days), or off",
        prompt="What viewers read when redeeming (empty: keep it)",
    )
    async def vip_limits(
        self, ctx: Context, per_stream: str, per_viewer: str, cooldown: str, *, prompt: str = ""
    ) -> None:
        """The reward's limits per stream, per viewer and its cooldown, and its prompt."""
        guild = guild_of(ctx)
        kept = limits_of(await self.service.settings(guild.id)).prompt
        limits = RewardLimits(
            prompt.strip() or kept,
            parse_limit(per_stream, "Per stream"),
            parse_limit(per_viewer, "Per viewer"),
            parse_limit(cooldown, "The cooldown"),
        )
        await self._reply(ctx, inert(await _twitch(self.service.change_limits(guild.id, limits))))

    @vip.command(name="set")
    @app_commands.describe(setting="Which setting", value="on/off, a number, a #channel or off")
    async def vip_set(self, ctx: Context, setting: Setting, *, value: str) -> None:
        """Stacking, its cap in hours, the most VIPs at once, chat notices, automatic removal,
        the notice channel."""
        guild = guild_of(ctx)
        refusal = typed_channel_refusal(guild, value) if setting == "channel" else None
        if refusal is not None:
            await self._reply(ctx, refusal)
            return
        settings = await self.service.update_settings(guild.id, **parse_setting(setting, value))
        await self._reply(ctx, render.settings_text(settings))

    @vip.command(name="kick")
    @app_commands.describe(role="The temporary role, or off", title="The Kick reward's title")
    async def vip_kick(self, ctx: Context, role: str, *, title: str = "") -> None:
        """Kick: a reward (by title) gives a linked viewer a role for the VIP time; off to stop."""
        guild = guild_of(ctx)
        if role.strip().lower() == "off":
            summary = await self.service.set_kick_reward(guild.id, None, None)
        else:
            found = await commands.RoleConverter().convert(ctx, role)
            refusal = render.kick_role_refusal(found)
            if refusal is not None:
                raise VipRefused(refusal)
            if not title.strip():
                raise VipRefused(f"Usage: {ctx.clean_prefix}vip kick @role <reward title>.")
            summary = await self.service.set_kick_reward(guild.id, title, found.id)
        await self._reply(ctx, summary)

    @vip.command(name="settings")
    async def vip_settings(self, ctx: Context) -> None:
        """Show the VIP reward and settings."""
        settings = await self.service.settings(guild_of(ctx).id)
        await self._reply(ctx, render.settings_text(settings))

    # ignore_extra=False: "!vip grant carol 2 days" is refused, not 2 hours of VIP.
    @vip.command(name="grant", ignore_extra=False)
    @app_commands.describe(user="Twitch login", hours="How long")
    async def vip_grant(self, ctx: Context, user: str, hours: Hours) -> None:
        """Make a Twitch viewer VIP for some hours."""
        manual = self.service.manual
        grant = await _twitch(manual.grant(guild_of(ctx).id, ctx.author.id, user, hours))
        await self._reply(
            ctx, f"**{inert(grant.username)}** is a VIP until {render.when(grant.expires_at)}."
        )

    @vip.command(name="extend", ignore_extra=False)
    @app_commands.describe(user="The VIP's Twitch login or Kick name", hours="Hours to add")
    async def vip_extend(self, ctx: Context, user: str, hours: Hours) -> None:
        """Add hours to a temporary VIP."""
        grant = await self.service.manual.extend(guild_of(ctx).id, ctx.author.id, user, hours)
        await self._reply(
            ctx, f"**{inert(grant.username)}** is now a VIP until {render.when(grant.expires_at)}."
        )

    @vip.command(name="revoke")
    @app_commands.describe(user="The VIP's Twitch login or Kick name")
    async def vip_revoke(self, ctx: Context, user: str) -> None:
        """Remove a VIP now."""
        grant = await _twitch(self.service.manual.revoke(guild_of(ctx).id, ctx.author.id, user))
        await self._reply(ctx, f"**{inert(grant.username)}** is no longer a VIP.")

    @vip.command(name="list")
    async def vip_list(self, ctx: Context) -> None:
        """Who is VIP: since, until, and how (redemption, manual, outside)."""
        await self._reply(ctx, render.vip_list(await self.service.list_vips(guild_of(ctx).id)))

    @vip.command(name="rules")
    async def vip_rules(self, ctx: Context) -> None:
        """The rules that earn VIP: id, platform, what earns it, hours."""
        await self._reply(ctx, render.rules_text(await self.service.rules.list(guild_of(ctx).id)))

    @vip.group(name="rule", invoke_without_command=True, case_insensitive=True)
    async def vip_rule(self, ctx: Context) -> None:
        """Add or remove a rule that earns VIP (Manage Server)."""
        prefix = ctx.clean_prefix
        await self._reply(
            ctx,
            f"`{prefix}vip rule add {RULE_USAGE}`, `{prefix}vip rule remove <id>` or "
            f"`{prefix}vip rule remake <id>`.",
        )

    @vip_rule.command(name="add", usage=RULE_USAGE)
    @app_commands.describe(details="--platform twitch --when bits --at-least 500 --hours 24")
    async def vip_rule_add(self, ctx: Context, *, details: str) -> None:
        """Add a rule: a reward, a sub, a gift, a cheer or KICKs earns VIP for some hours."""
        asked = parse_rule(details, ctx.clean_prefix)
        rule = await _twitch(self.service.rules.add(guild_of(ctx).id, asked))
        await self._reply(
            ctx, f"Rule **{rule.id}** added: {inert(rule.describe())} gives {rule.hours} h of VIP."
        )

    @vip_rule.command(name="remove")
    @app_commands.describe(rule_id="The rule's id, as vip rules lists it")
    async def vip_rule_remove(self, ctx: Context, rule_id: RecordNumber) -> None:
        """Remove a rule (a Twitch reward rule's reward too); the VIPs it granted still
        expire."""
        rule = await self.service.rules.remove(guild_of(ctx).id, rule_id)
        is_on_twitch = rule.is_twitch_reward and rule.reward_gone_at is None
        reward = "; its reward will be deleted on Twitch" if is_on_twitch else ""
        await self._reply(ctx, f"Rule **{rule.id}** removed ({inert(rule.describe())}){reward}.")

    @vip_rule.command(name="remake")
    @app_commands.describe(rule_id="The rule's id, as vip rules lists it")
    async def vip_rule_remake(self, ctx: Context, rule_id: RecordNumber) -> None:
        """Make a Twitch reward rule's reward again, after the streamer deleted it on
        twitch.tv (same title and cost)."""
        rule = await _twitch(self.service.rules.make_reward_again(guild_of(ctx).id, rule_id))
        await self._reply(
            ctx, f"Rule **{rule.id}**'s reward was made again on Twitch: {inert(rule.describe())}."
        )

    @vip.command(name="log")
    @app_commands.describe(user="Only this viewer (a Twitch login or Kick name)")
    async def vip_log(self, ctx: Context, user: str | None = None) -> None:
        """The latest VIP grants, extensions, removals, refusals and refunds."""
        entries = await self.service.log(guild_of(ctx).id, user)
        await self._reply(ctx, render.audit_log(entries))
