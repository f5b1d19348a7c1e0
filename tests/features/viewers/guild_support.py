"""Two servers' viewers for the look-ups by name: names are every server's, a viewer is seen
in one (chatted there)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.events import Platform, Viewer
from core.features.viewers.repository import remember_viewers
from core.features.watchtime.repository import Presence, mark_present_many

LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
LATELY = datetime(2026, 1, 1, tzinfo=UTC)


def named(engine, platform: Platform, user_id: str, name: str, at: datetime = LATELY) -> None:
    with engine.begin() as conn:
        remember_viewers(conn, platform, [Viewer(user_id, name)], at)


def chatted_in(engine, guild_id: int, platform: Platform, user_id: str) -> None:
    with engine.begin() as conn:
        presence = Presence(guild_id, platform, "chan", user_id, LATELY)
        mark_present_many(conn, [presence], timedelta(minutes=5))


def viewer_of(
    engine, guild_id: int, platform: Platform, user_id: str, name: str, at: datetime = LATELY
) -> None:
    """A viewer called ``name`` (as of ``at``) who chatted in ``guild_id``."""
    named(engine, platform, user_id, name, at)
    chatted_in(engine, guild_id, platform, user_id)
