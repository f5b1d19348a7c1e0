"""Slot calls: the settings of ``!slotcalls``, the open queue, picking one (the same pick as
``!pickslot``) and the blacklist of ``!callblacklist``."""

from __future__ import annotations

from flask import g, request

from core.features.refusals import Refused
from core.features.slot_calls.blacklist import blacklist_reason, calls_closed
from core.features.slot_calls.names import blacklist_name
from core.features.slot_calls.service import MAX_COOLDOWN_SECONDS, MAX_OPEN_LIMIT, InvalidSetting
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import (
    channel_choices,
    checked_channel,
    config,
    count_or_none,
    done,
    installed,
    page,
)

AREA = guild_blueprint("slot-calls", __name__, "Slot calls")
ORDER = 50
QUEUE_SHOWN = 100  # the oldest open calls listed on the page


def _show(guild_id: int, errors: dict[str, str] | None = None, picked=None):  # type: ignore[no-untyped-def]
    calls = installed(config().slot_calls)
    status = calls.status(guild_id)
    return page(
        "dashboard/slot_calls.html",
        guild_id,
        errors=errors,
        status=status,
        queue=calls.open_calls(guild_id, QUEUE_SHOWN),
        blacklist=calls.blacklist.entries(guild_id),
        picked=picked,
        form=request.form if request.method == "POST" else {},
        channels=channel_choices(guild_id, status.settings.channel_id),
    )


def _cooldown_refusal(seconds: int | None) -> str | None:
    if seconds is not None and not 0 <= seconds <= MAX_COOLDOWN_SECONDS:
        return f"The cooldown is 0 to {MAX_COOLDOWN_SECONDS} seconds."
    return None


def _limit_refusal(limit: int | None) -> str | None:
    if limit is not None and not 1 <= limit <= MAX_OPEN_LIMIT:
        return f"The limit is 1 to {MAX_OPEN_LIMIT} open calls, or off."
    return None


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/settings")
def settings(guild_id: int):  # type: ignore[no-untyped-def]
    calls = installed(config().slot_calls)
    form = request.form
    errors: dict[str, str] = {}
    cooldown = count_or_none(form.get("cooldown"), digits=7)
    limit_text = (form.get("limit") or "").strip().lower()
    limit = None if limit_text in ("", "off", "0") else count_or_none(limit_text, digits=7)
    if cooldown is None:
        errors["cooldown"] = "The cooldown is a whole number of seconds."
    if limit_text not in ("", "off", "0") and limit is None:
        errors["limit"] = "The limit is a number of open calls, or empty for no limit."
    if not errors:
        # Every refusal (the channel's below too) is known before anything is saved, so a
        # refused value leaves every setting as it was (the setters check again).
        for field, check in (
            ("cooldown", _cooldown_refusal(cooldown)),
            ("limit", _limit_refusal(limit)),
        ):
            if check:
                errors[field] = check
    kept = calls.status(guild_id).settings.channel_id
    channel = kept
    posted = (form.get("channel") or "").strip()
    # A channel left as it was is not asked again (the bot may not see it now).
    if not errors and "channel" in form and posted != str(kept or ""):
        try:
            channel = checked_channel(guild_id, posted, "The slot call channel")
        except Refused as refused:
            errors["channel"] = str(refused)
    if errors:
        return _show(guild_id, errors)
    calls.set_cooldown(guild_id, cooldown)
    calls.set_max_open(guild_id, limit)
    if channel != kept:
        calls.set_channel(guild_id, channel)
    calls.set_enabled(guild_id, form.get("enabled") == "on")
    calls.set_require_link(guild_id, form.get("require_link") == "on")
    calls.set_answer_sr(guild_id, form.get("answer_sr") == "on")
    return done(AREA.endpoint, guild_id, "Slot call settings saved.")


@AREA.bp.post("/pick")
def pick(guild_id: int):  # type: ignore[no-untyped-def]
    chosen = installed(config().slot_calls).pick(guild_id, g.user.id)
    if chosen is None:
        return done(AREA.endpoint, guild_id, "There is no open slot call to pick.")
    return _show(guild_id, picked=chosen)


@AREA.bp.post("/blacklist/add")
def blacklist_add(guild_id: int):  # type: ignore[no-untyped-def]
    name = request.form.get("name", "")
    try:
        reason = blacklist_reason(request.form.get("reason"))
    except InvalidSetting as refused:
        return _show(guild_id, {"reason": str(refused)})
    try:
        added = installed(config().slot_calls).blacklist.add(
            guild_id, name, added_by=g.user.id, reason=reason
        )
    except InvalidSetting as refused:
        return _show(guild_id, {"name": str(refused)})
    shown = blacklist_name(name)
    message = f"{shown} is blacklisted." if added.is_new else f"{shown} was already blacklisted."
    message += calls_closed(added.closed_calls)
    return done(AREA.endpoint, guild_id, message)


@AREA.bp.post("/blacklist/remove")
def blacklist_remove(guild_id: int):  # type: ignore[no-untyped-def]
    name = request.form.get("name", "")
    try:
        removed = installed(config().slot_calls).blacklist.remove(guild_id, name)
    except InvalidSetting as refused:
        return done(AREA.endpoint, guild_id, str(refused))
    shown = blacklist_name(name)
    message = f"{shown} may call slots again." if removed else f"{shown} was not blacklisted."
    return done(AREA.endpoint, guild_id, message)
