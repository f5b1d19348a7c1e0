"""The rule between sources, the tier words and the badge hint, as pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.features.sub_tiers.records import (
    SubTier,
    add_month,
    merge,
    tier_label,
    tier_of,
    tier_of_badge,
)

NOW = datetime(2030, 11, 3, 12, 0, tzinfo=UTC)
MONTH = NOW + timedelta(days=30)


def seen(tier: str, source: str, at: datetime = NOW, *, prime: bool = False, until=MONTH):  # type: ignore[no-untyped-def]
    return SubTier("twitch", "42", tier, prime, source, at, until)


@pytest.mark.parametrize(
    ("word", "tier"),
    [("1000", "1"), ("2000", "2"), ("3000", "3"), ("2", "2"), ("Tier 3", "3"), (" 1000 ", "1")],
)
def test_tier_words(word: str, tier: str) -> None:
    assert tier_of(word) == tier


@pytest.mark.parametrize("word", [None, "", "prime", "4000", "1500", "0", "10000", "tier"])
def test_not_a_tier(word: str | None) -> None:
    assert tier_of(word) is None


@pytest.mark.parametrize(
    ("version", "tier"),
    [
        ("0", "1"),
        ("12", "1"),
        ("99", "1"),
        ("2000", "2"),
        ("2024", "2"),
        ("3000", "3"),
        ("3036", "3"),
    ],
)
def test_badge_versions_by_convention(version: str, tier: str) -> None:
    assert tier_of_badge(version) == tier


@pytest.mark.parametrize("version", [None, "", "abc", "-1", "4000", "9999999", "3.0", "²", "٣٠٠٠"])
def test_badge_versions_that_say_nothing(version: str | None) -> None:
    assert tier_of_badge(version) is None


def test_labels() -> None:
    assert tier_label(None) == ""
    assert tier_label(seen("1", "helix")) == "1"
    assert tier_label(seen("1", "twitch:chat.notification", prime=True)) == "prime"
    assert tier_label(seen("3", "twitch:gift")) == "3"


def test_add_month_keeps_to_the_calendar() -> None:
    assert add_month(datetime(2031, 1, 31, tzinfo=UTC)) == datetime(2031, 2, 28, tzinfo=UTC)
    assert add_month(datetime(2030, 12, 15, tzinfo=UTC)) == datetime(2031, 1, 15, tzinfo=UTC)


def test_a_badge_never_replaces_a_real_source_even_when_newer() -> None:
    real = replace(seen("1", "twitch:channel.subscribe"), since=NOW)
    assert merge(real, seen("3", "badge", NOW + timedelta(hours=1)), NOW) is None


def test_a_real_source_replaces_a_badge_even_when_older() -> None:
    hint = replace(seen("3", "badge", NOW + timedelta(hours=1)), since=NOW)
    merged = merge(hint, seen("1", "helix"), NOW + timedelta(hours=2))
    assert merged is not None
    assert (merged.tier, merged.source) == ("1", "helix")


def test_an_expired_record_is_replaced_by_anything() -> None:
    old = seen("3", "twitch:gift", NOW - timedelta(days=40), until=NOW - timedelta(days=10))
    merged = merge(old, seen("1", "badge"), NOW)
    assert merged is not None
    assert merged.source == "badge"
    assert merged.since == NOW


def test_an_expired_sighting_changes_nothing() -> None:
    assert merge(None, seen("1", "kick:new", until=NOW), NOW) is None


def test_prime_is_cleared_by_a_prime_aware_source_saying_otherwise() -> None:
    prime = replace(seen("1", "twitch:chat.notification", prime=True), since=NOW)
    paid = seen("1", "twitch:chat.notification", NOW + timedelta(minutes=1))
    merged = merge(prime, paid, NOW)
    assert merged is not None
    assert not merged.is_prime


def test_prime_stays_when_a_blind_source_repeats_the_sub_and_names_its_teller() -> None:
    prime = replace(seen("1", "twitch:chat.notification", prime=True), since=NOW)
    merged = merge(prime, seen("1", "twitch:channel.subscribe", NOW + timedelta(minutes=1)), NOW)
    assert merged is not None
    assert merged.is_prime
    assert merged.source == "twitch:chat.notification"


def test_prime_on_tier_2_is_not_prime() -> None:
    merged = merge(None, seen("2", "twitch:chat.notification", prime=True), NOW)
    assert merged is not None
    assert tier_label(merged) == "2"


def test_the_expiry_never_shortens_while_the_tier_stays() -> None:
    long = replace(seen("1", "kick:new", until=NOW + timedelta(days=60)), since=NOW)
    merged = merge(long, seen("1", "kick:renewal", NOW + timedelta(days=1)), NOW)
    assert merged is not None
    assert merged.expires_at == NOW + timedelta(days=60)
