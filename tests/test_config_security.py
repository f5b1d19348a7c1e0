"""Settings that guard against forgery and replay are refused at start when they would not."""

from __future__ import annotations

import pytest

from core.bus.replay import DELIVERY_TTL_SECONDS
from core.config import SettingsError, load_settings
from core.settings_guards import KICK_MAX_AGE_MAX

MAX_AGE = "KICK_WEBHOOK_MAX_AGE_SECONDS"
HOW_TO = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


@pytest.mark.parametrize("value", ["-1", "1", "59", "86401", "1000000000"])
def test_a_kick_age_window_that_would_let_an_old_delivery_be_replayed_is_refused(value):
    """Message ids are remembered for a day: a window past that accepts a signed delivery
    captured earlier once its id is forgotten (and one under a minute, or below 0, is no window
    an operator means)."""
    with pytest.raises(SettingsError) as raised:
        load_settings({MAX_AGE: value}, env_file=None)
    assert raised.value.problems == [
        f"{MAX_AGE} must be from 60 to 86400 seconds (a webhook's message id is remembered for "
        f"a day), or 0 to turn the age check off; got {value}"
    ]


@pytest.mark.parametrize("value", ["0", "60", "600", "86400"])
def test_a_kick_age_window_within_a_day_is_taken(value):
    assert load_settings({MAX_AGE: value}, env_file=None).kick.webhook_max_age_seconds == int(value)


def test_the_kick_age_ceiling_is_no_longer_than_message_ids_are_remembered():
    assert DELIVERY_TTL_SECONDS >= KICK_MAX_AGE_MAX == 86400


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("k", "got 1 character"),
        ("hunter2!", "got 8 characters"),
        ("x" * 31, "got 31 characters"),
        ("ab" * 20, "got 40 characters, only 2 different ones"),
    ],
)
def test_a_flask_secret_key_anyone_could_guess_is_refused_with_how_to_make_one(key, why):
    with pytest.raises(SettingsError) as raised:
        load_settings({"FLASK_SECRET_KEY": key}, env_file=None)
    assert raised.value.problems == [
        f"FLASK_SECRET_KEY must be at least 32 random characters ({why}); {HOW_TO}"
    ]
    assert len(key) == 1 or key not in str(raised.value)  # the key is never echoed


@pytest.mark.parametrize(
    "key",
    [
        "yf6_-JhLdoKrsSiN8ZyMtvwfDkjwUaGKNi-j0eSA2zA",  # secrets.token_urlsafe(32)
        "2508ac1a971ebb8e328dab6421746e9b",  # secrets.token_hex(16)
        "correct-horse-battery-staple-2026!",
    ],
)
def test_a_long_random_flask_secret_key_is_taken(key):
    assert load_settings({"FLASK_SECRET_KEY": key}, env_file=None).web.flask_secret_key == key


def test_without_a_flask_secret_key_the_settings_still_load():
    """A first start with no settings at all: the key is generated later (on SQLite)."""
    assert load_settings({}, env_file=None).web.flask_secret_key is None
