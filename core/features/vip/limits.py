"""What temporary VIP accepts from an admin, and the refusal it answers otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from core.features.amounts import AmountNotUnderstood, parse_whole_amount
from core.features.refusals import Refused
from core.features.watchtime.durations import describe_seconds

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


def check_whole(value: str | None) -> int:
    """A whole number an admin typed in ASCII digits ("5000", "5,000" or "5_000"), or the
    refusal: no "+", no other script's digits, no "5k". A minus is kept for the range check
    that follows, which says what the range is."""
    word = str(value or "").strip()
    negative = word.startswith("-")
    try:
        amount = parse_whole_amount(word[1:] if negative else word)
        return -amount if negative else amount
    except AmountNotUnderstood as exc:
        if exc.ambiguous or exc.too_large:
            raise VipRefused(str(exc)) from None
        raise VipRefused(
            f"{word[:20]!r} is not a whole number. Give a whole number like 500."
        ) from None


def check_cost(cost: int) -> int:
    if not 1 <= cost <= MAX_COST:
        raise VipRefused(f"A cost goes from 1 to {MAX_COST:,} points.")
    return cost


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not 1 <= len(title) <= MAX_REWARD_TITLE:
        raise VipRefused(f"A reward title has 1 to {MAX_REWARD_TITLE} characters.")
    return title


# --- the reward's limits on Twitch (Helix's Create/Update Custom Reward fields) ------------------

MAX_REWARD_PROMPT = 200
MAX_COOLDOWN_SECONDS = 7 * 24 * 3600  # Helix's 604,800
MAX_REDEMPTIONS = 1_000_000  # ours: a count past this is a typo, not a limit
DEFAULT_PROMPT = "Temporary VIP, granted and removed by StreamKeeper."


@dataclass(frozen=True)
class RewardLimits:
    """What viewers read when redeeming, and how often they may. None: no such limit."""

    prompt: str = DEFAULT_PROMPT
    max_per_stream: int | None = None
    max_per_user_per_stream: int | None = None
    cooldown_seconds: int | None = None


def check_limits(limits: RewardLimits) -> RewardLimits:
    """``limits`` with the prompt's spaces tidied, or the refusal for the first bad one."""
    prompt = limits.prompt.strip()
    if len(prompt) > MAX_REWARD_PROMPT:
        raise VipRefused(
            f"The prompt has at most {MAX_REWARD_PROMPT} characters (this one has {len(prompt)})."
        )
    for count, what in (
        (limits.max_per_stream, "Redemptions per stream"),
        (limits.max_per_user_per_stream, "Redemptions per viewer per stream"),
    ):
        if count is not None and not 1 <= count <= MAX_REDEMPTIONS:
            raise VipRefused(
                f"{what} go from 1 to {MAX_REDEMPTIONS:,} redemptions "
                "(leave it empty for no limit)."
            )
    cooldown = limits.cooldown_seconds
    if cooldown is not None and not 1 <= cooldown <= MAX_COOLDOWN_SECONDS:
        raise VipRefused(
            f"The cooldown goes from 1 second to {MAX_COOLDOWN_SECONDS:,} seconds (7 days); "
            "leave it empty for none."
        )
    return RewardLimits(
        prompt, limits.max_per_stream, limits.max_per_user_per_stream, limits.cooldown_seconds
    )


def describe_limits(limits: RewardLimits) -> str:
    """The limits in a streamer's words: "at most 3 per stream, 1 per viewer, 5 min apart"."""
    parts = []
    if limits.max_per_stream is not None:
        parts.append(f"at most {limits.max_per_stream:,} per stream")
    if limits.max_per_user_per_stream is not None:
        parts.append(f"{limits.max_per_user_per_stream:,} per viewer per stream")
    if limits.cooldown_seconds is not None:
        parts.append(f"{describe_seconds(limits.cooldown_seconds)} apart")
    return ", ".join(parts) if parts else "no limits"


class KeptLimits(Protocol):
    """Where the reward's limits are kept (``repository.VipSettings``), named here without
    importing the repository (which imports the ports, which import this module)."""

    @property
    def reward_prompt(self) -> str | None: ...
    @property
    def reward_max_per_stream(self) -> int | None: ...
    @property
    def reward_max_per_user_per_stream(self) -> int | None: ...
    @property
    def reward_cooldown_seconds(self) -> int | None: ...


def limits_of(settings: KeptLimits) -> RewardLimits:
    """The reward's limits as last sent to Twitch."""
    return RewardLimits(
        settings.reward_prompt if settings.reward_prompt is not None else DEFAULT_PROMPT,
        settings.reward_max_per_stream,
        settings.reward_max_per_user_per_stream,
        settings.reward_cooldown_seconds,
    )


def limit_columns(limits: RewardLimits) -> dict[str, Any]:
    """The vip_settings columns that keep ``limits``."""
    return {
        "reward_prompt": limits.prompt,
        "reward_max_per_stream": limits.max_per_stream,
        "reward_max_per_user_per_stream": limits.max_per_user_per_stream,
        "reward_cooldown_seconds": limits.cooldown_seconds,
    }
