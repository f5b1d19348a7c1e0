"""The goal bar: toward a number of subs, gifted subs, follows or points, set from the
dashboard, moved by the events that count, reset when the streamer says.

Subs count new subscriptions, resubscriptions and gifted subs (each gift by its count, never
its recipients one by one, which Twitch also reports); gifted subs count only gifts; follows
count followers, each once (an unfollow and follow again, or another Kick app's forwarded copy
of a follow under its own message id, moves nothing). Each event moves the bar once (its key,
or the reference a gift, subscription or follower has whichever source reports it). Points
are not counted event by event: the bar shows the points credited on the points ledger since
the goal started, read when the overlay asks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine

from core.events import Event, Followed, Subscribed, SubscriptionsGifted, utc
from core.features.heist.payments import REFUND
from core.features.heist.payments import SOURCE as HEIST
from core.features.live.changes import touch
from core.features.overlays import goal_repository
from core.features.overlays.alert_events import follow_reference, sub_reference
from core.features.overlays.settings import OverlayRefused
from core.features.points.repository import earned_since
from core.features.raffle.earning.service import gift_identity

MEASURES = {
    "subs": "subscriptions",
    "gifted_subs": "gifted subs",
    "follows": "follows",
    "points": "points",
}
MAX_TARGET = 1_000_000_000_000
# Credits that earn nothing, left out of a points goal: a called-off heist's stakes handed back,
# and balances carried over from StreamElements (core/features/importers/se_points.py's source,
# named here so the overlays do not import the importer and its platform clients).
NOT_EARNED = ((HEIST, ":" + REFUND), ("import", ""))
TITLE_MAX = 100
# How long the key of what moved a goal is kept: far past any redelivery (Twitch and Kick retry
# for hours at most) or second source of the same event (seconds apart).
MOVES_KEPT = timedelta(days=30)


def parse_target(text: str) -> int:
    value = text.strip().replace(",", "")
    if not value.isascii() or not value.isdecimal() or len(value) > 13:
        raise OverlayRefused("The goal is a whole number, like 50.", field="target")
    number = int(value)
    if not 1 <= number <= MAX_TARGET:
        raise OverlayRefused(f"The goal is from 1 to {MAX_TARGET:,}.", field="target")
    return number


def moves_of(
    event: Event,
    moved_at: Callable[[str], datetime | None] = lambda reference: None,
    now: datetime | None = None,
) -> tuple[dict[str, int], str] | None:
    """What an event adds to each measure, and the reference it moves a goal by once.
    ``moved_at``: when a reference moved the goal, or None (for :func:`sub_reference`)."""
    if isinstance(event, Followed):
        return {"follows": 1}, follow_reference(event)
    if isinstance(event, Subscribed) and not event.is_gift:
        return {"subs": 1}, sub_reference(event, moved_at, now)
    if isinstance(event, SubscriptionsGifted) and not event.told_again_with_its_key:
        count = event.count or len(event.giftees)
        # as the alerts and the raffle tell it: the same gift to the same viewers a month on
        # (a Kick gift repeated) is another gift, its copies (webhook, Pusher) the same one
        gift = gift_identity(event, lambda reference: moved_at("gift:" + reference), now)
        return {"subs": count, "gifted_subs": count}, "gift:" + gift
    return None


class GoalService:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def handle(self, guild_id: int, event: Event) -> None:
        """Event handler: move the guild's goal when the event counts toward it."""
        found = moves_of(event)
        if found is None:
            return
        amounts = found[0]
        with self.engine.begin() as conn:
            goal = goal_repository.get_goal(conn, guild_id)
            if goal is None or amounts.get(goal.measure, 0) <= 0:
                return
            # Only what happened after the goal (re)started counts: a redelivered older event
            # does not move a bar the streamer just reset.
            if utc(event.occurred_at) < utc(goal.started_at):
                return
            # A sub's copy across a month's turn finds the reference the first copy moved it by.
            now = utc(self.clock())
            moved_at = partial(goal_repository.moved_at, conn, guild_id)
            _, ref = moves_of(event, moved_at, now) or found
            if goal_repository.move(conn, guild_id, ref, amounts[goal.measure], now):
                touch(conn, guild_id, "goal")

    def forget_old_moves(self) -> int:
        """Forget every guild's goal moves older than :data:`MOVES_KEPT` (a scheduled job);
        the bars keep their progress. Returns how many went."""
        with self.engine.begin() as conn:
            return goal_repository.forget_moves_before(conn, utc(self.clock()) - MOVES_KEPT)

    def save(self, guild_id: int, form: Mapping[str, str]) -> None:
        """Set the goal from the dashboard's form (``measure``, ``target``, ``title``); a new
        measure starts from zero. Refuses with :class:`OverlayRefused` naming the field."""
        measure = str(form.get("measure", ""))
        if measure not in MEASURES:
            raise OverlayRefused("Choose what the goal counts.", field="measure")
        target = parse_target(str(form.get("target", ""))[:20])
        title = " ".join(str(form.get("title", ""))[:400].split())[:TITLE_MAX]
        if not title:
            title = f"{MEASURES[measure].capitalize()} goal"
        with self.engine.begin() as conn:
            goal_repository.save_goal(
                conn, guild_id, measure, target, title, utc(self.clock()), reset=False
            )
            touch(conn, guild_id, "goal")

    def reset(self, guild_id: int) -> bool:
        """Start the goal again from zero, now; False when there is no goal."""
        with self.engine.begin() as conn:
            goal = goal_repository.get_goal(conn, guild_id)
            if goal is None:
                return False
            goal_repository.save_goal(
                conn, guild_id, goal.measure, goal.target, goal.title, utc(self.clock()), reset=True
            )
            touch(conn, guild_id, "goal")
        return True

    def remove(self, guild_id: int) -> None:
        with self.engine.begin() as conn:
            goal_repository.delete_goal(conn, guild_id)
            touch(conn, guild_id, "goal")

    def view(self, guild_id: int) -> dict[str, Any]:
        """What the goal overlay draws: no ``goal`` key when there is none. The count is never
        below zero (a count taken back past it shows an empty bar); ``reached`` once it is at
        or past the target (the bar is then full, never more)."""
        with self.engine.connect() as conn:
            goal = goal_repository.get_goal(conn, guild_id)
            if goal is None:
                return {"goal": None}
            progress = goal.progress
            if goal.measure == "points":
                progress = earned_since(conn, guild_id, goal.started_at, NOT_EARNED)
        progress = max(0, progress)
        return {
            "goal": {
                "title": goal.title,
                "measure": goal.measure,
                "unit": MEASURES[goal.measure],
                "progress": progress,
                "target": goal.target,
                "reached": progress >= goal.target,
                "started_at": utc(goal.started_at).isoformat(),
            }
        }
