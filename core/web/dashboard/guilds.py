"""The guild list and everything under ``/dashboard/<guild_id>/``.

Every request under a guild re-checks that the logged-in user may manage it (owner,
Administrator or Manage Server, as Discord says; cached a few minutes per user and guild in this
process) and that the bot serves it. Anything else gets the same 403 page, whether or not the
guild exists. Each later area (a settings page) is a module of ``core/web/dashboard/pages/``
with ``bp = guild_blueprint(...)``: its routes live under ``/dashboard/<guild_id>/<area>/``,
get the same check, and show up in the guild's navigation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)

from core.features.directory.repository import Server
from core.features.guilds.invite import invite_url
from core.features.refusals import Refused
from core.health import Check
from core.web.dashboard import (
    DATABASE_DOWN,
    DATABASE_ERRORS,
    answer_database_down,
    database_down,
    error_page,
)
from core.web.dashboard.discord_client import DiscordUnavailable, TokenRefused, UserGuild
from core.web.dashboard.state import SessionUser, current_user, dashboard, end_session

log = logging.getLogger(__name__)
bp = Blueprint("guilds", __name__, url_prefix="/dashboard")


def _database_down(error: Exception):  # type: ignore[no-untyped-def]
    """A server's overview while the database does not answer: the 503 page, with the lines
    ``!health`` gives then (the database failing, the server's lines not read); other pages
    the 503 page alone."""
    if request.endpoint != "guilds.overview":
        return database_down(error)
    log.warning("the overview failed: the database is unreachable (%s)", type(error).__name__)
    report = dashboard().config.health_while_down()
    page = render_template(
        "dashboard/overview_down.html",
        title="Please try again",
        message=DATABASE_DOWN,
        checks=[(c.name, _state(c), c.detail) for c in report.checks],
        status=report.status,
        user=None,
    )
    return page, 503


for _error in DATABASE_ERRORS:
    bp.register_error_handler(_error, _database_down)
CDN = "https://cdn.discordapp.com"  # allowed in img-src on signed-in pages (security.py)
ICON_CDN = f"{CDN}/icons"
NOT_YOURS = (
    "You cannot manage this server here: it does not exist, the bot is not in it, or you lack "
    "Manage Server there."
)


def _manageable(user: SessionUser, asked: int | None = None) -> dict[int, str]:
    """Guilds the user may manage (id -> name), from Discord; fills the permission cache."""
    dash = dashboard()
    if dash.discord is None:
        raise DiscordUnavailable("Discord login is not set up")
    listed = dash.discord.guilds(user.token)
    guilds = {g.id: g.name for g in listed if g.can_manage}
    dash.permissions.put_all(user.id, set(guilds), asked)
    _name_servers(listed)
    return guilds


def _name_servers(listed: list[UserGuild]) -> None:
    """A member's own list names the servers the bot serves (and gives their icons), so a
    deployment whose bot has not described them yet, or has no bot token, still shows names."""
    directory = dashboard().config.directory
    if directory is None:
        return
    served = dashboard().config.served([g.id for g in listed])
    known = [Server(g.id, g.name, g.icon) for g in listed if g.id in served]
    if known:
        directory.name_servers(known)


def guild_name(guild_id: int) -> str:
    """The server's name as the bot or a member's login last told it, or its id."""
    config = dashboard().config
    server = config.directory.server(guild_id) if config.directory is not None else None
    return (server.name if server else None) or config.guild_name(guild_id) or f"Server {guild_id}"


def guild_names(guild_ids: Collection[int]) -> dict[int, str]:
    """:func:`guild_name` of each of these servers, read in one query for all of them."""
    config = dashboard().config
    if config.directory is None:
        return {guild_id: guild_name(guild_id) for guild_id in guild_ids}
    known = config.directory.server_names(guild_ids)
    return {guild_id: known.get(guild_id) or f"Server {guild_id}" for guild_id in guild_ids}


def guild_icon_url(guild_id: int, size: int = 64) -> str | None:
    """The server's icon on Discord's CDN, when Discord gave one."""
    config = dashboard().config
    server = config.directory.server(guild_id) if config.directory is not None else None
    if server is None or server.icon is None:
        return None
    return f"{ICON_CDN}/{guild_id}/{server.icon}.png?size={size}"


_AVATAR_KEY = re.compile(r"[a-z0-9_]{1,64}")


def avatar_url(guild_id: int, user_id: int, stored: str, size: int = 32) -> str | None:
    """A member's picture on Discord's CDN from what the bot stored (``<kind>:<key>``, see
    ``core/discord_bot/directory/snapshot.py``); None for anything else (a bare key stored
    before the kind was, or a key that is not one)."""
    kind, _, key = stored.partition(":")
    if not _AVATAR_KEY.fullmatch(key):
        return None
    if kind == "g":
        return f"{CDN}/guilds/{guild_id}/users/{user_id}/avatars/{key}.png?size={size}"
    if kind == "u":
        return f"{CDN}/avatars/{user_id}/{key}.png?size={size}"
    if kind == "d" and key.isdigit():
        return f"{CDN}/embed/avatars/{key}.png"
    return None


def may_manage(user: SessionUser, guild_id: int, max_age: float | None = None) -> bool:
    """Whether the bot serves the guild and Discord says the user may manage it, Discord's word
    taken from the cache when it is younger than the cache's lifetime (or ``max_age``)."""
    dash = dashboard()
    if not dash.config.served([guild_id]):
        return False
    cached = dash.permissions.get(user.id, guild_id, max_age)
    if cached is None:
        cached = guild_id in _manageable(user, guild_id)
    return cached


@dataclass(frozen=True)
class GuildArea:
    """A page area under ``/dashboard/<guild_id>/<slug>/``: its blueprint, its navigation label
    and the endpoint the label links to."""

    bp: Blueprint
    label: str
    endpoint: str


class FeatureMissing(Exception):
    """The feature behind a page is not installed in this process (raised by a page that asks
    for its service; every area answers it with a 404 page naming itself)."""


def guild_blueprint(slug: str, import_name: str, label: str, index: str = "index") -> GuildArea:
    """A blueprint for one area of a guild's pages, guarded like every guild page; its
    ``index`` view (taking ``guild_id``) is what the navigation links to."""
    area = Blueprint(f"guild_{slug}", import_name, url_prefix=f"/dashboard/<id:guild_id>/{slug}")
    area.before_request(require_login)

    def missing(_: FeatureMissing):  # type: ignore[no-untyped-def]
        return error_page(404, "Not available", f"{label} is not running in this StreamKeeper.")

    area.register_error_handler(FeatureMissing, missing)
    answer_database_down(area)
    return GuildArea(area, label, f"guild_{slug}.{index}")


def sign_in_again():  # type: ignore[no-untyped-def]
    """Discord refused the user's token (they removed the app, or Discord revoked it): the
    session ends, and the next login gets a new token."""
    end_session()
    return redirect(url_for("public.landing", login="needed"), code=303)


def require_user():  # type: ignore[no-untyped-def]
    """Any signed-in Discord user (as ``g.user``), their changes limited per minute."""
    user = current_user()
    if user is None:
        return redirect(url_for("public.landing", login="needed"))
    g.user = user
    if request.method == "POST" and not dashboard().write_limit.allow(str(user.id)):
        return error_page(429, "Slow down", "Too many changes in a minute. Wait a moment.")
    return None


def require_login():  # type: ignore[no-untyped-def]
    """A signed-in user, and on a guild's page one who may manage that guild."""
    refused = require_user()
    if refused is not None:
        return refused
    guild_id = (request.view_args or {}).get("guild_id")
    if guild_id is not None:
        # A change is made on Discord's word of the last half minute: someone whose Manage
        # Server was taken away (or who left) may still see the pages for the cache's few
        # minutes, but changes nothing after it.
        fresh = dashboard().config.permission_write_seconds if request.method == "POST" else None
        try:
            allowed = may_manage(g.user, guild_id, fresh)
        except TokenRefused:
            return sign_in_again()
        except DiscordUnavailable:
            return error_page(502, "Discord did not answer", "Discord did not answer. Try again.")
        if not allowed:
            return error_page(403, "Not available", NOT_YOURS)
    return None


bp.before_request(require_login)


@bp.get("/")
def guild_list():  # type: ignore[no-untyped-def]
    try:
        guilds = _manageable(g.user)
    except TokenRefused:
        return sign_in_again()
    except DiscordUnavailable:
        return error_page(502, "Discord did not answer", "Discord did not answer. Try again.")
    present = dashboard().config.served(guilds)
    shown = sorted(
        ((gid, name) for gid, name in guilds.items() if gid in present),
        key=lambda item: item[1].casefold(),
    )
    client_id = dashboard().config.client_id
    add_bot = invite_url(client_id, dashboard().config.oauth_base_url) if client_id else None
    return render_template("dashboard/guilds.html", user=g.user, guilds=shown, add_bot=add_bot)


@bp.get("/<id:guild_id>/")
def overview(guild_id: int, refused: str | None = None):  # type: ignore[no-untyped-def]
    report = dashboard().config.guild_health(guild_id)
    checks = [(c.name, _state(c), c.detail) for c in report.checks]
    syncs = dashboard().config.platform_syncs
    undone_calls = dashboard().config.undone_calls
    undone = undone_calls.recent(guild_id) if undone_calls is not None else None
    config = dashboard().config
    left_at = config.guilds.left_at(guild_id) if config.guilds is not None else None
    return render_template(
        "dashboard/overview.html",
        user=g.user,
        guild_id=guild_id,
        guild_name=guild_name(guild_id),
        checks=checks,
        status=report.status,
        syncs=[(slug, sync.label) for slug, sync in syncs.items() if sync.has(guild_id)],
        sync_results=get_flashed_messages(category_filter=["sync"]),
        refused=refused,
        undone=undone,
        left_at=left_at,
        invite=invite_url(config.client_id, config.oauth_base_url) if config.client_id else None,
    ), (400 if refused else 200)


# The overview's health line of what the bot could not do: the page lists them below it.
UNDONE_LISTED = "listed below, under “What the bot could not do”"


def _state(check: Check) -> str:
    """A check's state on the overview: ok, "look" (it works, and a person has something to
    look at) or FAIL."""
    if not check.ok:
        return "FAIL"
    return "look" if check.degraded else "ok"


@bp.post("/<id:guild_id>/sync/<platform>")
def sync(guild_id: int, platform: str):  # type: ignore[no-untyped-def]
    """The Sync button: what ``!kick sync`` / ``!twitch sync`` do, its reply shown on the
    overview after a redirect (a refusal too); a platform the guild has not set up is refused."""
    found = dashboard().config.platform_syncs.get(platform)
    run = dashboard().config.run
    if found is None or run is None:
        abort(404)
    if not found.has(guild_id):
        return overview(
            guild_id,
            refused=f"This server has no {found.label} channel yet: choose it on the "
            "Kick & Twitch page first.",
        )
    try:
        text = run(found.sync(guild_id))
    except Refused as refusal:
        text = str(refusal)
    flash(text, "sync")
    return redirect(url_for("guilds.overview", guild_id=guild_id), code=303)
