"""Which events become which alerts, and the handlers that record them (and replay them).

Follows, subscriptions, resubscriptions, raids and hosts, cheers and KICKs are alerted by these
handlers, each once per event (its key is the alert's reference; a subscription's reference is
the same from each of Twitch's two sources, :func:`sub_reference`), a follow once per follower
of the channel (:func:`follow_reference`: unfollowing and following again, or another Kick
app's forwarded copy, shows nothing). Gifted subs, VIP grants and
ticket milestones are recorded by :class:`~core.features.overlays.alerts.AlertRecorder`, where
their writers' transactions are. A gift's recipients (``Subscribed`` with ``is_gift``) are not
alerted one by one: the gift is. A replay records the event again under a fresh reference, in
its kind's style even when the kind is off, so the streamer sees what it would look like. Each
alert keeps the viewer it names (the follower, subscriber, gifter, raider, cheerer, VIP).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.engine import Engine

from core.events import (
    Cheered,
    Event,
    Followed,
    KicksGifted,
    Platform,
    Raided,
    Subscribed,
    SubscriptionsGifted,
    Viewer,
    VipAdded,
    utc,
)
from core.features.overlays import repository
from core.features.overlays.alert_kinds import AlertFields
from core.features.overlays.alerts import TIER_WORDS, AlertViewer, announce
from core.features.overlays.settings import OverlayRefused
from core.features.raffle.earning.service import GIFT_WINDOW, gift_reference

# How far apart two copies of one subscription can be stamped (as for a gift's copies: a
# delayed or retried delivery, a backlog); a viewer subscribes anew at most once a month, so
# two new subs this close are one.
SUB_COPIES_APART = GIFT_WINDOW


@dataclass(frozen=True)
class AlertOf:
    kind: str
    fields: AlertFields
    source_ref: str
    detail: str = ""
    stored_kind: str | None = None
    viewer: Viewer | None = None  # whom it names (on the event's platform)


def _name(viewer: object) -> str:
    return getattr(viewer, "username", "") or ""


def _tier(event: Subscribed) -> str:
    if event.is_prime:
        return "Prime"
    return TIER_WORDS.get(event.tier or "", "")


def _never(reference: str) -> datetime | None:
    return None


def follow_reference(event: Followed) -> str:
    """The follower, once per channel: by their user id (every source gives it), else the
    event's own key."""
    user_id = event.viewer.platform_user_id
    if user_id is None:
        return f"event:{event.key}"
    parts = ("follow", str(event.platform), event.broadcaster_user_id, user_id)
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return "follower:" + digest[:32]


def sub_reference(
    event: Subscribed,
    recorded_at: Callable[[str], datetime | None] = _never,
    now: datetime | None = None,
) -> str:
    """The same for every source of one subscription: Twitch tells a new sub both as
    ``channel.subscribe`` and as a chat notice, a resub as ``channel.subscription.message`` and
    as a chat notice, each under its own message id; Kick as a webhook and a Pusher frame. A
    resub is its viewer and running months; a new sub its viewer and month (a viewer subscribes
    anew at most once a month). On Kick the viewer is their name: a webhook names them by id
    and name, a Pusher frame by name only.

    Each copy is stamped with its own time, so two copies of a new sub can fall on either side
    of a month's turn (UTC midnight on the 1st). Within :data:`SUB_COPIES_APART` of the turn, a
    copy takes the other month's reference when that one was recorded within
    :data:`SUB_COPIES_APART` of this copy's time (or of ``now``; ``recorded_at(reference)`` is
    when, or None): it is the first copy's, and this one changes nothing. A new sub a month
    after one at the last turn keeps its own."""
    name = event.viewer.username.strip().lower()
    who = name if event.platform == Platform.KICK else event.viewer.platform_user_id or name
    head = f"sub:{event.platform}:{event.broadcaster_user_id}:{who}"
    if event.is_renewal and event.months:
        return f"{head}:resub:{event.months}"
    at = utc(event.occurred_at)
    own = f"{head}:new:{at:%Y-%m}"
    times = [at] if now is None else [at, utc(now)]
    for near in (at - SUB_COPIES_APART, at + SUB_COPIES_APART):
        other = f"{head}:new:{near:%Y-%m}"  # the month before or after, near its turn
        seen = None if other == own else recorded_at(other)
        if seen is not None and any(abs(t - utc(seen)) <= SUB_COPIES_APART for t in times):
            return other
    return own


