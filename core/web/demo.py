"""The demo's sign-in: a dashboard a newcomer can click through with no Discord application.

:func:`install_demo` is called only by ``python -m core demo --dashboard`` (``core/demo_site.py``),
on an app it built, so a normal run has no ``/demo/sign-in`` route at all. It refuses a bind
address that is not loopback, and the demo answers only requests made on this machine (a
loopback peer with no forwarding header), whatever the bind address later becomes. Discord is
replaced by :class:`DemoDiscord`, which says the demo admin manages the seeded servers; every
page carries a banner saying it is a demo (``dashboard/demo_banner.html``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import timedelta

from flask import Blueprint, Flask, redirect, request, session, url_for

from core.web.dashboard import error_page
from core.web.dashboard.discord_client import DiscordUser, UserGuild
from core.web.dashboard.security import CSRF_FIELD, csrf_ok
from core.web.setup import is_direct_loopback

DEMO_USER = DiscordUser(id=900000000000000042, name="Demo admin")
DEMO_TOKEN = "demo-token"  # noqa: S105 (sealed in the session like a real one; opens nothing)


class NotLoopback(ValueError):
    """The demo was asked to listen beyond this machine."""


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DemoDiscord:
    """Discord as the demo tells it: one admin, who manages the seeded servers."""

    def __init__(self, servers: dict[int, str]) -> None:
        self.servers = servers

    def exchange(self, code: str, redirect_uri: str) -> tuple[str, int]:
        return DEMO_TOKEN, 3600

    def me(self, token: str) -> DiscordUser:
        return DEMO_USER

    def guilds(self, token: str) -> list[UserGuild]:
        return [UserGuild(guild_id, name, True) for guild_id, name in self.servers.items()]


def install_demo(app: Flask, host: str, servers: dict[int, str]) -> None:
    """Turn ``app`` (a fresh one, before it served anything) into the demo's."""
    if not is_loopback_host(host):
        raise NotLoopback(
            f"The demo runs on this computer only; {host!r} is not a loopback address "
            "(use 127.0.0.1)."
        )
    dash = app.extensions["dashboard"]
    app.extensions["dashboard"] = replace(dash, discord=DemoDiscord(servers))
    app.jinja_env.globals["demo_mode"] = True
    bp = Blueprint("demo", __name__, static_folder="demo_static", static_url_path="/static/demo")

    @bp.post("/demo/sign-in")
    def sign_in():  # type: ignore[no-untyped-def]
        if not csrf_ok(request.form.get(CSRF_FIELD)):
            return error_page(403, "Form expired", "Reload the page and try again.")
        current = app.extensions["dashboard"]
        session.clear()
        session.permanent = True
        hours = timedelta(hours=current.config.session_hours)
        session["sid"] = current.sessions.start(DEMO_USER.id, hours)
        session["uid"] = DEMO_USER.id
        session["name"] = DEMO_USER.name
        session["tok"] = current.tokens.seal(DEMO_TOKEN)
        current.permissions.forget_user(DEMO_USER.id)
        return redirect(url_for("guilds.guild_list"))

    @app.before_request
    def only_from_this_machine():  # type: ignore[no-untyped-def]
        if not is_direct_loopback(request):
            return error_page(403, "Demo", "The demo answers only on the computer it runs on.")
        return None

    app.register_blueprint(bp)
