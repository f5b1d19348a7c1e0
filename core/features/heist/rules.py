"""The heist's rules as plain values: a guild's settings, what ``!join`` means, the odds, the
tier bonus and the payout. No database, no clock: the service feeds them."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core.features.amounts import AmountNotUnderstood, parse_whole_amount
from core.features.heist.ports import SubTier
from core.features.refusals import Refused

RISKS = ("low", "medium", "high")
TIERS = ("prime", "1", "2", "3")
MAX_STAKE = 1_000_000_000
AMOUNT_DIGITS = 10  # more is never a stake (MAX_STAKE has 10)

Risk = Literal["low", "medium", "high"]


class HeistRefused(Refused):
    """A heist request cannot be done as asked; the message is for the viewer or admin."""


@dataclass(frozen=True)
class HeistRules:
    """A guild's heist settings. Multipliers are in hundredths (150 is x1.5), chances in
    percent; a tier bonus that is off counts as x1, and so does every tier while the whole
    subscriber bonus (``sub_bonus_on``) is off."""

    join_window_seconds: int = 120
    cooldown_seconds: int = 300
    min_bet: int = 10
    max_bet: int = 10_000
    low_chance: int = 70
    low_multiplier: int = 150
    medium_chance: int = 50
    medium_multiplier: int = 220
    high_chance: int = 30
    high_multiplier: int = 350
    default_risk: str = "medium"
    tier_prime: int = 115
    tier_1: int = 120
    tier_2: int = 130
    tier_3: int = 150
    tier_prime_on: bool = True
    tier_1_on: bool = True
    tier_2_on: bool = True
    tier_3_on: bool = True
    sub_bonus_on: bool = True  # the one switch over the four tiers' bonuses
    channel_id: int | None = None  # the Discord channel for results

    def chance(self, risk: str) -> int:
        return int(getattr(self, f"{risk}_chance"))

    def multiplier(self, risk: str) -> int:
        return int(getattr(self, f"{risk}_multiplier"))

    def tier_multiplier(self, tier: str | None) -> int:
        """The bonus of ``tier`` (prime, 1, 2, 3 or None) in hundredths: 100 when none or off
        (that tier's switch, or the whole subscriber bonus)."""
        if tier not in TIERS or not self.sub_bonus_on:
            return 100
        name = f"tier_{tier}"
        return int(getattr(self, name)) if getattr(self, f"{name}_on") else 100


# name -> (kind, lowest, highest). Multipliers are typed as decimals (1.5) and kept in hundredths.
SETTINGS: dict[str, tuple[str, int, int]] = {
    "join_window_seconds": ("int", 10, 3600),
    "cooldown_seconds": ("int", 0, 86_400),
    "min_bet": ("int", 1, MAX_STAKE),
    "max_bet": ("int", 1, MAX_STAKE),
    "low_chance": ("percent", 1, 99),
    "medium_chance": ("percent", 1, 99),
    "high_chance": ("percent", 1, 99),
    "low_multiplier": ("multiplier", 101, 10_000),
    "medium_multiplier": ("multiplier", 101, 10_000),
    "high_multiplier": ("multiplier", 101, 10_000),
    "default_risk": ("risk", 0, 0),
    "tier_prime": ("multiplier", 100, 1000),
    "tier_1": ("multiplier", 100, 1000),
    "tier_2": ("multiplier", 100, 1000),
    "tier_3": ("multiplier", 100, 1000),
    "tier_prime_on": ("switch", 0, 0),
    "tier_1_on": ("switch", 0, 0),
    "tier_2_on": ("switch", 0, 0),
    "tier_3_on": ("switch", 0, 0),
    "sub_bonus_on": ("switch", 0, 0),
    "channel": ("channel", 0, 0),
}
ALIASES = {
    "window": "join_window_seconds",
    "cooldown": "cooldown_seconds",
    "min": "min_bet",
    "max": "max_bet",
    "risk": "default_risk",
    "channel_id": "channel",
    "sub_bonus": "sub_bonus_on",
}
# Lengths of time are typed in seconds (300) or as !heist settings shows them (5 min, 1 h 30 min).
LENGTHS = ("join_window_seconds", "cooldown_seconds")
_UNITS = {
    unit: seconds
    for seconds, units in (
        (1, "s sec secs second seconds"),
        (60, "m min mins minute minutes"),
        (3600, "h hr hrs hour hours"),
        (86_400, "d day days"),
    )
    for unit in units.split()
}
_LENGTH = re.compile(r"(?:\s*\d{1,5}\s*[a-z]{1,7})+\s*", re.ASCII)
_SWITCH = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


def typed_name(name: str) -> str:
    """What an admin types for setting ``name``: the shortest of its name and aliases."""
    aliases = (alias for alias, target in ALIASES.items() if target == name)
    return min((name, *aliases), key=len)


def setting_name(raw: str) -> str:
    name = raw.strip().lower().replace("-", "_")
    name = ALIASES.get(name, name)
    if name not in SETTINGS:
        typed = ", ".join(typed_name(setting) for setting in SETTINGS)
        raise HeistRefused(f"There is no heist setting {raw[:32]!r}. Settings: {typed}.")
    return name


def parse_setting(name: str, raw: str) -> str:
    """The stored text of ``raw`` for setting ``name``; raises HeistRefused with the reason."""
    kind, lowest, highest = SETTINGS[name]
    text = raw.strip().lower()
    if kind == "switch":
        if text not in _SWITCH:
            raise HeistRefused(f"{name} is on or off.")
        return "on" if _SWITCH[text] else "off"
    if kind == "risk":
        if text not in RISKS:
            raise HeistRefused(f"{name} is one of {', '.join(RISKS)}.")
        return text
    if kind == "channel":
        found = re.fullmatch(r"<#(\d{1,20})>|(\d{1,20})|none|off", text, re.ASCII)
        if found is None:
            raise HeistRefused("channel is a channel (#heists), its id, or none.")
        number = found.group(1) or found.group(2)
        return number or "none"
    if kind == "multiplier":
        found = re.fullmatch(r"x?(\d{1,3})(?:\.(\d{1,2}))?", text, re.ASCII)
        if found is None:
            raise HeistRefused(f"{name} is a multiplier like 1.5 (two decimals at most).")
        value = int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))
        if not lowest <= value <= highest:
            raise HeistRefused(f"{name} is from {lowest / 100:g} to {highest / 100:g}.")
        return str(value)
    words = f"{name} is a whole number from {lowest:,} to {highest:,}."
    if name in LENGTHS:
        words = words.removesuffix(".") + " (seconds), or a length like 5 min."
    try:  # as a stake is typed: 50000, 50,000 or 50_000 (and 70% for a chance)
        number = text.removesuffix("%") if kind == "percent" else text
        value = parse_whole_amount(number, max_digits=AMOUNT_DIGITS)
    except AmountNotUnderstood as exc:
        value = length_seconds(text) if name in LENGTHS else None
        if value is None:
            raise HeistRefused(f"{name}: {exc}" if exc.ambiguous else words) from None
    if not lowest <= value <= highest:
        raise HeistRefused(words)
    return str(value)


