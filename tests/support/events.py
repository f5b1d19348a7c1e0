"""Builders for platform events, with the fields a test does not care about filled in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from core.events import ChatMessageSent, Platform, Viewer

AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def chat_message(
    text: str = "",
    *,
    platform: Platform = Platform.KICK,
    broadcaster: str = "1001",
    user_id: str | None = "77",
    username: str | None = None,
    viewer: Viewer | None = None,
    at: datetime = AT,
    event_id: str | None = None,
    **overrides: Any,
) -> ChatMessageSent:
    """A chat message ``text`` in ``broadcaster``'s channel on ``platform``, said at ``at`` by
    ``viewer`` (or ``Viewer(user_id, username)``, the username ``viewer_<user_id>`` when left
    out). ``event_id`` is a fresh one when left out; ``overrides`` sets any other field
    (``badges``, ``login``, ``via_chatroom_id``, ...)."""
    return ChatMessageSent(
        platform=platform,
        event_id=event_id if event_id is not None else uuid.uuid4().hex,
        broadcaster_user_id=broadcaster,
        occurred_at=at,
        viewer=viewer if viewer is not None else Viewer(user_id, username or f"viewer_{user_id}"),
        content=text,
        **overrides,
    )
