"""What StreamKeeper knows about a viewer's subscription, in words (chat and Discord alike)."""

from __future__ import annotations

from datetime import datetime

from core.events import utc
from core.features.sub_tiers.records import SubTier, tier_label

SOURCES = {
    "twitch:channel.subscribe": "a Twitch sub",
    "twitch:channel.subscription.message": "a Twitch resub",
    "twitch:gift": "a gifted Twitch sub",
    "twitch:chat.notification": "Twitch chat's sub notice",
    "kick:new": "a Kick sub",
    "kick:renewal": "a Kick renewal",
    "kick:gifted": "a gifted Kick sub",
    "helix": "Twitch's subscriber list",
    "badge": "the subscriber badge (a guess)",
}
NOTHING_KNOWN = "nothing known"


def day(moment: datetime) -> str:
    """``3 Nov`` (UTC)."""
    moment = utc(moment)
    return f"{moment.day} {moment:%b}"


def source_words(source: str) -> str:
    return SOURCES.get(source, source or "somewhere")


def describe(sub: SubTier | None) -> str:
    """``Tier 2 since 3 Nov, from a Twitch resub; good until 3 Dec`` or ``nothing known``."""
    label = tier_label(sub)
    if sub is None or not label:
        return NOTHING_KNOWN
    name = "Prime" if label == "prime" else f"Tier {label}"
    return (
        f"{name} since {day(sub.first_seen)}, from {source_words(sub.source)}; "
        f"good until {day(sub.expires_at)}"
    )
