"""Fuzz: what an admin types into a setting, a date, an amount or a rule, with whatever they can
type. Each reader returns a value of its type within its bounds, or raises its feature's refusal
(which the bot and the dashboard answer in plain words); nothing else.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.discord_bot.vip.cog import parse_rule
from core.features.overlays.alert_kinds import (
    ALERT_SECONDS,
    MAX_THRESHOLD,
    TEMPLATE_MAX,
    parse_alert_seconds,
    parse_template,
    parse_threshold,
)
from core.features.overlays.goal import MAX_TARGET, parse_target
from core.features.overlays.settings import OverlayRefused
from core.features.payments.service import ACTIONS, SettleRefused, parse_action
from core.features.points.service import MAX_AMOUNT, PointsRefused, parse_amount
from core.features.raffle.errors import RaffleRefused, WagerRefused
from core.features.raffle.periods.calendar import MAX_PERIOD_DAYS, BadDates, parse_dates
from core.features.raffle.rates import SETTINGS, parse_setting
from core.features.raffle.wagers.rules import MAX_CODES, parse_campaign_codes
from core.features.roles.service import MAX_MINUTES, RolesRefused, parse_minutes
from core.features.vip.limits import MAX_HOURS, VipRefused
from core.features.vip.rules import KINDS, VipRule, check_rule
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

typed = st.one_of(
    st.text(max_size=120),
    st.sampled_from([str(value) for value in NASTY]),
    st.from_regex(r"[-+ ]?[0-9,.]{0,30}( ?[a-z%]{0,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{4,6}-[0-9]{1,2}-[0-9]{1,2}", fullmatch=True),
)


def _in_range(low: int, high: int) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, int) and low <= value <= high


def _words(text: str) -> bool:
    return isinstance(text, str) and 0 < len(text) <= TEMPLATE_MAX and "\n" not in text


def _period(value: Any) -> bool:
    start, end = value
    days = (end - start).total_seconds() / 86400
    return start.tzinfo is not None and 0 < days <= MAX_PERIOD_DAYS + 1


def _codes(value: Any) -> bool:
    return isinstance(value, tuple) and 0 < len(value) <= MAX_CODES


def _rule(value: Any) -> bool:
    return isinstance(value, VipRule) and 1 <= value.hours <= MAX_HOURS and value.kind in KINDS


def _vip_rule(text: str) -> VipRule:
    """What ``!vip rule add`` reads, as the rule it would store (checked, not yet saved)."""
    return check_rule(1, parse_rule(text, "!"), datetime(2030, 1, 1, tzinfo=UTC))


def _dates(text: str) -> Any:
    first, _, last = text.partition(" ")
    return parse_dates(first, last, "Europe/Berlin")


numbers = st.integers(min_value=-(10**20), max_value=10**20).map(str) | st.integers(
    min_value=0, max_value=10**13
).map("{:,}".format)
date_pairs = st.tuples(st.dates(), st.dates()).map(lambda pair: f"{pair[0]} {pair[1]}")
small = st.integers(min_value=-3, max_value=10_000).map(str)
rules = st.fixed_dictionaries(
    {
        "--platform": st.sampled_from(["twitch", "kick", "Kick", "discord"]),
        "--when": st.sampled_from(["reward", "sub", "gift", "bits", "kicks", "Sub", "raid"]),
        "--hours": small,
    },
    optional={
        "--title": typed,
        "--cost": small | numbers,
        "--tier": small,
        "--at-least": small | numbers,
        "--reward-id": typed,
    },
).map(lambda options: " ".join(f"{name} {shlex.quote(value)}" for name, value in options.items()))
setting_values = typed | numbers | st.sampled_from(["on", "off", "yes", "none", "UTC", "#raffle"])

READERS: dict[str, tuple[Callable[[str], Any], type[Exception], Callable[[Any], bool], Any]] = {
    "overlay goal": (parse_target, OverlayRefused, _in_range(1, MAX_TARGET), numbers),
    "alert threshold": (parse_threshold, OverlayRefused, _in_range(1, MAX_THRESHOLD), numbers),
    "alert seconds": (parse_alert_seconds, OverlayRefused, _in_range(*ALERT_SECONDS), numbers),
    "alert words": (parse_template, OverlayRefused, _words, st.just("{who} and {amount}")),
    "points amount": (parse_amount, PointsRefused, _in_range(1, MAX_AMOUNT), numbers),
    "role minutes": (parse_minutes, RolesRefused, _in_range(1, MAX_MINUTES), numbers),
    "payment action": (parse_action, SettleRefused, ACTIONS.__contains__, st.sampled_from(ACTIONS)),
    "campaign codes": (parse_campaign_codes, WagerRefused, _codes, st.just("spring, SUMMER-1")),
    "raffle dates": (_dates, BadDates, _period, date_pairs),
    "vip rule": (_vip_rule, VipRefused, _rule, rules),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_reader_of_what_an_admin_types_gives_its_value_or_its_refusal(name: str):
    read, refusal, fits, likely = READERS[name]
    target = f"admin-settings[{name}]"

    @given(typed | likely)
    def check(text: str) -> None:
        try:
            value = read(text)
        except refusal as exc:
            said = str(exc).strip()  # the words the admin reads
            record(target, "refused" if said else "refused without words")
            assert said
            return
        except Exception:
            record(target, "error")
            raise
        assert fits(value), value
        record(target, "read")

    check()


@given(st.sampled_from(sorted(SETTINGS)) | st.text(max_size=20), setting_values)
def test_a_raffle_setting_of_any_name_and_value_is_stored_or_refused(name: str, value: str):
    try:
        column, stored = parse_setting(name, value)
    except RaffleRefused as exc:
        said = str(exc).strip()
        record("admin-settings[raffle setting]", "refused" if said else "refused without words")
        assert said
        return
    assert column in {column for column, _kind in SETTINGS.values()}
    assert stored is None or isinstance(stored, int | str | bool)
    if isinstance(stored, int) and not isinstance(stored, bool):
        assert 0 <= stored < 2**63
    if isinstance(stored, str):
        assert len(stored) <= 200
    record("admin-settings[raffle setting]", "read")
