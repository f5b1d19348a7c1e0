"""Log in with Discord (OAuth2, scopes ``identify guilds``) and log out.

The state is 256 random bits kept in this browser's signed session: it is single use (taken out
of the session at the callback, and remembered as used by this process) and bound to the browser
that started the login, since another browser's session does not hold it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint, redirect, request, session, url_for

from core.security.compare import same_secret
from core.web.dashboard import answer_database_down, error_page
from core.web.dashboard.discord_client import DiscordUnavailable
from core.web.dashboard.state import dashboard, end_session

bp = Blueprint("auth", __name__)
answer_database_down(bp)
STATE_SECONDS = 600
_used_states: dict[str, float] = {}
_used_lock = threading.Lock()


def _spend_state(state: str) -> bool:
    """True the first time this process sees ``state`` (within its lifetime)."""
    digest = hashlib.sha256(state.encode()).hexdigest()
    now = time.monotonic()
    with _used_lock:
        for key in [k for k, t in _used_states.items() if t < now - STATE_SECONDS]:
            del _used_states[key]
        if digest in _used_states:
            return False
        _used_states[digest] = now
        return True


def _too_many():  # type: ignore[no-untyped-def]
    return error_page(429, "Slow down", "Too many login attempts from here. Wait a minute.")


@bp.get("/login")
def login():  # type: ignore[no-untyped-def]
    dash = dashboard()
    if not dash.config.login_configured or dash.discord is None:
        return error_page(
            503,
            "Login is off",
            "The operator has not set up Discord login (DISCORD_CLIENT_ID, "
            "DISCORD_CLIENT_SECRET and OAUTH_BASE_URL).",
        )
    if not dash.login_limit.allow(request.remote_addr or "-"):
        return _too_many()
    state = secrets.token_urlsafe(32)
    session["oauth_state"] = state
    session["oauth_started"] = int(time.time())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": dash.config.client_id,
            "scope": "identify guilds",
            "state": state,
            "redirect_uri": dash.config.redirect_uri,
            "prompt": "consent",
        }
    )
    return redirect(f"{dash.config.oauth_base_url}/authorize?{query}")


@bp.get("/dashboard/callback")
def callback():  # type: ignore[no-untyped-def]
    dash = dashboard()
    if dash.discord is None:
        return error_page(503, "Login is off", "The operator has not set up Discord login.")
    if not dash.login_limit.allow(request.remote_addr or "-"):
        return _too_many()
    expected = session.pop("oauth_state", None)
    started = session.pop("oauth_started", 0)
    state = request.args.get("state", "")
    if (
        not isinstance(expected, str)
        or not same_secret(expected, state)
        or not isinstance(started, int)
        or time.time() - started > STATE_SECONDS
        or not _spend_state(state)
    ):
        return error_page(
            400,
            "Login not recognised",
            "This login was started in another browser, already used, or is too old. "
            "Log in again from this browser.",
        )
    if request.args.get("error"):
        return error_page(400, "Login cancelled", "Discord said you did not allow the login.")
    code = request.args.get("code", "")
    if not code or len(code) > 200:
        return error_page(400, "Login not recognised", "Discord sent no usable code.")
    try:
        token, _lifetime = dash.discord.exchange(code, dash.config.redirect_uri)
        user = dash.discord.me(token)
    except DiscordUnavailable:
        return error_page(502, "Discord did not answer", "Discord did not answer. Try again.")
    # A fresh session (and CSRF token) for the logged-in user; the one this browser had ends
    # on the server, so a copy of its cookie does not outlive this login.
    end_session()
    session.permanent = True
    session["sid"] = dash.sessions.start(user.id, timedelta(hours=dash.config.session_hours))
    session["uid"] = user.id
    session["name"] = user.name
    session["tok"] = dash.tokens.seal(token)
    dash.permissions.forget_user(user.id)
    return redirect(url_for("guilds.guild_list"))


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    end_session()  # on the server too: a copy of this cookie is refused from now on
    return redirect(url_for("public.landing"))
