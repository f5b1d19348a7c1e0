"""A guild's watchtime roles: the tiers (a role earned after so many hours watched), added,
changed, turned on or off and removed as ``!roles add``, ``update``, ``enable|disable <role>``
and ``remove`` do, and the settings of ``!roles mode``, ``!roles enable|disable`` and ``!roles dm``.

A typed role id is checked against the guild's real roles (as the bot sees them) before the
service is asked; when they cannot be seen, the tier is refused rather than trusted.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask import request

from core.features.refusals import Refused
from core.features.roles.service import MAX_MINUTES
from core.features.watchtime.durations import format_duration
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import (
    FormRefused,
    back_to,
    config,
    installed,
    page,
    role_choices,
    role_colours,
    role_names,
    role_refusal,
    snowflake,
)

AREA = guild_blueprint("roles", __name__, "Roles")
ORDER = 20
TEMPLATE = "dashboard/guild_roles.html"


def hours_text(minutes: int) -> str:
    """``10``, ``1.5``, ``0.75``: the hours as the form takes them; a tier ``!roles add`` set in
    minutes that are no such number of hours (100: 1.666...) as ``1 h 40 min``."""
    if minutes % 3:  # minutes / 60 has a short decimal only when 3 divides the minutes
        return format_duration(minutes * 60)
    hours = Decimal(minutes) / 60
    return f"{hours.normalize():f}" if hours % 1 else f"{int(hours):,}"


# Plain ASCII hours with up to four decimals (a comma for the point too): what Decimal reads
# besides (1e100, other scripts' digits, NaN) is no number of hours anyone types.
_HOURS = re.compile(r"[0-9]{1,9}(?:\.[0-9]{0,4})?|\.[0-9]{1,4}")
# Thousands grouped with commas, as this page shows a tier (``1,000``) and every other number
# field reads them: not a decimal comma, which ``1,5`` and ``0,250`` still are.
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?")


def minutes_of(text: str | None) -> int:
    """Hours as typed (``10``, ``1.5``, ``0,25``, ``1,000``) -> whole minutes."""
    raw = (text or "").strip()
    raw = raw.replace(",", "") if _GROUPED.fullmatch(raw) else raw.replace(",", ".")
    minutes = Decimal(raw) * 60 if _HOURS.fullmatch(raw) else Decimal(-1)
    if minutes < 1 or minutes % 1 or minutes > MAX_MINUTES:
        raise FormRefused(
            "Hours take a number like 10 or 1.5 (at least one minute, in whole minutes)."
        )
    return int(minutes)


def _show(
    guild_id: int, *, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None
):  # type: ignore[no-untyped-def]
    roles = installed(config().roles)
    known = config().guild_roles(guild_id)
    tiers = roles.tiers(guild_id)
    return page(
        TEMPLATE,
        guild_id,
        errors=errors,
        tiers=[(tier, hours_text(tier.minutes)) for tier in tiers],
        existing=None if known is None else known.existing_role_ids,
        reachable=None if known is None else known.assignable_role_ids,
        can_manage_roles=known is None or known.can_manage_roles,
        settings=roles.settings(guild_id),
        typed=typed or {},
        role_names=role_names(guild_id),
        role_colours=role_colours(guild_id),
        choices=role_choices(guild_id),
    )


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/add")
def add(guild_id: int):  # type: ignore[no-untyped-def]
    roles = installed(config().roles)
    form = request.form
    field = "role_id"
    try:
        role_id = snowflake(form.get("role_id"), "Role")
        problem = role_refusal(guild_id, role_id)
        if problem is not None:
            raise FormRefused(problem)
        field = "hours"
        minutes = minutes_of(form.get("hours"))
        field = "role_id"
        # A tier's role picked again changes its hours: one form adds and changes.
        before = next((t for t in roles.tiers(guild_id) if t.role_id == role_id), None)
        if before is None:
            tier = roles.add_tier(guild_id, role_id, minutes)
        else:
            tier = roles.update_tier(guild_id, role_id, minutes)
    except Refused as refused:
        typed = {name: (form.get(name) or "")[:30] for name in ("role_id", "hours")}
        return _show(guild_id, errors={field: str(refused)}, typed=typed)
    role, hours = _role_called(guild_id, tier.role_id), hours_text(tier.minutes)
    note = f"{role} is now earned after {hours} hours watched"
    if before is not None:
        note += f" (it was {hours_text(before.minutes)})"
    return back_to(guild_id, note + ".", "tiers")


def _role_called(guild_id: int, role_id: int) -> str:
    name = role_names(guild_id).get(role_id)
    return f"@{name}" if name else f"Role {role_id}"


@AREA.bp.post("/remove")
def remove(guild_id: int):  # type: ignore[no-untyped-def]
    roles = installed(config().roles)
    try:
        # Not checked against the guild's roles: a deleted role's tier must be removable.
        role_id = snowflake(request.form.get("role_id"), "Role")
        roles.remove_tier(guild_id, role_id)
    except Refused as refused:
        return _show(guild_id, errors={"tiers": str(refused)})
    note = f"{_role_called(guild_id, role_id)} is no longer a watchtime role; members keep it."
    return back_to(guild_id, note, "tiers")


@AREA.bp.post("/switch")
def switch(guild_id: int):  # type: ignore[no-untyped-def]
    """Turn one tier on or off: an off tier's role is neither given nor taken by role sync."""
    roles = installed(config().roles)
    wanted = request.form.get("enabled")
    try:
        # Not checked against the guild's roles, as for remove: a deleted role's tier too.
        role_id = snowflake(request.form.get("role_id"), "Role")
        if wanted not in ("on", "off"):
            raise FormRefused("Choose on or off.")
        roles.set_tier_enabled(guild_id, role_id, wanted == "on")
    except Refused as refused:
        return _show(guild_id, errors={"tiers": str(refused)})
    role = _role_called(guild_id, role_id)
    if wanted == "on":
        note = f"{role} is given again to members who reach it."
    else:
        note = f"{role} is off: role sync neither gives nor takes it; members keep it."
    return back_to(guild_id, note, "tiers")


@AREA.bp.post("/settings")
def settings(guild_id: int):  # type: ignore[no-untyped-def]
    roles = installed(config().roles)
    form = request.form
    current = roles.settings(guild_id)
    errors: dict[str, str] = {}
    mode = form.get("mode")
    if mode is not None and mode != current.mode:
        try:
            roles.set_mode(guild_id, mode)
        except Refused as refused:
            errors["mode"] = str(refused)
    for name, change, now in (
        ("enabled", roles.set_enabled, current.enabled),
        ("dm", roles.set_dm, current.dm_on_new_role),
    ):
        value = form.get(name)
        if value is None or value == ("on" if now else "off"):
            continue
        if value not in ("on", "off"):
            errors[name] = "Choose on or off."
            continue
        change(guild_id, value == "on")
    if errors:
        return _show(guild_id, errors=errors)
    return back_to(guild_id, "Saved.", "settings")
