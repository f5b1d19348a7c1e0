"""Hypothesis over the Kick REST API's reply parsers: any JSON (shaped like Kick's, or not) is
read without raising, and whatever comes out is bounded and storable."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.platforms.kick import api_models as models
from core.platforms.kick.webhook_keys import MAX_KEY_BITS, MIN_KEY_BITS, checked_public_key
from core.platforms.lenient import ID_MAX, ITEMS_MAX, TEXT_MAX
from tests.conftest import FIXTURES
from tests.platforms.bounded import assert_within

FIELDS = [
    "data", "items", "livestreams", "redemptions", "pagination", "next_cursor", "user_id",
    "name", "email", "profile_picture", "broadcaster_user_id", "slug", "channel_description",
    "banner_picture", "stream_title", "category", "id", "thumbnail", "stream", "is_live",
    "is_mature", "language", "start_time", "viewer_count", "custom_tags", "url", "key",
    "active_subscribers_count", "channel_id", "started_at", "has_mature_content", "version",
    "subscription_id", "error", "event", "method", "title", "cost", "description",
    "background_color", "is_enabled", "reward", "redeemer", "status", "user_input",
    "redeemed_at", "failed", "reason",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3000),
    st.sampled_from(["2025-01-14T16:08:06Z", "\ud800", "\x00", "9" * 30, "1e308", " "]),
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=10))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(keys, inner, max_size=8)),
    max_leaves=40,
)
ids = st.one_of(st.integers(min_value=-5, max_value=2**64), st.text(max_size=80), scalars)
# Items that carry the ids the parsers look for, so most of them parse into something.
plausible = st.fixed_dictionaries(
    {"user_id": ids, "broadcaster_user_id": ids, "id": ids, "name": scalars},
    optional={
        f: json_values for f in FIELDS if f not in ("user_id", "broadcaster_user_id", "id", "name")
    },
)
replies = st.one_of(
    json_values,
    st.fixed_dictionaries({"data": st.lists(json_values | plausible, max_size=5)}),
    st.fixed_dictionaries({"data": st.fixed_dictionaries({"redemptions": json_values})}),
)
ITEM_PARSERS = [
    models.parse_user,
    models.parse_channel,
    models.parse_livestream,
    models.parse_subscription_result,
    models.parse_subscription,
    models.parse_reward,
]


def assert_storable(value: Any) -> None:
    assert_within(value, storable=True)


@settings(max_examples=200, deadline=None)
@given(replies)
def test_kick_reply_parsers_never_raise_and_stay_storable(body: Any) -> None:
    for parse in ITEM_PARSERS:
        parsed = models.parse_list(models.page_items(body), parse)
        assert len(parsed) <= ITEMS_MAX
        for item in parsed:
            assert_storable(item)
    for group in (body, models.reply_data(body)):
        for redemption in models.parse_redemption_group(group):
            assert_storable(redemption)
            assert 0 < len(redemption.id) <= ID_MAX
    assert_storable(models.parse_redemption_update(body))
    cursor = models.next_cursor(body)
    assert cursor is None or (cursor.strip() and len(cursor) <= TEXT_MAX)


PUBLISHED_KEY = (FIXTURES / "kick" / "kick-public-key.pem").read_text()
key_replies = st.one_of(
    replies,
    st.fixed_dictionaries(
        {"data": st.fixed_dictionaries({"public_key": json_values | st.just(PUBLISHED_KEY)})}
    ),
    st.builds(  # Kick's key with a few characters changed
        lambda at, junk: {"data": {"public_key": PUBLISHED_KEY[:at] + junk + PUBLISHED_KEY[at:]}},
        st.integers(min_value=0, max_value=len(PUBLISHED_KEY)),
        st.text(max_size=6),
    ),
)


@settings(max_examples=300, deadline=None)
@given(key_replies)
def test_a_public_key_reply_is_a_checked_key_or_refused(body: Any) -> None:
    text = models.parse_public_key(body, 16_384)
    if text is None:
        return
    assert len(text) <= 16_384
    try:
        pem, key = checked_public_key(text)
    except ValueError:
        return  # the job keeps the last good key
    assert MIN_KEY_BITS <= key.key_size <= MAX_KEY_BITS
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
