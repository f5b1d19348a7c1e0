"""Fuzz: what Kick's public API and OAuth server answer our clients (core/platforms/kick/api.py,
api_models.py, api_errors.py, oauth_client.py, and the public key the webhook check takes from
webhook_keys.py). Each call gets any body: the documented reply (kick.md §2 and §4: Kick
publishes no captured replies, so these are the shapes its docs and spec give) with fields
removed, retyped or replaced, arbitrary JSON, JSON Python reads but JSON forbids, and bytes.

Properties: a call gives its models, every string in them bounded and storable (no NUL, no
lone surrogate) and every id one the id columns hold, or raises the module's own error
(:class:`KickApiError`, :class:`OAuthError`), never another exception, whose message is short,
storable and free of the token. A token Kick hands us can be sent in a header and stored.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.platforms.kick.api import (
    MAX_PUBLIC_KEY_REPLY_BYTES,
    MESSAGE_MAX,
    KickApi,
    KickApiError,
    KickChannel,
    KickUnreachable,
    KickUser,
    Livestream,
    SubscriptionResult,
)
from core.platforms.kick.oauth_client import KickOAuthClient, OAuthError
from core.platforms.kick.webhook_keys import checked_public_key
from core.platforms.lenient import ID_MAX, NAME_MAX, WORD_MAX, as_id
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
    field_values,
    no_sleep,
)
from tests.platforms.bounded import assert_within

TOKEN = "kick-user-token-4f8a2c"
SECRET = "kick-client-secret-9d1e"
PEM = (FIXTURES / "kick" / "kick-public-key.pem").read_text()
USER = {
    "user_id": 123456,
    "name": "streamer_one",
    "email": "streamer@example.test",
    "profile_picture": "https://files.kick.com/images/user/123456/profile_image.webp",
}
CHANNEL = {
    "broadcaster_user_id": 123456,
    "slug": "streamer-one",
    "channel_description": "Slots every evening",
    "banner_picture": "https://files.kick.com/images/channel/123456/banner.webp",
    "stream_title": "Bonus hunt #412",
    "category": {"id": 28, "name": "Slots & Casino", "thumbnail": "https://files.kick.com/c.webp"},
    "stream": {
        "is_live": True,
        "is_mature": False,
        "language": "en",
        "start_time": "2026-09-01T18:00:00Z",
        "viewer_count": 1234,
        "thumbnail": "https://files.kick.com/thumbnails/123456.webp",
        "url": "rtmps://stream.kick.com/app",
        "key": "sk_us-west-2_abc",
    },
    "custom_tags": ["slots", "english"],
    "active_subscribers_count": 88,
}
LIVESTREAM = {
    "broadcaster_user_id": 123456,
    "channel_id": 998877,
    "slug": "streamer-one",
    "stream_title": "Bonus hunt #412",
    "started_at": "2026-09-01T18:00:00Z",
    "viewer_count": 1234,
    "language": "en",
    "has_mature_content": False,
    "category": {"id": 28, "name": "Slots & Casino", "thumbnail": "https://files.kick.com/c.webp"},
    "thumbnail": "https://files.kick.com/thumbnails/123456.webp",
    "profile_picture": "https://files.kick.com/images/user/123456/profile_image.webp",
    "custom_tags": ["slots"],
}
REWARD = {
    "id": "01HZX3K7Q4V5W6X7Y8Z9A0B1C2",
    "title": "VIP for a day",
    "description": "A day of VIP in chat",
    "cost": 5000,
    "background_color": "#00e701",
    "is_enabled": True,
    "is_paused": False,
    "is_user_input_required": False,
    "should_redemptions_skip_request_queue": False,
}
REDEMPTIONS = {
    "reward": {**REWARD, "can_manage": True, "is_deleted": False},
    "redemptions": [
        {
            "id": "01HZX4M8R5S6T7U8V9W0X1Y2Z3",
            "redeemed_at": "2026-09-01T18:30:00Z",
            "redeemer": {"user_id": 555},
            "status": "pending",
            "user_input": "",
        }
    ],
}
SUBSCRIPTION = {
    "id": "01HZX5N9S6T7U8V9W0X1Y2Z3A4",
    "app_id": "01HZX0000APP",
    "broadcaster_user_id": 123456,
    "event": "chat.message.sent",
    "version": 1,
    "method": "webhook",
    "created_at": "2026-09-01T18:00:00Z",
    "updated_at": "2026-09-01T18:00:00Z",
}


def ok(data: Any, **more: Any) -> dict[str, Any]:
    return {"data": data, **more, "message": "OK"}


# Each call of KickApi, and the documented reply it reads.
CALLS: dict[str, tuple[Any, dict[str, Any]]] = {
    "get_users": (lambda api: api.get_users(TOKEN, [123456]), ok([USER])),
    "get_channel_by_slug": (
        lambda api: api.get_channel_by_slug(TOKEN, "streamer-one"),
        ok([CHANNEL]),
    ),
    "get_channels_by_broadcaster": (
        lambda api: api.get_channels_by_broadcaster(TOKEN, [123456]),
        ok([CHANNEL]),
    ),
    "get_livestreams": (
        lambda api: api.get_livestreams(TOKEN, [123456]),
        ok({"livestreams": [LIVESTREAM], "pagination": {"next_cursor": None}}),
    ),
    "create_subscriptions": (
        lambda api: api.create_subscriptions(TOKEN, 123456, ["chat.message.sent", "x"]),
        ok(
            [
                {"name": "chat.message.sent", "version": 1, "subscription_id": SUBSCRIPTION["id"]},
                {"name": "x", "version": 1, "error": "webhooks are not enabled for app"},
            ]
        ),
    ),
    "list_subscriptions": (lambda api: api.list_subscriptions(TOKEN), ok([SUBSCRIPTION])),
    "list_rewards": (lambda api: api.list_rewards(TOKEN), ok([REWARD])),
    "list_redemptions": (
        lambda api: api.list_redemptions(TOKEN, status="pending"),
        ok([REDEMPTIONS], pagination={"next_cursor": ""}),
    ),
    "accept_redemptions": (
        lambda api: api.accept_redemptions(TOKEN, ["01HZX4M8R5S6T7U8V9W0X1Y2Z3", "01B"]),
        ok(
            [{"id": "01HZX4M8R5S6T7U8V9W0X1Y2Z3"}],
            failed=[{"id": "01B", "reason": "NOT_PENDING"}],
        ),
    ),
    "send_chat": (
        lambda api: api.send_chat(TOKEN, "hello", type="bot"),
        ok({"is_sent": True, "message_id": "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"}),
    ),
    "get_public_key": (lambda api: api.get_public_key(), ok({"public_key": PEM})),
}


# The field that names an item; an item without one is left out of a list.
OWN_ID = {
    KickUser: "user_id",
    KickChannel: "broadcaster_user_id",
    Livestream: "broadcaster_user_id",
}


def _kick_api(http: httpx.AsyncClient) -> KickApi:
    return KickApi("https://api.kick.test", http=http, max_retries=0, sleep=no_sleep)


def _assert_refusal(error: KickApiError) -> None:
    """Kick's own words: up to 300 characters of them, a refusal's (api_errors.py) as a 200's
    that is no answer (send_chat's ``message``). A chat post's success that names no message
    is no answer at all: it may have been posted (never sent again, nor another way)."""
    if isinstance(error, KickUnreachable):
        assert not error.is_unsent
        assert error.message.startswith("POST /public/v1/chat answered 2")
        return
    assert isinstance(error.status, int)
    assert_words(error, error.message, limit=MESSAGE_MAX, secrets=[TOKEN])


KICK_API = FuzzedClient(_kick_api, KickApiError, _assert_refusal)


def _assert_said(error: Exception, words: str) -> None:
    assert words in str(error)
    assert str(error)


def _assert_read(name: str, result: Any) -> None:
    assert_within(result, storable=True)
    if name == "send_chat":
        assert as_id(result) == result  # an id the message id columns hold
    elif name == "get_public_key":
        assert result.strip()
        assert len(result) <= MAX_PUBLIC_KEY_REPLY_BYTES
        try:  # what public_key.py does with it next: a key, or ValueError in words
            checked_public_key(result)
        except ValueError as exc:
            _assert_said(exc, "")
    elif name == "accept_redemptions":
        assert all(as_id(i) == i for i in result.updated_ids)
    elif result is not None:
        for item in result if isinstance(result, list) else [result]:
            if isinstance(item, SubscriptionResult):
                assert item.name  # one result per event asked for, named
                continue
            own_id = OWN_ID.get(type(item), "id")
            assert as_id(getattr(item, own_id)) == getattr(item, own_id)
            if isinstance(item, KickUser | KickChannel | Livestream):  # names, slugs
                assert len(getattr(item, "name", "")) <= NAME_MAX
                assert len(getattr(item, "slug", "")) <= NAME_MAX


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_kick_api_reply_is_bounded_models_or_kick_api_error(name: str) -> None:
    call, documented = CALLS[name]

    @given(st.sampled_from([200, 200, 200, 201, 204]), any_bodies(documented))
    @example(200, body_of(documented))
    @example(200, body_of(ok([{"name": "x", "error": ["e" * 2001]}])))  # str() of any error
    @example(200, body_of({"data": {"is_sent": False}, "message": "x" * 5000}))  # 300 kept
    def check(status: int, body: bytes) -> None:
        result = KICK_API.read(f"kick-api-{name}", status, body, call)
        if result is REFUSED:
            return
        _assert_read(name, result)
        record(f"kick-api-{name}", "read")

    check()


@pytest.mark.parametrize(
    ("error", "read"),
    [
        (False, None),
        (0, None),
        (None, None),
        ("", None),
        ("  ", None),
        ("webhooks are not enabled for app", "webhooks are not enabled for app"),
        (True, "Kick refused it"),
        (401, "Kick refused it"),
    ],
)
def test_a_subscription_results_false_or_zero_error_is_no_error(error: Any, read: Any) -> None:
    """Kick's ``error`` beside a subscription id: false, 0, null or blank mean it subscribed;
    true or a number is a refusal that gives no words of its own."""
    entry = {"name": "chat.message.sent", "version": 1, "subscription_id": "01HZX5", "error": error}
    [result] = KICK_API.answered(
        200,
        body_of(ok([entry])),
        lambda api: api.create_subscriptions(TOKEN, 1, ["chat.message.sent"]),
    )
    assert (result.error, result.is_subscribed) == (read, read is None)


@pytest.mark.parametrize(
    ("status", "read"),
    [("pending", "pending"), (" Accepted ", "accepted"), ("REJECTED" * 500, "rejected" * 4)],
)
def test_a_redemption_status_is_a_short_word(status: str, read: str) -> None:
    """Kick's statuses are pending, accepted and rejected: one is read as a word (at most
    WORD_MAX characters, lowercase), as Twitch's are, not as a chat line."""
    group = {**REDEMPTIONS, "redemptions": [{**REDEMPTIONS["redemptions"][0], "status": status}]}
    [redemption] = KICK_API.answered(
        200, body_of(ok([group])), lambda api: api.list_redemptions(TOKEN)
    )
    assert redemption.status == read
    assert len(redemption.status) <= WORD_MAX