def alert_of(
    event: Event,
    *,
    replay: bool = False,
    recorded_at: Callable[[str], datetime | None] = _never,
) -> AlertOf | None:
    """The alert an event makes; None for an event that makes none. With ``replay``, a VIP
    added on the platform is one too (live, the VIP feature's grant is announced instead, so a
    grant is not announced twice). ``recorded_at``: when the alert of a reference was made, or
    None (for :func:`sub_reference`)."""
    ref = f"event:{event.key}"
    if isinstance(event, Followed):
        fields = AlertFields(_name(event.viewer))
        return AlertOf("follow", fields, follow_reference(event), viewer=event.viewer)
    if isinstance(event, Subscribed):
        if event.is_gift:
            return None
        ref = sub_reference(event, recorded_at)
        if event.is_renewal and event.months:
            fields = AlertFields(_name(event.viewer), event.months, _tier(event))
            return AlertOf("resubscription", fields, ref, viewer=event.viewer)
        fields = AlertFields(_name(event.viewer), None, _tier(event))
        return AlertOf("subscription", fields, ref, viewer=event.viewer)
    if isinstance(event, SubscriptionsGifted):
        gifter = event.gifter.username if event.gifter else "Anonymous"
        count = event.count or len(event.giftees)
        fields = AlertFields(gifter, count, TIER_WORDS.get(event.tier or "", ""))
        ref = "gift:" + gift_reference(event)
        return AlertOf("gifted_subs", fields, ref, "Thank you!", viewer=event.gifter)
    if isinstance(event, Raided):
        fields = AlertFields(_name(event.raider), event.viewers, message=event.message)
        return AlertOf("raid", fields, ref, viewer=event.raider)
    if isinstance(event, Cheered):
        fields = AlertFields(_name(event.viewer) or "Anonymous", event.bits, message=event.message)
        return AlertOf("cheer", fields, ref, viewer=event.viewer)
    if isinstance(event, KicksGifted):
        fields = AlertFields(_name(event.viewer), event.amount, message=event.message)
        return AlertOf("tip", fields, ref, viewer=event.viewer)
    if replay and isinstance(event, VipAdded):
        fields = AlertFields(_name(event.viewer))
        return AlertOf("vip", fields, ref, stored_kind="vip_granted", viewer=event.viewer)
    return None


class EventAlerts:
    """The event handlers for the kinds recorded from events, and the dashboard's replay."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def handle(self, guild_id: int, event: Event) -> None:
        """Event handler: record the event's alert, once, if its kind is on."""
        if alert_of(event) is None:
            return  # most events make none: no transaction
        with self.engine.begin() as conn:
            made_at = partial(repository.alert_created_at, conn, guild_id)
            found = alert_of(event, recorded_at=made_at)
            if found is None:
                return
            announce(
                conn,
                guild_id,
                found.kind,
                found.fields,
                found.source_ref,
                event.occurred_at,
                detail=found.detail,
                stored_kind=found.stored_kind,
                viewer=AlertViewer.of(event.platform, found.viewer),
            )

    def replay(self, guild_id: int, event: Event) -> int:
        """Show ``event`` on the alerts overlay again, as a new alert; its number. Refuses an
        event that makes no alert."""
        found = alert_of(event, replay=True)
        if found is None:
            raise OverlayRefused("That event has no alert to replay.")
        with self.engine.begin() as conn:
            seq = announce(
                conn,
                guild_id,
                found.kind,
                found.fields,
                f"replay:{secrets.token_hex(8)}:{found.source_ref}",
                utc(self.clock()),
                detail=found.detail,
                stored_kind=found.stored_kind,
                replay=True,
                viewer=AlertViewer.of(event.platform, found.viewer),
            )
        assert seq is not None  # noqa: S101 (a fresh random reference)
        return seq


def can_replay(event: Event) -> bool:
    return alert_of(event, replay=True) is not None
