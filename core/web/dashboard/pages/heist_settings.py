"""The heist's settings in a streamer's words (issue 27, item 4): grouped as a streamer thinks of
them, each with a label, a help line and its unit, and one Save per group. Each field is the
setting ``!heistset`` changes; a group is saved with ``HeistService.set_settings``, its fields
checked together (both stake limits raised at once); a refused one is shown by its
field and the group's other fields are still saved."""

from __future__ import annotations

from dataclasses import dataclass

from core.features.heist.rules import SETTINGS, setting_text


@dataclass(frozen=True)
class Field:
    name: str  # the !heistset setting
    label: str
    help: str = ""
    unit: str = ""  # shown after the field: "seconds", "%", "x the stake"


@dataclass(frozen=True)
class Group:
    slug: str
    title: str
    fields: tuple[Field, ...]


GROUPS = (
    Group(
        "crew",
        "Joining a heist",
        (
            Field(
                "join_window_seconds",
                "Time to join",
                "How long viewers have to join after the first !join opens a heist.",
                "seconds",
            ),
            Field(
                "cooldown_seconds",
                "Rest between heists",
                "How long after a heist ends before the next one can open.",
                "seconds",
            ),
            Field("min_bet", "Smallest stake", "The fewest points a viewer can bet.", "points"),
            Field("max_bet", "Largest stake", "The most points a viewer can bet.", "points"),
            Field(
                "default_risk",
                "Risk when none is said",
                "What !join 200 means without low, medium or high.",
            ),
        ),
    ),
    Group(
        "odds",
        "Chance to come back",
        (
            Field(
                "low_chance", "Low risk", "Out of 100 viewers who take low risk, how many win.", "%"
            ),
            Field("medium_chance", "Medium risk", unit="%"),
            Field("high_chance", "High risk", unit="%"),
        ),
    ),
    Group(
        "payouts",
        "What a win pays",
        (
            Field(
                "low_multiplier",
                "Low risk",
                "A winner gets the stake times this (1.5: 200 becomes 300).",
                "x the stake",
            ),
            Field("medium_multiplier", "Medium risk", unit="x the stake"),
            Field("high_multiplier", "High risk", unit="x the stake"),
        ),
    ),
    Group(
        "bonus",
        "Subscriber bonus",
        (
            Field(
                "sub_bonus_on",
                "Subscribers get a bonus",
                "Off: every subscriber is paid as a viewer, whatever their tier.",
            ),
            Field(
                "tier_prime",
                "Prime",
                "A winning Prime subscriber's payout is multiplied by this.",
                "x the payout",
            ),
            Field("tier_prime_on", "Prime bonus on"),
            Field("tier_1", "Tier 1", unit="x the payout"),
            Field("tier_1_on", "Tier 1 bonus on"),
            Field("tier_2", "Tier 2", unit="x the payout"),
            Field("tier_2_on", "Tier 2 bonus on"),
            Field("tier_3", "Tier 3", unit="x the payout"),
            Field("tier_3_on", "Tier 3 bonus on"),
        ),
    ),
    Group(
        "results",
        "Where results are posted",
        (
            Field(
                "channel", "Discord channel", "Each heist's crew and payouts, posted when it ends."
            ),
        ),
    ),
)
BY_SLUG = {group.slug: group for group in GROUPS}


def kind_of(name: str) -> str:
    return SETTINGS[name][0]


def field_value(rules, name: str) -> str:  # type: ignore[no-untyped-def]
    """A setting as its field shows it: 1.5 (not x1.5), 70 (not 70%), a channel as its id."""
    text = setting_text(rules, name)
    kind = kind_of(name)
    if kind == "channel":
        return "" if text == "none" else text.removeprefix("<#").removesuffix(">")
    if kind == "multiplier":
        return text.removeprefix("x")
    return text.removesuffix("%")