def test_a_chat_line_kick_did_not_send_says_why_in_300_characters() -> None:
    reply = {"data": {"is_sent": False}, "message": f"held for review {TOKEN} " + "x" * 5000}
    with pytest.raises(KickApiError) as raised:
        KICK_API.answered(200, body_of(reply), lambda api: api.send_chat(TOKEN, "hi", type="bot"))
    assert raised.value.message == ("held for review [token] " + "x" * 5000)[:300]
    assert MESSAGE_MAX == 300


@given(st.integers(400, 599), any_bodies(ok(None), {"error": "invalid_grant"}))
def test_any_kick_api_refusal_is_a_typed_error_without_the_token(status: int, body: bytes) -> None:
    body = body.replace(b"invalid_grant", f"leaked {TOKEN}".encode())
    with pytest.raises(KickApiError) as raised:
        KICK_API.answered(status, body, lambda api: api.list_rewards(TOKEN))
    assert raised.value.status == status
    _assert_refusal(raised.value)
    record("kick-api-refusals", type(raised.value).__name__)


# OAuth (id.kick.com): the token reply and an error (kick.md §2).
TOKEN_REPLY = {
    "access_token": "NDQ1ZJG3YJGTMZQ3ZC0ZNGU5LTG5NZMTNDRKMWUXYTE5NZVI",
    "token_type": "Bearer",
    "refresh_token": "MJBKNDE4ZTATZWY3NS0ZNDE5LWE1ZWUTZJQ0YMI2NDFKNZMX",
    "expires_in": 7200,
    "scope": "user:read channel:read chat:write events:subscribe",
}
OAUTH_ERRORS = [
    {"error": "Invalid request"},
    {"error": "invalid_grant", "error_description": "The refresh token is invalid."},
]


