"""Viewer names: every event that names a viewer keeps their username
(core/features/viewers/names.py); and who in chat is a bot, not a viewer
(core/features/chat_bots.py), which every feature reading chat asks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.chat_bots import ChatBots
from core.features.viewers.names import NAMING_EVENTS, ViewerNames

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    rt.chat_bots = ChatBots(extra_logins=rt.settings.chat_bots)  # and CHAT_BOTS's
    names = ViewerNames(rt.engine)
    for event_type in NAMING_EVENTS:
        rt.handle(event_type, names.remember)
