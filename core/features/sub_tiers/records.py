"""The tier record and the rule that decides between two sources.

A record says: this viewer was a Tier 1, 2 or 3 subscriber (``is_prime`` when a source said the
sub was paid with Prime), who said so (``source``), when (``seen_at``) and until when it counts
(``expires_at``). Sources disagree and arrive out of order, so :func:`merge` decides:

1. No record, or an expired one: the new sighting is the record.
2. A badge is a last-resort hint: it never replaces a record from a real source.
3. Otherwise the newest sighting wins (``seen_at``); an older one changes nothing, so a
   redelivered or late event never undoes a fresher record. A real source beats a badge hint
   whatever their times.
4. Prime: only a source that can tell (Twitch's chat notifications) sets or clears it. A source
   blind to Prime (``channel.subscribe``, ``channel.subscription.message``, Helix) reporting
   Tier 1 within :data:`SAME_SUB_WINDOW` of a Prime sighting is the same sub told twice, so the
   Prime flag stays, whichever of the two is stamped or arrives first (an older Prime sighting
   marks the blind record Prime); later, it is a new month that nobody said was Prime.
5. ``since`` (when this tier was first seen) is kept while the tier stays; the expiry is the
   later of the two while the record counts (a later event refreshes, never shortens).
6. An ended subscription (``ended_at``, Twitch's ``channel.subscription.end``) stays ended for
   every sighting from before the end, even once the record has expired: a ``channel.subscribe``
   sent before the end and delivered after it is the ended sub told late. A sighting from after
   the end is a new sub.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

TIERS = ("1", "2", "3")
PRIME_AWARE_SOURCES = frozenset({"twitch:chat.notification"})
SAME_SUB_WINDOW = timedelta(minutes=10)
BADGE = "badge"
HELIX = "helix"


@dataclass(frozen=True)
class SubTier:
    platform: str
    platform_user_id: str
    tier: str  # "1" | "2" | "3"
    is_prime: bool
    source: str
    seen_at: datetime
    expires_at: datetime
    since: datetime | None = None  # when this tier was first seen; None: seen_at
    ended_at: datetime | None = None  # when the platform said the subscription ended

    @property
    def first_seen(self) -> datetime:
        return self.since or self.seen_at


def tier_label(sub: SubTier | None) -> str:
    """``"prime"``, ``"1"``, ``"2"``, ``"3"``, or ``""`` for no (known) subscription."""
    if sub is None:
        return ""
    if sub.is_prime and sub.tier == "1":
        return "prime"
    return sub.tier if sub.tier in TIERS else ""


def tier_of(value: str | None) -> str | None:
    """A platform's word for a tier as ours: ``"1000"`` -> ``"1"`` (also ``"1"``, ``"tier 2"``);
    None for anything else."""
    text = (value or "").strip().lower().removeprefix("tier").strip()
    if text in TIERS:
        return text
    if text in ("1000", "2000", "3000"):
        return text[0]
    return None


def tier_of_badge(version: str | None) -> str | None:
    """Twitch's subscriber badge version as a tier hint: 0-99 (or below 2000) Tier 1,
    2000-2999 Tier 2, 3000-3999 Tier 3, by convention only; None when it is no number."""
    text = (version or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        return None
    number = int(text)
    if 3000 <= number < 4000:
        return "3"
    if 2000 <= number < 3000:
        return "2"
    if number < 2000:
        return "1"
    return None


def add_month(moment: datetime) -> datetime:
    """The same time a calendar month later (31 Jan -> 28 or 29 Feb)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def merge(existing: SubTier | None, incoming: SubTier, now: datetime) -> SubTier | None:
    """The record after ``incoming`` is seen; None when ``existing`` stays as it is."""
    if incoming.expires_at <= now:
        return None
    ended_at = existing.ended_at if existing is not None else None
    if ended_at is not None and incoming.seen_at <= ended_at:
        return None  # told before the end: the ended sub, late
    if existing is None or existing.expires_at <= now:
        return replace(incoming, since=incoming.seen_at)
    if incoming.source == BADGE:
        return None
    if existing.source != BADGE and incoming.seen_at < existing.seen_at:
        if _tells_prime_of(existing, incoming):
            return replace(existing, is_prime=True, source=incoming.source)
        return None
    is_prime = incoming.is_prime and incoming.tier == "1"
    source = incoming.source
    if (
        incoming.source not in PRIME_AWARE_SOURCES
        and incoming.tier == "1"
        and existing.tier == "1"
        and existing.is_prime
        and incoming.seen_at - existing.seen_at <= SAME_SUB_WINDOW
    ):
        is_prime, source = True, existing.source  # the source that said Prime
    same_tier = existing.tier == incoming.tier
    expires_at = max(existing.expires_at, incoming.expires_at) if same_tier else incoming.expires_at
    return replace(
        incoming,
        is_prime=is_prime,
        source=source,
        since=existing.first_seen if same_tier else incoming.seen_at,
        expires_at=expires_at,
    )


def _tells_prime_of(existing: SubTier, older: SubTier) -> bool:
    """Whether ``older``, a Prime sighting stamped before ``existing`` (a Prime-blind source's
    Tier 1), tells of the same sub: the blind copy was only handled first."""
    return (
        older.source in PRIME_AWARE_SOURCES
        and older.is_prime
        and older.tier == "1"
        and existing.tier == "1"
        and not existing.is_prime
        and existing.source not in PRIME_AWARE_SOURCES
        and existing.seen_at - older.seen_at <= SAME_SUB_WINDOW
    )
