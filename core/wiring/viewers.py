"""Viewer names: every event that names a viewer keeps their username
(core/features/viewers/names.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.viewers.names import NAMING_EVENTS, ViewerNames

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    names = ViewerNames(rt.engine)
    for event_type in NAMING_EVENTS:
        rt.handle(event_type, names.remember)