def length_seconds(text: str) -> int | None:
    """The seconds of a length typed with units (``5 min``, ``1 h 30 min``, ``1h30m``, ``90 s``,
    ``2 days``); None when ``text`` is not one."""
    if _LENGTH.fullmatch(text) is None:
        return None
    total = 0
    for number, unit in re.findall(r"(\d+)\s*([a-z]+)", text, re.ASCII):
        if unit not in _UNITS:
            return None
        total += int(number) * _UNITS[unit]
    return total


def rules_from(stored: dict[str, str], defaults: HeistRules) -> HeistRules:
    """``defaults`` with a guild's stored settings on top (unknown or broken ones ignored)."""
    changes: dict[str, object] = {}
    for name, value in stored.items():
        kind = SETTINGS.get(name, ("", 0, 0))[0]
        if kind == "switch":
            changes[name] = value == "on"
        elif kind == "risk" and value in RISKS:
            changes[name] = value
        elif kind == "channel":
            changes["channel_id"] = int(value) if value.isdigit() else None
        elif kind in ("int", "percent", "multiplier") and value.isdigit():
            changes[name] = int(value)
    return dataclasses.replace(defaults, **changes)  # type: ignore[arg-type]


def checked_settings(
    stored: dict[str, str], typed: dict[str, str], defaults: HeistRules
) -> tuple[dict[str, str], dict[str, str]]:
    """The stored text of each setting ``typed`` changes (by name or alias), checked together
    with the ``stored`` ones, and each refused setting's reason. min_bet is never above max_bet
    once all are saved: when it would be, the stake limits typed are refused, the rest not."""
    values: dict[str, str] = {}
    refused: dict[str, str] = {}
    for raw_name, raw_value in typed.items():
        try:
            name = setting_name(raw_name)
            values[name] = parse_setting(name, raw_value)
        except HeistRefused as refusal:
            refused[raw_name] = str(refusal)
    rules = rules_from({**stored, **values}, defaults)
    if rules.min_bet > rules.max_bet:
        crossed = f"min_bet ({rules.min_bet:,}) cannot be above max_bet ({rules.max_bet:,})."
        for name in ("min_bet", "max_bet"):
            if values.pop(name, None) is not None:
                refused[name] = crossed
    return values, refused