def _oauth(http: httpx.AsyncClient) -> KickOAuthClient:
    return KickOAuthClient("https://id.kick.test", "01HZX0000APP", SECRET, http=http)


def _assert_oauth_refusal(error: OAuthError) -> None:
    assert_words(error, error.error, limit=100)
    assert_words(error, error.description, secrets=[TOKEN, SECRET])


KICK_OAUTH = FuzzedClient(_oauth, OAuthError, _assert_oauth_refusal)


@given(
    st.sampled_from([200, 200, 200, 400, 401, 500]),
    any_bodies(TOKEN_REPLY, ok(TOKEN_REPLY), *OAUTH_ERRORS) | edits_of(TOKEN_REPLY),
)
@example(200, body_of(TOKEN_REPLY))
@example(200, body_of({**TOKEN_REPLY, "access_token": "\ud800"}))
@example(200, body_of({**TOKEN_REPLY, "access_token": "tok\u00e9n"}))
@example(200, body_of({**TOKEN_REPLY, "refresh_token": "a\x00b"}))
@example(200, body_of({**TOKEN_REPLY, "token_type": "x" * 100_000}))
@example(200, body_of({**TOKEN_REPLY, "expires_in": 10**400}))  # isfinite() raised
@example(400, body_of({"error": "\ud800", "error_description": f"bad {TOKEN}\x00"}))
def test_a_kick_token_reply_is_a_sendable_storable_token_or_oauth_error(
    status: int, body: bytes
) -> None:
    tokens = KICK_OAUTH.read("kick-oauth-token", status, body, lambda oauth: oauth.refresh(TOKEN))
    if tokens is REFUSED:
        return
    assert_usable(tokens)
    record("kick-oauth-token", "tokens")


@given(field_values)
def test_a_kick_id_a_reply_echoes_reads_as_an_id_or_none(value: Any) -> None:
    user = {**USER, "user_id": value}
    try:
        users = KICK_API.answered(200, body_of(ok([user])), lambda api: api.get_users(TOKEN, [1]))
    except KickApiError as exc:  # NaN, Infinity: no JSON
        _assert_said(exc, "the reply is not JSON")
        record("kick-api-user-ids", "refused")
        return
    if not users:
        assert as_id(value) is None
        record("kick-api-user-ids", "left out")
        return
    assert users[0].user_id == as_id(value)
    assert len(users[0].user_id) <= ID_MAX
    assert json.dumps(users[0].user_id)
    record("kick-api-user-ids", "read")
