"""What the bot says about watchtime roles: pure functions from plain values to text.

Roles appear as mentions (``<@&id>``), which Discord shows as the role's name; every message is
sent with NO_MENTIONS, so nobody is pinged. Role and server names in DMs pass through ``inert``.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.discord_bot.render import MESSAGE_LIMIT, in_messages, inert, truncate
from core.features.roles.repository import RoleSettings, RoleTier
from core.features.roles.sync import SyncResult
from core.features.watchtime.durations import format_duration

OK = "\N{WHITE HEAVY CHECK MARK}"
WARN = "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"
MEMBERS_SHOWN = 40
NO_MANAGE_ROLES = (
    f"{WARN} I lack the Manage Roles permission, so I can't give watchtime roles yet: give my "
    "role Manage Roles."
)


def role_mention(role_id: int) -> str:
    return f"<@&{role_id}>"


def minutes_text(minutes: int) -> str:
    return format_duration(minutes * 60)


def roles_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}roles list | add <@role> <minutes> | update <@role> <minutes> | "
        f"remove <@role> | enable [@role] | disable [@role] | mode all|highest | dm on|off | "
        "members <@role> | sync"
    )


def settings_line(settings: RoleSettings) -> str:
    state = "on" if settings.enabled else "**off**"
    mode = "every role reached" if settings.mode == "all" else "only the highest role reached"
    dms = "on" if settings.dm_on_new_role else "off"
    return f"Role sync is {state}; members get {mode}; DMs on a new role: {dms}."


def tier_list(
    tiers: Sequence[RoleTier],
    settings: RoleSettings,
    *,
    deleted: frozenset[int],
    out_of_reach: frozenset[int],
    prefix: str,
    can_manage_roles: bool = True,
) -> list[str]:
    """The list in as many messages as it needs: 25 roles, each above the bot's, are more than
    one message holds, and each of them and the settings after them must be read."""
    if not tiers:
        return [
            "No watchtime roles yet. A server manager adds one with "
            f"{prefix}roles add <@role> <minutes>."
        ]
    lines = ["**Watchtime roles**"]
    for tier in tiers:
        if tier.role_id in deleted:
            name = f"a deleted role (id {tier.role_id})"
            note = f" {WARN} remove it with {prefix}roles remove {tier.role_id}"
        else:
            name = role_mention(tier.role_id)
            note = (
                f" {WARN} above my highest role, so I can't give it"
                if (tier.role_id in out_of_reach)
                else ""
            )
        off = "" if tier.enabled else " (off)"
        lines.append(f"- {name}: {minutes_text(tier.minutes)}{off}{note}")
    if not can_manage_roles:
        lines.append(NO_MANAGE_ROLES)
    lines.append(settings_line(settings))
    return in_messages("\n".join(lines))


def _when_given(tier: RoleTier, roles_on: bool, prefix: str) -> str:
    """When members gain or lose ``tier``'s role: at the next sync, or once it is on again."""
    if not roles_on:
        return f"once watchtime roles are on again ({prefix}roles enable)"
    if not tier.enabled:
        return f"once this role is on again ({prefix}roles enable {role_mention(tier.role_id)})"
    return f"at the next role sync (or now, with {prefix}roles sync)"


def tier_added(
    tier: RoleTier,
    holders: int,
    prefix: str,
    *,
    can_manage_roles: bool = True,
    roles_on: bool = True,
) -> str:
    lines = [
        f"{OK} {role_mention(tier.role_id)} is now a watchtime role: linked members with "
        f"{minutes_text(tier.minutes)} of watchtime here get it "
        f"{_when_given(tier, roles_on, prefix)}."
    ]
    if holders:
        lines.append(
            f"{WARN} {holders} member(s) hold it already; those who don't qualify lose it."
        )
    if not can_manage_roles:
        lines.append(NO_MANAGE_ROLES)
    return "\n".join(lines)


def tier_updated(tier: RoleTier, prefix: str, *, roles_on: bool = True) -> str:
    return (
        f"{OK} {role_mention(tier.role_id)} now needs {minutes_text(tier.minutes)} of watchtime. "
        f"Members gain or lose it {_when_given(tier, roles_on, prefix)}."
    )


def tier_removed(role_id: int) -> str:
    return (
        f"{OK} {role_mention(role_id)} is no longer a watchtime role. Members who hold it keep "
        "it; I won't give it or take it away any more."
    )


