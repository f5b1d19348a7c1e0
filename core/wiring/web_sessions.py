"""Signed-in dashboard sessions, kept in the database so every web process knows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.web_sessions.service import WebSessions

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    rt.sessions = WebSessions(rt.engine, rt.clock)
