"""The dashboard of the running app, and who is logged in."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, request, session

from core.web.dashboard import Dashboard


def dashboard() -> Dashboard:
    return current_app.extensions["dashboard"]


@dataclass(frozen=True)
class SessionUser:
    id: int
    name: str
    token: str = field(repr=False)


_USER_KEY = "streamkeeper.session_user"


def current_user() -> SessionUser | None:
    """The logged-in user, or None (no session, an expired one, one ended on the server by a
    logout, or a token that no longer opens). Asked once per request."""
    # Kept on the request (not ``g``, which an app context kept open around several requests
    # would share between them).
    environ = request.environ
    if _USER_KEY not in environ:
        environ[_USER_KEY] = _session_user()
    return environ[_USER_KEY]


def end_session() -> None:
    """Log this browser out: its session ends on the server (so a copy of the cookie stops
    working too), this process forgets what Discord said the user may manage, and the cookie is
    emptied."""
    user = current_user()
    dash = dashboard()
    if user is not None:
        dash.permissions.forget_user(user.id)
    dash.sessions.end(session.get("sid"))
    session.clear()


def _session_user() -> SessionUser | None:
    user_id, name = session.get("uid"), session.get("name")
    if not isinstance(user_id, int) or not isinstance(name, str):
        return None
    dash = dashboard()
    token = dash.tokens.open(session.get("tok"))
    if token is None:
        return None
    if not dash.sessions.is_live(session.get("sid"), user_id):
        return None  # logged out (from this browser or a copy of its cookie), or expired
    return SessionUser(user_id, name, token)
