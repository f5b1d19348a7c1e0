"""Fuzz: what Twitch's Helix API and OAuth server answer our clients (core/platforms/twitch/
helix.py, helix_models.py, helix_transport.py with its ``Ratelimit-*`` headers, the EventSub
subscription create and list replies eventsub_subscribe.py reads, and oauth_client.py's token and
validate replies, read by core/platforms/oauth.py). Each call gets any body: the real replies in
tests/fixtures/twitch/helix and oauth (the reward, redemption and EventSub replies, of which no
capture exists, as twitch.md gives them) with fields removed, retyped or replaced, arbitrary
JSON, JSON Python reads but JSON forbids, and bytes; and any rate-limit headers.

Properties: a call gives its models, every string bounded and every id one the id columns hold,
or raises :class:`HelixError` / :class:`TwitchOAuthError`, never another exception (a next page's
request included), with a short message free of the token. A token Twitch hands us can be sent
in a header and stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.platforms.lenient import NAME_MAX, as_id
from core.platforms.tokens import MAX_SCOPES
from core.platforms.twitch.helix import (
    BroadcasterSubscription,
    ChatMessageResult,
    CustomReward,
    EventSubList,
    EventSubSubscription,
    HelixClient,
    HelixError,
    Redemption,
    TwitchUser,
    Vip,
)
from core.platforms.twitch.helix_models import MAX_URL
from core.platforms.twitch.oauth_client import TwitchOAuthClient, TwitchOAuthError
from tests.conftest import FIXTURES
from tests.fuzz.conftest import record
from tests.fuzz.replies import (
    REFUSED,
    FuzzedClient,
    any_bodies,
    assert_usable,
    assert_words,
    body_of,
    edits_of,
    no_sleep,
)
from tests.fuzz.strategies import header_text
from tests.platforms.bounded import assert_within

TOKEN = "twitch-user-token-7c3b1a"
SECRET = "twitch-client-secret-2e5f"
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def fixture(folder: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "twitch" / folder / f"{name}.json").read_text())


REWARD = {
    "broadcaster_id": "141981764",
    "broadcaster_login": "twitchdev",
    "broadcaster_name": "TwitchDev",
    "id": "92af127c-7326-4483-a52b-b0da0be61c01",
    "title": "VIP for a day",
    "prompt": "",
    "cost": 50000,
    "image": None,
    "default_image": {"url_1x": "https://static-cdn.jtvnw.net/custom-reward-images/default-1.png"},
    "background_color": "#9147FF",
    "is_enabled": True,
    "is_user_input_required": False,
    "max_per_stream_setting": {"is_enabled": False, "max_per_stream": 0},
    "max_per_user_per_stream_setting": {"is_enabled": True, "max_per_user_per_stream": 1},
    "global_cooldown_setting": {"is_enabled": False, "global_cooldown_seconds": 0},
    "is_paused": False,
    "is_in_stock": True,
    "should_redemptions_skip_request_queue": False,
    "redemptions_redeemed_current_stream": None,
    "cooldown_expires_at": None,
}
REDEMPTION = {
    "broadcaster_id": "141981764",
    "broadcaster_login": "twitchdev",
    "broadcaster_name": "TwitchDev",
    "id": "17fa2df1-ad76-4804-bfa5-a40ef63efe63",
    "user_id": "274637212",
    "user_login": "torpedo09",
    "user_name": "torpedo09",
    "user_input": "",
    "status": "UNFULFILLED",
    "redeemed_at": "2026-09-01T11:59:32.126578Z",
    "reward": {"id": REWARD["id"], "title": "VIP for a day", "prompt": "", "cost": 50000},
}
EVENTSUB = {
    "data": [
        {
            "id": "26b1c993-bfcf-44d9-b876-379dacafe75a",
            "status": "enabled",
            "type": "channel.chat.message",
            "version": "1",
            "condition": {"broadcaster_user_id": "141981764", "user_id": "141981764"},
            "created_at": "2026-09-01T11:59:59.123456789Z",
            "transport": {"method": "websocket", "session_id": "AQoQexAWVYKSTIu4ec_2VAxyuhAB"},
            "cost": 0,
        }
    ],
    "total": 1,
    "total_cost": 0,
    "max_total_cost": 10000,
}
USERS = fixture("helix", "get_users")
VIPS = fixture("helix", "get_vips")
SUBSCRIPTIONS = fixture("helix", "get_broadcaster_subscriptions")
CHAT = fixture("helix", "send_chat_message")
ERRORS = [
    fixture("helix", name)
    for name in (
        "error_400_eventsub_wrong_token",
        "error_422_add_vip_moderator.constructed",
        "error_429_eventsub_duplicate_limit",
    )
]
B = "141981764"
# Each call of HelixClient, and the real (or documented) reply it reads.
CALLS: dict[str, tuple[Any, dict[str, Any]]] = {
    "get_users": (lambda api: api.get_users(TOKEN, ids=["141981764"]), USERS),
    "get_vips": (lambda api: api.get_vips(TOKEN, B), VIPS),
    "get_subscriptions": (lambda api: api.get_subscriptions(TOKEN, B), SUBSCRIPTIONS),
    "get_subscriptions_of": (lambda api: api.get_subscriptions(TOKEN, B, ["1"]), SUBSCRIPTIONS),
    "get_rewards": (
        lambda api: api.get_rewards(TOKEN, B, only_manageable=True),
        {"data": [REWARD]},
    ),
    "create_reward": (lambda api: api.create_reward(TOKEN, B, "VIP", 5), {"data": [REWARD]}),
    "get_redemptions": (
        lambda api: api.get_redemptions(TOKEN, B, REWARD["id"]),
        {"data": [REDEMPTION], "pagination": {"cursor": "eyJiIjpudWxsLCJhIjp7fX0"}},
    ),
    "update_redemptions": (
        lambda api: api.update_redemptions(TOKEN, B, REWARD["id"], ["x"], "CANCELED"),
        {"data": [{**REDEMPTION, "status": "CANCELED"}]},
    ),
    "send_chat_message": (lambda api: api.send_chat_message(TOKEN, B, B, "hi"), CHAT),
    "create_eventsub_subscription": (
        lambda api: api.create_eventsub_subscription(
            TOKEN, "channel.chat.message", "1", {"broadcaster_user_id": B}, {"method": "websocket"}
        ),
        EVENTSUB,
    ),
    "list_eventsub_subscriptions": (
        lambda api: api.list_eventsub_subscriptions(TOKEN, type="channel.chat.message"),
        {**EVENTSUB, "pagination": {"cursor": "eyJiIjpudWxsfQ"}},
    ),
}
# The field that names an item; an item without one is left out.
OWN_ID = {Vip: "user_id", BroadcasterSubscription: "user_id"}


def _helix(http: httpx.AsyncClient) -> HelixClient:
    return HelixClient(
        "https://api.twitch.test", "client-id", http=http, max_retries=0, sleep=no_sleep
    )


def _assert_refusal(error: HelixError) -> None:
    assert isinstance(error.status, int)
    assert_words(error, error.message, secrets=[TOKEN])
    assert_within(error.error, storable=True)


HELIX = FuzzedClient(_helix, HelixError, _assert_refusal)


def _assert_item(item: Any) -> None:
    if isinstance(item, ChatMessageResult):
        assert item.message_id is None or as_id(item.message_id) == item.message_id
        return
    own_id = OWN_ID.get(type(item), "id")
    assert as_id(getattr(item, own_id)) == getattr(item, own_id)
    for name in ("login", "display_name", "user_login", "user_name"):
        assert len(getattr(item, name, "")) <= NAME_MAX
    if isinstance(item, EventSubSubscription):
        assert len(item.condition) <= 20
        # Compared with the conditions we make and logged: bounded and clean, as all text is.
        assert_within(dict(item.condition), text_max=NAME_MAX, storable=True)
        assert all(item.condition)  # no key that cleaning left empty
        assert all(as_id(value) == value for value in item.condition.values())
    if isinstance(item, TwitchUser | CustomReward | Redemption):
        assert_within(item, text_max=MAX_URL, storable=True)


@pytest.mark.parametrize(
    ("condition", "read"),
    [
        ({"broadcaster_user_id": "141981764"}, {"broadcaster_user_id": "141981764"}),
        ({"user\x00_id\ud800": "7"}, {"user_id\ufffd": "7"}),
        ({"\x00": "7", "k" * 500: "8"}, {"k" * NAME_MAX: "8"}),
    ],
    ids=["as-sent", "nul-and-surrogate", "empty-and-long"],
)
def test_an_eventsub_condition_key_is_cleaned_like_any_text(
    condition: dict[str, str], read: dict[str, str]
) -> None:
    reply = {"data": [{**EVENTSUB["data"][0], "condition": condition}]}
    listed = HELIX.answered(200, body_of(reply), lambda api: api.list_eventsub_subscriptions(TOKEN))
    assert dict(listed.subscriptions[0].condition) == read


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_helix_reply_is_bounded_models_or_helix_error(name: str) -> None:
    call, documented = CALLS[name]

    @given(st.sampled_from([200, 200, 200, 202, 204]), any_bodies(documented))
    @example(200, body_of(documented))
    @example(200, body_of({**documented, "pagination": {"cursor": "\ud800"}}))  # the next page
    @example(200, body_of({**documented, "pagination": {"cursor": "next\x00 page é"}}))
    @example(200, body_of({"data": [{**EVENTSUB["data"][0], "condition": {"\ud800\x00": "1"}}]}))
    def check(status: int, body: bytes) -> None:
        result = HELIX.read(f"helix-{name}", status, body, call)
        if result is REFUSED:
            return
        assert_within(result, text_max=MAX_URL)
        if isinstance(result, EventSubList):
            result = list(result.subscriptions)
        for item in result if isinstance(result, list) else [result]:
            _assert_item(item)
        record(f"helix-{name}", "read")

    check()


@given(st.integers(400, 599), any_bodies(*ERRORS))
def test_any_helix_refusal_is_a_typed_error_without_the_token(status: int, body: bytes) -> None:
    body = body.replace(b"Invalid token", f"bad {TOKEN}".encode())
    with pytest.raises(HelixError) as raised:
        HELIX.answered(status, body, lambda api: api.get_vips(TOKEN, B))
    assert raised.value.status == status
    _assert_refusal(raised.value)
    record("helix-refusals", type(raised.value).__name__)


rate_headers = st.dictionaries(
    st.sampled_from(["Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset", "Retry-After"]),
    st.one_of(
        header_text,
        st.sampled_from(["800", "0", "-1", "1e308", "nan", "inf", "9" * 40, str(2**63)]),
    ),
)


@given(st.sampled_from([200, 429]), rate_headers)
@example(429, {"Ratelimit-Remaining": "0", "Ratelimit-Reset": "9" * 40})
@example(429, {"Retry-After": "1e308"})
def test_any_rate_limit_headers_are_read_or_ignored(status: int, headers: dict[str, str]) -> None:
    async def call(client: HelixClient) -> HelixClient:
        try:
            await client.get_users(TOKEN)
        except HelixError as exc:
            _assert_refusal(exc)
        return client

    limit = HELIX.answered(status, body_of(USERS), call, headers).rate_limit
    for count in (limit.limit, limit.remaining):
        assert count is None or 0 <= count <= 10**9
    assert limit.reset_at is None or limit.reset_at.tzinfo is not None
    record("helix-rate-limit", "reset" if limit.reset_at else "no reset")


# OAuth (id.twitch.tv): the token reply, validate's, and an error (tests/fixtures/twitch/oauth).
TOKEN_REPLY = fixture("oauth", "token_authorization_code")
VALIDATION = fixture("oauth", "validate_200")
OAUTH_ERRORS = [fixture("oauth", "validate_401"), fixture("oauth", "revoke_400")]


def _oauth(http: httpx.AsyncClient) -> TwitchOAuthClient:
    return TwitchOAuthClient(
        "https://id.twitch.test", "client-id", SECRET, http=http, max_retries=0, clock=lambda: NOW
    )


def _assert_oauth_refusal(error: TwitchOAuthError) -> None:
    assert_words(error, error.message, secrets=[TOKEN, SECRET])


TWITCH_OAUTH = FuzzedClient(_oauth, TwitchOAuthError, _assert_oauth_refusal)


@given(
    st.sampled_from([200, 200, 200, 400, 401, 500]),
    any_bodies(TOKEN_REPLY, *OAUTH_ERRORS) | edits_of(TOKEN_REPLY),
)
@example(200, body_of(TOKEN_REPLY))
@example(200, body_of({**TOKEN_REPLY, "access_token": "\ud800"}))
@example(200, body_of({**TOKEN_REPLY, "expires_in": 10**400}))
@example(400, body_of({"status": 400, "message": f"\ud800 {TOKEN}\x00"}))
def test_a_twitch_token_reply_is_a_sendable_token_or_oauth_error(status: int, body: bytes) -> None:
    tokens = TWITCH_OAUTH.read("twitch-oauth-token", status, body, lambda api: api.refresh(TOKEN))
    if tokens is REFUSED:
        return
    assert_usable(tokens)
    assert tokens.expires_at > NOW
    record("twitch-oauth-token", "tokens")


@given(
    st.sampled_from([200, 200, 200, 401, 500]),
    any_bodies(VALIDATION, *OAUTH_ERRORS) | edits_of(VALIDATION),
)
@example(200, body_of(VALIDATION))
@example(200, body_of({**VALIDATION, "client_id": "\ud800\x00", "expires_in": 10**400}))
def test_a_validate_reply_is_a_storable_answer_or_oauth_error(status: int, body: bytes) -> None:
    validation = TWITCH_OAUTH.read(
        "twitch-oauth-validate", status, body, lambda api: api.validate(TOKEN)
    )
    if validation is REFUSED:
        return
    assert validation.user_id is None or as_id(validation.user_id) == validation.user_id
    assert validation.expires_at >= NOW
    assert len(validation.scopes) <= MAX_SCOPES
    assert_within(
        (validation.client_id, validation.login, validation.scopes), text_max=100, storable=True
    )
    record("twitch-oauth-validate", "validation")
