"""Every event that names a viewer keeps their username current, so a gifter, a subscriber, a
follower or a redeemer who never chatted is shown by name, not by platform id, on the raffle
standings, the leaderboards and in replies. Chat messages are remembered by watchtime, in the
batches it already writes."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from core.bus.dispatch import handles_many
from core.events import EVENT_TYPES, ChatMessageSent, Event, Platform, Viewer
from core.features.viewers.repository import remember_sightings
from core.storage.db import transaction


def _mentions_viewer(hint: Any) -> bool:
    return hint is Viewer or any(_mentions_viewer(arg) for arg in typing.get_args(hint))


# The event types with a viewer in them (a gift's gifter and giftees, a ban's moderator, ...),
# found from their fields, so a new one is covered; chat is watchtime's to remember.
NAMING_EVENTS: tuple[type[Event], ...] = tuple(
    event_type
    for event_type in EVENT_TYPES.values()
    if event_type is not ChatMessageSent
    and any(_mentions_viewer(hint) for hint in typing.get_type_hints(event_type).values())
)


def named_in(event: Event) -> Iterator[Viewer]:
    """The viewers ``event`` names, from its fields (one viewer, or a tuple of them)."""
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        for viewer in value if isinstance(value, tuple) else (value,):
            if isinstance(viewer, Viewer):
                yield viewer


class ViewerNames:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @handles_many("remember_many")
    def remember(self, guild_id: int, event: Event) -> None:
        self.remember_many(guild_id, [event])

    def remember_many(self, guild_id: int, events: Sequence[Event]) -> None:
        """Store the names ``events`` give (a name seen later than the stored one wins)."""
        del guild_id  # names belong to the platform's viewers, not to a guild
        sightings: list[tuple[Platform, Viewer, datetime]] = [
            (event.platform, viewer, event.occurred_at)
            for event in events
            for viewer in named_in(event)
        ]
        if sightings:
            with transaction(self.engine) as conn:
                remember_sightings(conn, sightings)
