"""The dashboard of the running app, and who is logged in."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, session

from core.web.dashboard import Dashboard


def dashboard() -> Dashboard:
    return current_app.extensions["dashboard"]


@dataclass(frozen=True)
class SessionUser:
    id: int
    name: str
    token: str


def current_user() -> SessionUser | None:
    """The logged-in user, or None (no session, an expired one, or a token that no longer
    opens)."""
    user_id, name = session.get("uid"), session.get("name")
    if not isinstance(user_id, int) or not isinstance(name, str):
        return None
    token = dashboard().tokens.open(session.get("tok"))
    if token is None:
        return None
    return SessionUser(user_id, name, token)
