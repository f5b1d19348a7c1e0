"""The guild list and everything under ``/dashboard/<guild_id>/``.

Every request under a guild re-checks that the logged-in user may manage it (owner,
Administrator or Manage Server, as Discord says; cached a few minutes per user and guild in this
process) and that the bot serves it. Anything else gets the same 403 page, whether or not the
guild exists. Later areas (settings pages) add their routes to this blueprint or to one of their
own with :func:`require_guild` as their ``before_request``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, g, redirect, render_template, request, url_for

from core.web.dashboard import error_page
from core.web.dashboard.discord_client import DiscordUnavailable
from core.web.dashboard.state import SessionUser, current_user, dashboard

bp = Blueprint("guilds", __name__, url_prefix="/dashboard")
NOT_YOURS = (
    "You cannot manage this server here: it does not exist, the bot is not in it, or you lack "
    "Manage Server there."
)


def _manageable(user: SessionUser, asked: int | None = None) -> dict[int, str]:
    """Guilds the user may manage (id -> name), from Discord; fills the permission cache."""
    dash = dashboard()
    if dash.discord is None:
        raise DiscordUnavailable("Discord login is not set up")
    guilds = {g.id: g.name for g in dash.discord.guilds(user.token) if g.can_manage}
    dash.permissions.put_all(user.id, set(guilds), asked)
    return guilds


def guild_name(guild_id: int) -> str:
    """The name the bot stored for a guild, or its id."""
    return dashboard().config.guild_name(guild_id) or f"Server {guild_id}"


def may_manage(user: SessionUser, guild_id: int) -> bool:
    dash = dashboard()
    if guild_id not in set(dash.config.bot_guild_ids()):
        return False
    cached = dash.permissions.get(user.id, guild_id)
    if cached is None:
        cached = guild_id in _manageable(user, guild_id)
    return cached


@bp.before_request
def require_login():  # type: ignore[no-untyped-def]
    user = current_user()
    if user is None:
        return redirect(url_for("public.landing", login="needed"))
    g.user = user
    if request.method == "POST" and not dashboard().write_limit.allow(str(user.id)):
        return error_page(429, "Slow down", "Too many changes in a minute. Wait a moment.")
    guild_id = (request.view_args or {}).get("guild_id")
    if guild_id is not None:
        try:
            allowed = may_manage(user, guild_id)
        except DiscordUnavailable:
            return error_page(502, "Discord did not answer", "Discord did not answer. Try again.")
        if not allowed:
            return error_page(403, "Not available", NOT_YOURS)
    return None


@bp.get("/")
def guild_list():  # type: ignore[no-untyped-def]
    try:
        guilds = _manageable(g.user)
    except DiscordUnavailable:
        return error_page(502, "Discord did not answer", "Discord did not answer. Try again.")
    present = set(dashboard().config.bot_guild_ids())
    shown = sorted(
        ((gid, name) for gid, name in guilds.items() if gid in present),
        key=lambda item: item[1].casefold(),
    )
    return render_template("dashboard/guilds.html", user=g.user, guilds=shown)


_DISCORD_TIME = re.compile(r"<t:(\d{1,12}):[tTdDfFR]>")


def plain_text(detail: str) -> str:
    """A health line without Discord markup: timestamps become UTC times, backticks go."""
    detail = _DISCORD_TIME.sub(
        lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC"),
        detail,
    )
    return detail.replace("`", "").replace("**", "")


@bp.get("/<id:guild_id>/")
def overview(guild_id: int):  # type: ignore[no-untyped-def]
    report = dashboard().config.guild_health(guild_id)
    checks = [(c.name, c.ok, plain_text(c.detail)) for c in report.checks]
    return render_template(
        "dashboard/overview.html",
        user=g.user,
        guild_id=guild_id,
        guild_name=guild_name(guild_id),
        checks=checks,
        ok=report.ok,
    )
