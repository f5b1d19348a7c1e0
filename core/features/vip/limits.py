"""What temporary VIP accepts from an admin, and the refusal it answers otherwise."""

from __future__ import annotations

from core.features.refusals import Refused

MAX_REWARD_TITLE = 45
MAX_COST = 10_000_000
MAX_HOURS = 24 * 365
MAX_CONCURRENT = 100


class VipRefused(Refused):
    pass


def check_hours(hours: int) -> int:
    if not 1 <= hours <= MAX_HOURS:
        raise VipRefused(f"Hours go from 1 to {MAX_HOURS}.")
    return hours


def check_cost(cost: int) -> int:
    if not 1 <= cost <= MAX_COST:
        raise VipRefused(f"A cost goes from 1 to {MAX_COST:,} points.")
    return cost


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not 1 <= len(title) <= MAX_REWARD_TITLE:
        raise VipRefused(f"A reward title has 1 to {MAX_REWARD_TITLE} characters.")
    return title