EVERYONE_REFUSED = "@everyone can't be a watchtime role; pick or create a role for it."
MANAGED_REFUSED = (
    "That role belongs to a bot or an integration (like server boosts), so nobody can hand "
    "it out; pick another role."
)


def above_me_refused(role_name: str) -> str:
    return (
        f"I can't give {inert(role_name)}: it is at or above my highest role. In Server Settings "
        "> Roles, drag my role above it, then try again."
    )


def enabled_changed(settings: RoleSettings) -> str:
    if settings.enabled:
        return f"{OK} Watchtime roles are **on**: members gain and lose them at each role sync."
    return (
        f"{OK} Watchtime roles are **off**: I leave everyone's roles alone until you turn them "
        "back on."
    )


def tier_switched(tier: RoleTier) -> str:
    if tier.enabled:
        return (
            f"{OK} {role_mention(tier.role_id)} is on again: members gain and lose it at each "
            "role sync."
        )
    return (
        f"{OK} {role_mention(tier.role_id)} is off: I won't give it or take it away until you "
        "turn it back on. The other watchtime roles carry on."
    )


def mode_changed(settings: RoleSettings) -> str:
    if settings.mode == "highest":
        return (
            f"{OK} Members now hold only the highest watchtime role they reached; the lower "
            "ones go at the next role sync."
        )
    return f"{OK} Members now hold every watchtime role they reached."


def dm_changed(settings: RoleSettings) -> str:
    if settings.dm_on_new_role:
        return f"{OK} I'll DM members when they reach a new watchtime role (once per role)."
    return f"{OK} I won't DM members about new watchtime roles."


def role_members(role_id: int, member_ids: Sequence[int], tier: RoleTier | None) -> str:
    needs = f" (needs {minutes_text(tier.minutes)})" if tier else " (not a watchtime role)"
    if not member_ids:
        return f"Nobody holds {role_mention(role_id)}{needs}."
    shown = " ".join(f"<@{member_id}>" for member_id in member_ids[:MEMBERS_SHOWN])
    more = len(member_ids) - MEMBERS_SHOWN
    extra = f" and {more} more" if more > 0 else ""
    header = f"{len(member_ids)} member(s) hold {role_mention(role_id)}{needs}:"
    return truncate(f"{header}\n{shown}{extra}", MESSAGE_LIMIT)


def sync_running(prefix: str) -> str:
    return (
        f"{WARN} A role sync of this server is under way already: it gives and takes every "
        f"watchtime role due, one member a second. See how it went with {prefix}health once "
        "it ends."
    )


def sync_result(result: SyncResult, prefix: str) -> str:
    if result.skipped is not None:
        return f"{WARN} Role sync skipped: {result.skipped}."
    lines = [
        f"{OK} Role sync checked {result.members_checked} member(s): {result.members_edited} "
        f"updated, {result.roles_added} role(s) given, {result.roles_removed} taken away."
    ]
    lines += problem_lines(result, prefix)
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def problem_lines(result: SyncResult, prefix: str) -> list[str]:
    lines = []
    if not result.can_manage_roles:
        lines.append(
            f"{WARN} I lack the Manage Roles permission, so I changed nobody's roles: "
            "give my role Manage Roles."
        )
    elif result.blocked_role_ids:
        roles = ", ".join(role_mention(role_id) for role_id in sorted(result.blocked_role_ids))
        lines.append(
            f"{WARN} Not attempted, above my highest role: {roles}. In Server Settings > Roles, "
            "drag my role above them."
        )
    if result.missing_role_ids:
        ids = ", ".join(str(role_id) for role_id in sorted(result.missing_role_ids))
        lines.append(f"{WARN} Deleted roles still set up: {ids}: {prefix}roles remove <id>.")
    if result.failed_edits:
        lines.append(f"{WARN} {result.failed_edits} edit(s) failed; see the bot's log.")
    if result.stopped is not None:
        lines.append(
            f"{WARN} Stopped early: {result.stopped}. {result.edits_left} member(s) wait for the "
            f"next sync (or {prefix}roles sync later)."
        )
    return lines


def role_reached_dm(role_names: Sequence[str], guild_name: str) -> str:
    names = ", ".join(f"**{inert(name)}**" for name in role_names)
    return f"You reached {names} in {inert(guild_name)} for your watchtime. Thanks for watching!"
