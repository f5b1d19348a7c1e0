"""A guild's account linking: the role linked members get (``!linkrole``), the channel link
attempts are logged in (``!linklogs``), and the link log itself (recent links, unlinks and
refusals). Typed role and channel ids are checked against the guild's real ones."""

from __future__ import annotations

from flask import flash, request

from core.events import Platform
from core.features.linking.service import (
    ALREADY_LINKED,
    DECLINED,
    KICK_ERROR,
    LINK_EXPIRED,
    TWITCH_ERROR,
)
from core.features.refusals import Refused
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import (
    FormRefused,
    back_to,
    channel_choices,
    checked_channel,
    config,
    installed,
    members,
    page,
    role_choices,
    role_refusal,
    snowflake,
)

AREA = guild_blueprint("linking", __name__, "Linking")
ORDER = 30
TEMPLATE = "dashboard/guild_linking.html"
LOG_SIZE = 50

# Why a link attempt failed, as the link log says it ({name}: the entry's platform).
REASON_WORDS = {
    DECLINED: "they declined on {name}",
    LINK_EXPIRED: "the link had expired",
    ALREADY_LINKED: "that {name} account is linked to another member",
    KICK_ERROR: "{name} did not finish the sign-in",
    TWITCH_ERROR: "{name} did not finish the sign-in",
}


def platform_words(platform: str) -> str:
    """``kick`` -> ``Kick``: the platform as the page names it."""
    try:
        return Platform(platform).name.title()
    except ValueError:
        return platform


def reason_words(reason: str | None, platform: str) -> str:
    """A link log entry's reason in words; one this version does not know, as it was stored."""
    if not reason:
        return ""
    return REASON_WORDS.get(reason, reason).format(name=platform_words(platform))


def _show(
    guild_id: int, *, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None
):  # type: ignore[no-untyped-def]
    linking = installed(config().linking)
    settings = linking.settings(guild_id)
    values = {
        "linked_role": str(settings.linked_role_id or ""),
        "log_channel": str(settings.log_channel_id or ""),
    }
    values.update(typed or {})
    history = linking.recent_history(guild_id, LOG_SIZE)
    people = [entry.discord_user_id for entry in history]
    people += [entry.actor_id for entry in history if entry.actor_id]
    return page(
        TEMPLATE,
        guild_id,
        errors=errors,
        values=values,
        history=history,
        reason_words=reason_words,
        platform_words=platform_words,
        members=members(guild_id, people),
        roles=role_choices(guild_id, settings.linked_role_id),
        channels=channel_choices(guild_id, settings.log_channel_id),
    )


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


def _role(guild_id: int, text: str) -> int | None:
    if text.strip() == "":
        return None
    role_id = snowflake(text, "The linked role")
    problem = role_refusal(guild_id, role_id)
    if problem is not None:
        raise FormRefused(problem)
    return role_id


def _channel(guild_id: int, text: str) -> int | None:
    return checked_channel(guild_id, text, "The log channel")


@AREA.bp.post("/settings")
def settings(guild_id: int):  # type: ignore[no-untyped-def]
    linking = installed(config().linking)
    form = request.form
    current = linking.settings(guild_id)
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    saved: list[str] = []
    for name, read, now, change in (
        ("linked_role", _role, current.linked_role_id, linking.set_linked_role),
        ("log_channel", _channel, current.log_channel_id, linking.set_log_channel),
    ):
        text = form.get(name)
        if text is None or text.strip() == str(now or ""):
            continue
        try:
            change(guild_id, read(guild_id, text))
            saved.append(name.replace("_", " "))
        except Refused as refused:
            errors[name] = str(refused)
            typed[name] = text[:30]
    if errors:
        if saved:  # the page answers 400 for the other: it says what did change
            flash(f"Saved the {' and the '.join(saved)}.")
        return _show(guild_id, errors=errors, typed=typed)
    return back_to(guild_id, "Saved.")
