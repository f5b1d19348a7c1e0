"""The alert feed: numbered, append-only, each thing announced once.

An alert is recorded in the transaction of what it announces where that transaction is ours to
join: a VIP grant or extension (the VIP audit entry, ``vip.ports.AUDIT_WRITTEN``) and a viewer's
raffle tickets passing a milestone (``raffle.ports.TICKETS_AWARDED``); a gift of subscriptions
is its own event, recorded by a handler. Each alert carries the reference of what it announces
(unique per guild), so a replayed event, a second source, a retried transaction or a second
process handling the same event at once adds nothing (and fails nothing), and a number the
guild's counter hands out in the same transaction, so an overlay that reconnects asks for the
numbers after the last it showed and never sees one twice. An alert about a viewer keeps their
account (:class:`AlertViewer`), so a person's export finds it and forgetting them deletes it
(``core/features/person_forget.py``).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, SubscriptionsGifted, Viewer, utc
from core.features.live.changes import touch
from core.features.overlays import repository, styles_repository
from core.features.overlays.alert_kinds import AlertFields, AlertLook, look
from core.features.raffle import ledger_repository
from core.features.raffle.earning.service import gift_identity
from core.features.raffle.ports import TicketsAwarded
from core.features.viewers.in_guild import event_viewer_id
from core.features.viewers.repository import usernames_of
from core.features.vip.repository import AuditEntry

VIP_ACTIONS = {"granted": "is now a VIP", "extended": "extended their VIP"}
TIER_WORDS = {"1000": "Tier 1", "2000": "Tier 2", "3000": "Tier 3"}


@dataclass(frozen=True)
class AlertViewer:
    """The viewer an alert names, on its platform: the event's viewer (whose id a source may
    not give: Kick's Pusher names viewers by name only) or an account."""

    platform: Platform | str
    platform_user_id: str | None
    username: str = ""

    @classmethod
    def of(cls, platform: Platform | str, viewer: Viewer | None) -> AlertViewer | None:
        if viewer is None:
            return None
        return cls(platform, viewer.platform_user_id, viewer.username)


def _account(
    conn: Connection, guild_id: int, viewer: AlertViewer | None
) -> tuple[str | None, str | None]:
    """The (platform, user id) stored with an alert: the viewer's id, else the one viewer of
    their name who chatted or watched in this guild, else the one known by it anywhere (a
    gifter or a follower need not have chatted first: ``event_viewer_id``), else none."""
    if viewer is None:
        return None, None
    user_id = viewer.platform_user_id
    if user_id is None and viewer.username:
        platform = Platform(str(viewer.platform))
        user_id = event_viewer_id(conn, guild_id, platform, viewer.username)
    return (None, None) if user_id is None else (str(viewer.platform), user_id)


def record(
    conn: Connection,
    guild_id: int,
    kind: str,
    title: str,
    detail: str,
    source_ref: str,
    at: datetime,
    chosen: AlertLook | None = None,
    amount: int | None = None,
    viewer: AlertViewer | None = None,
) -> int | None:
    """Append an alert in ``conn``'s transaction; its number, or None when ``source_ref`` was
    announced already. ``chosen`` is the look its style gave it (its title replaces
    ``title``); ``viewer`` the viewer it names."""
    if repository.has_alert(conn, guild_id, source_ref):
        return None
    platform, platform_user_id = _account(conn, guild_id, viewer)
    seq = repository.next_seq(conn, guild_id)
    added = repository.add_alert(
        conn,
        guild_id,
        seq,
        kind,
        chosen.title if chosen else title,
        detail,
        source_ref,
        at,
        amount=amount,
        image_id=chosen.image_id if chosen else None,
        sound_id=chosen.sound_id if chosen else None,
        seconds=chosen.seconds if chosen else None,
        platform=platform,
        platform_user_id=platform_user_id,
    )
    if not added:  # another process announced it since the look above: its number stays unused
        return None
    touch(conn, guild_id, "alerts")  # open alert overlays fetch it
    return seq


