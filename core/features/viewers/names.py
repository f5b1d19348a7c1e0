"""Every event that names a viewer keeps their username current, so a gifter, a subscriber, a
follower or a redeemer who never chatted is shown by name, not by platform id, on the raffle
standings, the leaderboards and in replies. Chat messages are remembered by watchtime, in the
batches it already writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from core.bus.dispatch import handles_many
from core.events import (
    AccountLinked,
    Event,
    Followed,
    KicksGifted,
    Platform,
    RewardRedeemed,
    Subscribed,
    SubscriptionEnded,
    SubscriptionsGifted,
    Viewer,
    ViewerBanned,
    VipAdded,
    VipRemoved,
)
from core.features.viewers.repository import remember_sightings
from core.storage.db import transaction

# The events whose viewers are remembered (a viewer named without an id is not: a name is kept
# for an id).
NAMING_EVENTS: tuple[type[Event], ...] = (
    AccountLinked,
    Followed,
    KicksGifted,
    RewardRedeemed,
    Subscribed,
    SubscriptionEnded,
    SubscriptionsGifted,
    ViewerBanned,
    VipAdded,
    VipRemoved,
)


def named_in(event: Event) -> Iterator[Viewer]:
    """The viewers ``event`` names: its viewer, a gift's gifter and giftees, a ban's moderator."""
    for name in ("viewer", "gifter", "moderator"):
        viewer = getattr(event, name, None)
        if isinstance(viewer, Viewer):
            yield viewer
    yield from getattr(event, "giftees", ())


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
