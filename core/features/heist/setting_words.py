"""The heist's settings in a streamer's words, for Discord and chat alike: each one's label and
its value as a person reads it (a length of time in minutes or hours, not seconds). The name an
admin types for one is :func:`core.features.heist.rules.typed_name`."""

from __future__ import annotations

from core.features.heist.rules import HeistRules, setting_text
from core.features.watchtime.durations import describe_seconds

LABELS = {
    "join_window_seconds": "Time to join",
    "cooldown_seconds": "Rest between heists",
    "min_bet": "Smallest stake",
    "max_bet": "Largest stake",
    "low_chance": "Chance to win, low risk",
    "medium_chance": "Chance to win, medium risk",
    "high_chance": "Chance to win, high risk",
    "low_multiplier": "Payout, low risk",
    "medium_multiplier": "Payout, medium risk",
    "high_multiplier": "Payout, high risk",
    "default_risk": "Risk when none is said",
    "tier_prime": "Prime bonus",
    "tier_1": "Tier 1 bonus",
    "tier_2": "Tier 2 bonus",
    "tier_3": "Tier 3 bonus",
    "tier_prime_on": "Prime bonus on",
    "tier_1_on": "Tier 1 bonus on",
    "tier_2_on": "Tier 2 bonus on",
    "tier_3_on": "Tier 3 bonus on",
    "sub_bonus_on": "Subscriber bonus on",
    "channel": "Results channel",
}
_LENGTHS = {"join_window_seconds", "cooldown_seconds"}


def setting_words(rules: HeistRules, name: str) -> str:
    """Setting ``name``'s value as a person reads it: ``5 min``, ``x1.5``, ``70%``, ``on``."""
    if name in _LENGTHS:
        return describe_seconds(int(getattr(rules, name)))
    return setting_text(rules, name)
