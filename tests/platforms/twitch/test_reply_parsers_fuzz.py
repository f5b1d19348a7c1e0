"""Hypothesis over the Helix and OAuth reply parsers: any JSON (shaped like Helix's, or not) is
read without raising, and whatever comes out is bounded."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from core.platforms.lenient import COUNT_MAX, ITEMS_MAX, NAME_MAX, as_id
from core.platforms.twitch import helix_models as models
from core.platforms.twitch.helix_transport import HelixError, RateLimited, _error
from core.platforms.twitch.oauth_client import (
    MAX_EXPIRES_IN_SECONDS,
    lifetime,
    parse_token_set,
    parse_validation,
)
from tests.platforms.bounded import assert_within

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
FIELDS = [
    "data", "pagination", "cursor", "id", "login", "display_name", "user_id", "user_login",
    "user_name", "title", "cost", "prompt", "status", "reward", "tier", "is_gift", "gifter_id",
    "message_id", "is_sent", "drop_reason", "code", "message", "type", "version", "condition",
    "transport", "method", "callback", "session_id", "created_at", "redeemed_at", "total",
    "total_cost", "max_total_cost", "max_per_stream_setting", "is_enabled", "max_per_stream",
    "global_cooldown_setting", "global_cooldown_seconds", "access_token", "refresh_token",
    "expires_in", "scope", "scopes", "client_id", "token_type", "error",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3000),
    st.sampled_from(["2016-12-14T20:32:28Z", "2019-11-16T10:11:12.634234626Z", "1000", "9" * 30]),
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=10))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(keys, inner, max_size=8)),
    max_leaves=40,
)
replies = st.one_of(json_values, st.fixed_dictionaries({"data": st.lists(json_values, max_size=5)}))
PARSERS = [
    models.parse_user,
    models.parse_vip,
    models.parse_reward,
    models.parse_redemption,
    models.parse_subscription,
    models.parse_eventsub,
]


def assert_bounded(value: Any) -> None:
    assert_within(value, text_max=models.MAX_URL, low=0, high=COUNT_MAX)


@settings(max_examples=200, deadline=None)
@given(replies)
def test_helix_item_parsers_never_raise_and_stay_bounded(body: Any) -> None:
    for parse in PARSERS:
        parsed = models.parse_items(body, parse)
        assert len(parsed) <= ITEMS_MAX
        for item in parsed:
            assert_bounded(item)
            assert item.id if hasattr(item, "id") else item.user_id
    assert_bounded(models.parse_chat_result(body))
    assert_bounded(models.parse_eventsub_totals(body))
    cursor = models.next_cursor(body)
    assert cursor is None or (cursor.strip() and len(cursor) <= models.MAX_URL)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset", "X"]),
        st.text(max_size=40),
    )
)
def test_rate_limit_headers_never_raise(headers: dict[str, str]) -> None:
    limit = models.parse_rate_limit(headers)

    assert_bounded(limit.limit)
    assert_bounded(limit.remaining)
    assert limit.reset_at is None or limit.reset_at.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_oauth_replies_never_raise_and_lifetimes_are_bounded(body: Any) -> None:
    tokens = parse_token_set(body, now=NOW)
    validation = parse_validation(body, now=NOW)

    for parsed in (tokens, validation):
        if parsed is not None:
            assert NOW <= parsed.expires_at <= NOW + timedelta(seconds=MAX_EXPIRES_IN_SECONDS)
            assert len(parsed.scopes) <= 100
            assert all(len(scope) <= 100 for scope in parsed.scopes)
    if tokens is not None:
        assert "***" in repr(tokens)
        # The secrets leave no trace: the repr is the same whatever the tokens are (a token like
        # "0" may well stand in the expiry's digits, so "not in repr" would prove nothing).
        other = dataclasses.replace(
            tokens,
            access_token=tokens.access_token + "-other",
            refresh_token=None if tokens.refresh_token is None else tokens.refresh_token + "-x",
        )
        assert repr(other) == repr(tokens)


validate_fields = st.one_of(
    scalars,
    st.sampled_from(["\x00", "a\x00b", "\ud800", " ", "5" * 64, "5" * 65, "x y", "é"]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"client_id": st.one_of(st.just("an-app"), scalars)},
        optional={"user_id": validate_fields, "login": validate_fields, "scopes": json_values},
    )
)
def test_a_validate_reply_is_no_answer_or_a_viewer_that_can_be_stored(body: Any) -> None:
    validation = parse_validation(body, now=NOW)

    if validation is None:
        return
    if validation.user_id is not None:
        assert as_id(validation.user_id) == validation.user_id  # 1..64 printable ASCII
        assert as_id(body["user_id"]) == validation.user_id
    assert_within((validation.user_id, validation.login), text_max=NAME_MAX, storable=True)
    assert validation.login is None or validation.login


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_lifetime_is_a_finite_number_of_seconds_within_a_year(expires_in: Any) -> None:
    seconds = lifetime(expires_in)

    assert math.isfinite(seconds)
    assert 0 <= seconds <= MAX_EXPIRES_IN_SECONDS


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=400, max_value=599), json_values, st.text(min_size=8, max_size=40))
def test_any_error_reply_becomes_a_typed_error_without_the_token(
    status: int, body: Any, token: str
) -> None:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        body["message"] += f" {token}"
    request = httpx.Request("GET", "https://api.twitch.tv/helix/users")
    content = json.dumps(body).encode()  # NaN and Infinity too, as a broken server might send
    headers = {"Content-Type": "application/json"}
    response = httpx.Response(status, content=content, headers=headers, request=request)

    error = _error(response, token, None)

    assert isinstance(error, HelixError)
    assert error.status == status
    assert isinstance(error, RateLimited) == (status == 429)
    assert len(error.message) <= 300
    assert token not in str(error)
