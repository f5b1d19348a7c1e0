"""Viewers as chat makes them known: a name remembered (every guild's) and the viewer present
in one guild's chat, so the guild's look-ups by name find them (nothing earned yet)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from core.events import Platform, Viewer
from core.features.viewers.repository import remember_viewers
from core.features.watchtime.repository import Presence, mark_present_many


def chatted_in(
    conn: Connection, guild_id: int, platform: Platform, viewers: Sequence[Viewer], at: datetime
) -> None:
    remember_viewers(conn, platform, viewers, at)
    present = [Presence(guild_id, platform, "chan", v.platform_user_id, at) for v in viewers]
    mark_present_many(conn, present, timedelta(minutes=5))
