"""The web dashboard: public pages, Discord login, and per-guild pages.

One blueprint per area (``public``, ``auth``, ``guilds``; the next areas add theirs the same
way), Jinja templates under ``templates/dashboard/``, one stylesheet and plain scripts under
``static/`` (no inline script, no build step). :func:`register` wires them into the app.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, render_template, request, url_for
from werkzeug.routing import IntegerConverter

from core.events.words import label as event_label
from core.features.web_sessions.service import MemorySessions
from core.storage.db import DatabaseUnavailable
from core.web.dashboard.config import DashboardConfig
from core.web.dashboard.discord_client import DiscordClient
from core.web.dashboard.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    Limiter,
    PermissionCache,
    TokenBox,
    add_dashboard_headers,
    csrf_ok,
    csrf_token,
    rate_limiter,
)
from core.web.dashboard.zoned import in_zone
from core.web.templates import share_compiled_templates

if TYPE_CHECKING:
    from core.web.dashboard.guilds import GuildArea

log = logging.getLogger(__name__)

HSTS = "max-age=31536000"  # a year; subdomains are the operator's to decide, not ours

# Everything the dashboard serves; its blueprints get the dashboard's headers and CSRF check
# (the guild areas of ``pages/`` are added as they are registered).
BLUEPRINTS = {"public", "auth", "guilds", "dashboard_assets", "me"}


class IdConverter(IntegerConverter):
    """``<id:name>``: a whole number that fits the database's BIGINT (1 .. 2**63 - 1); anything
    longer is a 404 here, before a query would fail on it. Written as links write it: ASCII
    digits without a leading zero (``\\d`` takes any script's digits, so ``01`` or a 1 in
    Arabic-Indic or full-width digits would each be another address of page 1)."""

    regex = "[1-9][0-9]*"

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(map, min=1, max=2**63 - 1)


@dataclass
class Dashboard:
    config: DashboardConfig
    discord: DiscordClient | None
    tokens: TokenBox
    permissions: PermissionCache
    login_limit: Limiter  # per client address: login starts and callbacks
    write_limit: Limiter  # per user: every POST
    sessions: Any  # signed-in sessions on the server (WebSessions or MemorySessions)
    areas: tuple[GuildArea, ...] = ()  # the guild pages' areas, in navigation order


def _guild_areas() -> tuple[GuildArea, ...]:
    """Every module of ``core/web/dashboard/pages/`` with an ``AREA``, found by looking and
    ordered by its ``ORDER`` (then name): a new settings page touches only its own module and
    template."""
    from core.web.dashboard import pages

    found = []
    for info in pkgutil.iter_modules(pages.__path__):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        area = getattr(module, "AREA", None)
        if area is not None:
            found.append((getattr(module, "ORDER", 100), info.name, area))
    return tuple(area for _order, _name, area in sorted(found, key=lambda item: item[:2]))


def _live_link_url() -> str | None:
    """Where the browser's shared live connection (``live-link.js``) is served: with the
    overlays, which share it; None in an app without them (its pages then work by reload)."""
    if "overlay" not in current_app.blueprints:
        return None
    return url_for("overlay.static", filename="live-link.js")


def register(app: Flask, config: DashboardConfig) -> None:
    from core.web.dashboard import auth, guilds, me, public

    areas = _guild_areas()
    share_compiled_templates(app)

    client = None
    if config.client_id and config.client_secret:
        client = DiscordClient(config.api_base_url, config.client_id, config.client_secret)
    app.extensions["dashboard"] = Dashboard(
        config=config,
        discord=client,
        tokens=TokenBox(config.secret, config.session_hours * 3600),
        permissions=PermissionCache(config.permission_cache_seconds),
        login_limit=rate_limiter(config.redis, "login", 10, 60),
        write_limit=rate_limiter(config.redis, "write", 30, 60),
        sessions=config.sessions or MemorySessions(lambda: datetime.now(UTC)),
        areas=areas,
    )
    app.url_map.converters["id"] = IdConverter  # before the blueprints' rules use it
    app.secret_key = config.secret
    app.config.update(
        SESSION_COOKIE_NAME="sk_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_hours),
        # The cookie is written only when the session changes. Refreshed on every request, a
        # live part fetched while a form is saved could answer last with the older cookie and
        # wipe the form's "Saved: ..." notice. The session ends at the server's own expiry.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    assets = Blueprint(
        "dashboard_assets",
        __name__,
        static_folder="static",
        static_url_path="/static/dashboard",
        template_folder="templates",
    )
    app.register_blueprint(assets)
    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(guilds.bp)
    app.register_blueprint(me.bp)
    for area in areas:
        app.register_blueprint(area.bp)
        BLUEPRINTS.add(area.bp.name)
    from core.web.dashboard import live

    live.register(app, config, BLUEPRINTS)  # /dashboard/<guild_id>/live/<topic>
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["guild_areas"] = lambda: areas
    app.jinja_env.globals["live_link_url"] = _live_link_url
    app.jinja_env.globals["guild_icon_url"] = guilds.guild_icon_url
    app.jinja_env.globals["event_label"] = event_label
    app.jinja_env.globals["in_zone"] = in_zone
    app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD

    @app.before_request
    def refuse_nul():  # type: ignore[no-untyped-def]
        """A NUL character, which no text field can hold (PostgreSQL refuses it: a 500) and no
        browser types: only a hand-made request brings one."""
        if request.blueprint not in BLUEPRINTS or request.blueprint == "auth":
            return None  # the sign-in refuses an odd state and code itself, and keeps neither
        sent = [request.path, *(value for _key, value in request.args.items(multi=True))]
        if request.method == "POST":
            sent += [value for _key, value in request.form.items(multi=True)]
        if any("\x00" in value for value in sent):
            return error_page(
                400, "Not understood", "The request holds a character no text can (NUL)."
            )
        return None

    @app.before_request
    def refuse_forged_posts():  # type: ignore[no-untyped-def]
        if request.blueprint not in BLUEPRINTS or request.method != "POST":
            return None
        sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not csrf_ok(sent):
            return error_page(
                403,
                "Form expired",
                "This form did not come from this page, or it has expired. "
                "Go back, reload the page and try again.",
            )
        return None

    @app.after_request
    def dashboard_headers(response):  # type: ignore[no-untyped-def]
        if request.blueprint in BLUEPRINTS:
            response = add_dashboard_headers(response)
        if config.secure_cookies:
            # The site is https (OAUTH_BASE_URL): a browser that saw it once never tries it
            # over http again, where the session cookie's Secure flag would be its only guard.
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def error_page(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
    from core.web.dashboard.state import current_user

    user = current_user()
    page = render_template("dashboard/error.html", title=title, message=message, user=user)
    return page, status


DATABASE_DOWN = (
    "StreamKeeper cannot reach its database right now, so nothing was shown or changed. "
    "Try again in a minute."
)
DATABASE_ERRORS = (DatabaseUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError)


def answer_database_down(bp: Blueprint) -> None:
    """Every page of ``bp`` answers a 503 page in the dashboard's words while the database does
    not answer (the app's own answer is a bare JSON 500), never the database's error."""
    for error in DATABASE_ERRORS:
        bp.register_error_handler(error, database_down)


def database_down(error: Exception):  # type: ignore[no-untyped-def]
    log.warning("a dashboard page failed: the database is unreachable (%s)", type(error).__name__)
    # Not error_page: who is signed in is asked of the database too.
    page = render_template(
        "dashboard/error.html", title="Please try again", message=DATABASE_DOWN, user=None
    )
    return page, 503
