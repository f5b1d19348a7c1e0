"""What the bot says about temporary VIPs, from plain values. Viewer names come from Twitch and
are shown literally."""

from __future__ import annotations

from datetime import datetime

import discord

from core.discord_bot.linking.outbound import role_problem
from core.discord_bot.render import MESSAGE_LIMIT, inert, truncate, whole_lines
from core.events import utc
from core.features.vip.limits import describe_limits, limits_of
from core.features.vip.repository import AuditEntry, Grant, VipSettings
from core.features.vip.rules_repository import VipRule
from core.features.vip.service import SetupResult
from core.features.vip.texts import earned_by, how_granted, removal_note

SETUP_USAGE = "<title> <cost> <hours>"  # one usage line: !help, the refusal and the overview
LIMITS_USAGE = "<per stream|off> <per viewer|off> <cooldown seconds|off> [prompt]"


def kick_role_refusal(role: discord.Role) -> str | None:
    """Why ``role`` cannot be the Kick reward's role, or None when the bot can give it. Refused
    as ``!linkrole`` refuses: a Kick redemption cannot be refunded, so a role the bot could never
    give would take viewers' points for nothing."""
    if role.is_default() or role.managed:
        return "That role can't be given to members; pick another one."
    problem = role_problem(role)
    if problem is not None:
        return f"I can't give {inert(role.name)}: {problem}. Pick a role I can give."
    return None


def usage(prefix: str) -> str:
    return (
        f"Temporary VIP: `{prefix}vip setup {SETUP_USAGE}`, "
        f"`{prefix}vip reward cost|hours|title|pause|resume|delete [value]`, "
        f"`{prefix}vip limits {LIMITS_USAGE}`, "
        f"`{prefix}vip set stacking|cap|max|chat|autoremove|channel <value>`, "
        f"`{prefix}vip kick @role <Kick reward title>|off`, "
        f"`{prefix}vip settings`, `{prefix}vip grant <user> <hours>`, "
        f"`{prefix}vip extend <user> <hours>`, `{prefix}vip revoke <user>`, "
        f"`{prefix}vip list`, `{prefix}vip log [user]`, `{prefix}vip rules`, "
        f"`{prefix}vip rule add {RULE_USAGE}`, `{prefix}vip rule remove <id>`."
    )


RULE_USAGE = (
    "--platform twitch|kick --when reward|sub|gift|bits|kicks [--reward-id ID | --title T "
    "--cost N] [--tier 1|2|3] [--at-least N] --hours N"
)


def rules_text(rules: list[VipRule]) -> str:
    """One rule a line: its id, platform, what earns it, hours; a broken rule's problem
    under it."""
    if not rules:
        return "No VIP rules yet: add one with `vip rule add`."
    lines = [
        f"**{rule.id}** · {rule.platform.name.title()} · {inert(rule.describe())} · {rule.hours} h"
        + (f"\n  Broken: {rule.problem} (`vip rule remake {rule.id}`)" if rule.problem else "")
        for rule in rules
    ]
    return truncate("\n".join(["VIP rules:", *lines]), MESSAGE_LIMIT)


def setup_done(result: SetupResult, hours: int) -> str:
    verb = "adopted" if result.is_adopted else "created"
    text = (
        f"Reward **{inert(result.reward.title)}** {verb}: {result.reward.cost:,} points for "
        f"{hours} hour(s) of VIP."
    )
    if result.outside_vips:
        text += f" {result.outside_vips} VIP(s) granted outside StreamKeeper are tracked."
    return text


def settings_text(settings: VipSettings) -> str:
    reward = (
        f"**{inert(settings.reward_title or '')}**, {settings.reward_cost or 0:,} points"
        if settings.reward_id
        else "none (use `!vip setup`)"
    )
    channel = f"<#{settings.notice_channel_id}>" if settings.notice_channel_id else "none"
    kick = (
        f"**{inert(settings.kick_reward_title)}** gives <@&{settings.kick_role_id}>"
        if settings.kick_reward_title and settings.kick_role_id
        else "none"
    )
    limit = settings.max_concurrent if settings.max_concurrent is not None else "no limit"
    lines = [
        f"Reward: {reward}",
        f"Duration: {settings.duration_hours} hour(s)",
        f"Limits: {describe_limits(limits_of(settings))}" if settings.reward_id else "",
        f"Stacking: {'on' if settings.is_stacking else 'off'} (up to {settings.max_hours} hour(s))",
        f"Most temporary VIPs at once: {limit}",
        f"Chat notices: {'on' if settings.is_chat_notices else 'off'}",
        f"Automatic removal: {'on' if settings.is_auto_removal else 'off'}",
        f"Notice channel: {channel}",
        f"Kick reward: {kick}",
    ]
    return "\n".join(line for line in lines if line)


def when(moment: datetime | None) -> str:
    """A Discord timestamp: each reader sees it in their own time zone."""
    return "never" if moment is None else discord.utils.format_dt(utc(moment), "f")


def grant_line(grant: Grant) -> str:
    until = "no end" if grant.expires_at is None else when(grant.expires_at)
    line = (
        f"**{inert(grant.username)}**: since {when(grant.granted_at)}, until {until}, "
        f"{how_granted(grant.source)}"
    )
    note = removal_note(grant)
    return line if note is None else f"{line}; {inert(note)}"


def vip_list(grants: list[Grant]) -> str:
    if not grants:
        return "No VIPs are tracked."
    return whole_lines(
        [grant_line(g) for g in grants],
        MESSAGE_LIMIT,
        lambda n: f"...and {n} more; the dashboard's VIP page lists them all.",
    )


def audit_line(entry: AuditEntry) -> str:
    actor = {"viewer": earned_by(entry), "discord": f"<@{entry.actor_id}>", "system": "system"}
    parts = [f"{when(entry.at)}: {entry.action} **{inert(entry.username)}**"]
    parts.append(f"by {actor.get(entry.actor_kind, entry.actor_kind)}")
    if entry.new_expires_at is not None:
        parts.append(f"until {when(entry.new_expires_at)}")
    if entry.reason:
        parts.append(f"({inert(entry.reason)})")
    return " ".join(parts)


def audit_log(entries: list[AuditEntry]) -> str:
    if not entries:
        return "Nothing in the VIP log."
    return whole_lines(
        [audit_line(e) for e in entries],
        MESSAGE_LIMIT,
        lambda n: f"...and {n} older; the dashboard's VIP log has them all.",
    )