def setting_text(rules: HeistRules, name: str) -> str:
    """How a setting reads in a listing."""
    kind = SETTINGS[name][0]
    if kind == "channel":
        return f"<#{rules.channel_id}>" if rules.channel_id else "none"
    value = getattr(rules, name)
    if kind == "switch":
        return "on" if value else "off"
    if kind == "multiplier":
        return f"x{value / 100:g}"
    if kind == "percent":
        return f"{value}%"
    return str(value)


# --- !join / !heist arguments -------------------------------------------------------------


@dataclass(frozen=True)
class JoinRequest:
    """What a viewer asked for: a number of points, ``all`` or ``half``, and a risk (None: the
    guild's default)."""

    amount: int | None
    portion: Literal["all", "half"] | None
    risk: Risk | None


USAGE = "Usage: !join <amount|all|half> [low|medium|high]"


def parse_join(arguments: str) -> JoinRequest:
    """``200 low``, ``low 200``, ``all``, ``half high``, ``1,000``; HeistRefused otherwise."""
    words = arguments.lower().split()
    if not words:
        raise HeistRefused(USAGE)
    if len(words) > 2:
        raise HeistRefused(USAGE)
    risk: Risk | None = None
    amount: int | None = None
    portion: Literal["all", "half"] | None = None
    for word in words:
        if word in RISKS:
            if risk is not None:
                raise HeistRefused(USAGE)
            risk = word  # type: ignore[assignment]
            continue
        if amount is not None or portion is not None:
            raise HeistRefused(USAGE)
        if word in ("all", "half"):
            portion = word  # type: ignore[assignment]
            continue
        try:
            amount = parse_whole_amount(word, max_digits=AMOUNT_DIGITS)
        except AmountNotUnderstood as exc:
            if exc.too_large:
                raise HeistRefused(f"A stake is at most {MAX_STAKE:,}.") from None
            raise HeistRefused(str(exc) if exc.ambiguous else USAGE) from None
        if amount <= 0:
            raise HeistRefused("A stake is a whole number above 0.")
    if amount is None and portion is None:
        raise HeistRefused(USAGE)
    return JoinRequest(amount, portion, risk)


def stake_for(request: JoinRequest, balance: int, rules: HeistRules) -> int:
    """The stake ``request`` means with this balance: ``all``/``half`` are capped at the max
    bet; a number is taken as typed (the checks come after)."""
    if request.amount is not None:
        return request.amount
    whole = balance if request.portion == "all" else balance // 2
    return min(whole, rules.max_bet)


# --- payouts -------------------------------------------------------------------------------


def checked_stake(request: JoinRequest, balance: int, rules: HeistRules, currency: str) -> int:
    """The stake a join asks for, within the guild's smallest and largest; HeistRefused
    with words for chat otherwise."""
    stake = stake_for(request, balance, rules)
    if request.portion is not None and balance <= 0:
        raise HeistRefused(f"You have no {currency} to stake yet.")
    if stake < rules.min_bet:
        if request.portion == "half" and balance >= rules.min_bet:  # enough for a smaller stake
            raise HeistRefused(
                f"Half of your {balance:,} {currency} is {stake:,}; the smallest stake is "
                f"{rules.min_bet:,}."
            )
        if request.portion is not None:
            raise HeistRefused(
                f"You have only {balance:,} {currency}; the smallest stake is {rules.min_bet:,}."
            )
        raise HeistRefused(f"The smallest stake is {rules.min_bet:,} {currency}.")
    if stake > rules.max_bet:
        raise HeistRefused(f"The largest stake is {rules.max_bet:,} {currency}.")
    return stake


def payout(stake: int, risk_multiplier_x100: int, tier_multiplier_x100: int) -> int:
    """``stake x risk x tier``, rounded down to a whole point (the multipliers in hundredths,
    so no float rounding creeps in)."""
    return stake * risk_multiplier_x100 * tier_multiplier_x100 // 10_000


def tier_bonus_text(tier: str, tier_multiplier_x100: int) -> str:
    """A tier and its bonus as the StreamElements heist widget shows them: "Tier 3 - 1.5x
    rewards", "Prime - 1.15x rewards"."""
    name = "Prime" if tier == "prime" else f"Tier {tier}"
    return f"{name} - {tier_multiplier_x100 / 100:g}x rewards"


def current_tier(sub: SubTier | None, now: datetime) -> str | None:
    """The tier (prime, 1, 2, 3) a known, unexpired subscription gives a bonus by; else None."""
    if sub is None or (sub.expires_at is not None and sub.expires_at <= now):
        return None
    return tier_of(sub.tier, sub.is_prime)


def tier_of(tier: str, is_prime: bool) -> str:
    """The tier a bonus is chosen by: prime only when a source said so, else 1, 2 or 3."""
    if is_prime:
        return "prime"
    tier = {"1000": "1", "2000": "2", "3000": "3"}.get(tier, tier)
    return tier if tier in ("1", "2", "3") else "1"