def announce(
    conn: Connection,
    guild_id: int,
    kind: str,
    fields: AlertFields,
    source_ref: str,
    at: datetime,
    *,
    detail: str = "",
    stored_kind: str | None = None,
    replay: bool = False,
    default_words: str | None = None,
    viewer: AlertViewer | None = None,
) -> int | None:
    """Record an alert of ``kind`` in its style (its words, the amount's variation), unless the
    streamer turned the kind off; a ``replay`` shows it even then. Its number, or None.
    ``viewer``: the viewer it names."""
    style = styles_repository.get_style(conn, guild_id, kind)
    if not style.enabled and not replay:
        return None
    variations = styles_repository.variations(conn, guild_id, kind)
    chosen = look(style, variations, fields, default_words)
    return record(
        conn,
        guild_id,
        stored_kind or kind,
        chosen.title,
        detail,
        source_ref,
        at,
        chosen,
        fields.amount,
        viewer,
    )


class AlertRecorder:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def vip_audited(self, conn: Connection, entry: AuditEntry) -> None:
        """A VIP audit entry was written: announce a grant or an extension."""
        words = VIP_ACTIONS.get(entry.action)
        if words is None:
            return
        detail = ""
        if entry.new_expires_at is not None:
            detail = "until " + utc(entry.new_expires_at).strftime("%b %d, %H:%M UTC")
        what = entry.redemption_id or utc(entry.at).isoformat()
        announce(
            conn,
            entry.guild_id,
            "vip",
            AlertFields(entry.username),
            f"vip:{entry.platform}:{entry.platform_user_id}:{entry.action}:{what}",
            entry.at,
            detail=detail,
            stored_kind=f"vip_{entry.action}",
            default_words="{who} " + words,
            viewer=AlertViewer(entry.platform, entry.platform_user_id, entry.username),
        )

    def tickets_awarded(self, conn: Connection, awarded: Sequence[TicketsAwarded]) -> None:
        """Tickets were written: announce each viewer whose balance passed a milestone."""
        by_period: dict[tuple[int, int], dict[tuple[str, str], int]] = defaultdict(dict)
        for award in awarded:
            moved = by_period[(award.guild_id, award.period_id)]
            viewer = (award.platform, award.platform_user_id)
            moved[viewer] = moved.get(viewer, 0) + award.amount
        now = utc(self.clock())
        for (guild_id, period_id), moved in by_period.items():
            chosen = repository.get_settings(conn, guild_id)
            style = styles_repository.get_style(conn, guild_id, "tickets_milestone")
            if not style.enabled or not chosen.milestones:
                continue
            # Only a balance from the lowest milestone up to the highest plus the largest award
            # can have passed one: one scan of the period, not a lookup per viewer awarded.
            low, high = min(chosen.milestones), max(chosen.milestones) + max(moved.values())
            after = ledger_repository.balances_between(conn, guild_id, period_id, low, high)
            passed = {
                viewer: [m for m in chosen.milestones if tickets - moved[viewer] < m <= tickets]
                for viewer, tickets in after.items()
                if viewer in moved
            }
            passed = {viewer: found for viewer, found in passed.items() if found}
            if not passed:
                continue
            names = usernames_of(conn, list(passed))
            for (platform, user_id), milestones in passed.items():
                name = names.get(f"{platform}:{user_id}", user_id)
                for milestone in milestones:
                    announce(
                        conn,
                        guild_id,
                        "tickets_milestone",
                        AlertFields(name, milestone),
                        f"tickets:{period_id}:{platform}:{user_id}:{milestone}",
                        now,
                        viewer=AlertViewer(platform, user_id, name),
                    )

    def gifts(self, guild_id: int, event: SubscriptionsGifted) -> None:
        """Event handler: announce a gift of subscriptions (once per gift, whichever source)."""
        if event.told_again_with_its_key:
            return  # its chat notice announces it
        gifter = event.gifter.username if event.gifter else "Anonymous"
        count = event.count or len(event.giftees)
        with self.engine.begin() as conn:

            def announced(reference: str) -> datetime | None:
                return repository.alert_created_at(conn, guild_id, "gift:" + reference)

            announce(
                conn,
                guild_id,
                "gifted_subs",
                AlertFields(gifter, count, TIER_WORDS.get(event.tier or "", "")),
                "gift:" + gift_identity(event, announced),
                event.occurred_at,
                detail="Thank you!",
                viewer=AlertViewer.of(event.platform, event.gifter),
            )

    def test_alert(self, guild_id: int) -> int:
        """A sample alert for the dashboard's "send test alert" button."""
        with self.engine.begin() as conn:
            seq = record(
                conn,
                guild_id,
                "test",
                "Test alert",
                "Your alerts overlay works.",
                "test:" + secrets.token_hex(8),
                utc(self.clock()),
            )
        assert seq is not None  # noqa: S101 (a fresh random reference)
        return seq
