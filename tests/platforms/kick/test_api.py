from __future__ import annotations

import gzip
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from core.platforms.kick.api import (
    FailedRedemption,
    Forbidden,
    KickApi,
    KickApiError,
    KickCategory,
    KickUnreachable,
    RateLimited,
    SubscriptionResult,
    Unauthorized,
)
from tests.fakes.kick_server import FakeKick
from tests.services import free_port
from tests.support.waiting import RecordingSleep

STREAMER_ID = 1001
CHAT_PATH = "/public/v1/chat"
USERS_PATH = "/public/v1/users"


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(user_id=STREAMER_ID, username="streamer") as fake:
        yield fake


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def api(kick: FakeKick, sleep: RecordingSleep) -> AsyncIterator[KickApi]:
    async with KickApi(kick.url, sleep=sleep, jitter=lambda: 1.0) as client:
        yield client


@pytest.fixture
def token(kick: FakeKick) -> str:
    return kick.issue_user_token()


@pytest.fixture
def app_token(kick: FakeKick) -> str:
    return kick.issue_app_token()


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


# Users and channels


async def test_get_users_without_ids_returns_the_token_owner(api: KickApi, token: str) -> None:
    (user,) = await api.get_users(token)

    assert (user.user_id, user.name, user.email) == ("1001", "streamer", "streamer@example.test")


async def test_get_users_by_id_returns_string_ids_and_hides_other_users_email(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    kick.add_user(2002, "viewer_one", profile_picture="https://img.test/2002.webp")

    users = await api.get_users(token, [2002, "1001", 2002, 999])

    assert [(u.user_id, u.name) for u in users] == [("2002", "viewer_one"), ("1001", "streamer")]
    assert users[0].email is None
    assert users[0].profile_picture == "https://img.test/2002.webp"
    assert kick.requests_to(USERS_PATH)[-1].query == {"id": ["2002", "1001", "999"]}


async def test_channel_by_slug_carries_broadcaster_id_title_and_live_stream(
    kick: FakeKick, api: KickApi, app_token: str
) -> None:
    kick.add_channel("slotqueen", 3003, stream_title="Bonus hunt")
    started = datetime(2026, 9, 1, 18, 30, tzinfo=UTC)
    kick.go_live(
        3003,
        viewer_count=412,
        started_at=started,
        category={"id": 28, "name": "Slots & Casino", "thumbnail": "https://img.test/c.webp"},
    )

    channel = await api.get_channel_by_slug(app_token, "slotqueen")

    assert channel is not None
    assert (channel.broadcaster_user_id, channel.slug) == ("3003", "slotqueen")
    assert channel.stream_title == "Bonus hunt"
    assert channel.is_live
    assert channel.viewer_count == 412
    assert channel.stream_started_at == started
    assert channel.category == KickCategory("28", "Slots & Casino", "https://img.test/c.webp")
    assert channel.stream_key is None
    assert kick.requests_to("/public/v1/channels")[-1].auth == "app"


async def test_unknown_slug_is_none(kick: FakeKick, api: KickApi, token: str) -> None:
    assert await api.get_channel_by_slug(token, "nobody_here") is None
    assert kick.requests_to("/public/v1/channels")[-1].status == 404


async def test_slug_answered_with_an_empty_list_is_none(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    kick.fail_next("/public/v1/channels", 200, body={"data": [], "message": "OK"})

    assert await api.get_channel_by_slug(token, "streamer") is None


async def test_slug_longer_than_kick_allows_is_none_without_a_request(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    assert await api.get_channel_by_slug(token, "x" * 26) is None
    assert kick.requests_to("/public/v1/channels") == []


async def test_owner_sees_their_own_stream_key_but_not_in_repr(api: KickApi, token: str) -> None:
    channel = await api.get_channel_by_slug(token, "streamer")

    assert channel is not None
    assert channel.stream_key
    assert channel.stream_key not in repr(channel)


async def test_channels_by_broadcaster_skip_unknown_ids(
    kick: FakeKick, api: KickApi, app_token: str
) -> None:
    kick.add_channel("second", 4004)

    channels = await api.get_channels_by_broadcaster(app_token, ["4004", 1001, 5555])

    assert sorted(c.slug for c in channels) == ["second", "streamer"]


# Livestreams


async def test_livestreams_follow_every_page_and_leave_offline_channels_out(
    kick: FakeKick, api: KickApi, app_token: str
) -> None:
    for user_id, slug in ((4001, "alpha"), (4002, "bravo"), (4003, "charlie"), (4004, "delta")):
        kick.add_channel(slug, user_id)
    for user_id in (4001, 4002, 4003):
        kick.go_live(user_id, title=f"live {user_id}", viewer_count=user_id - 4000)
    kick.page_size = 2

    streams = await api.get_livestreams(app_token, [4001, 4002, 4003, 4004])

    assert [(s.broadcaster_user_id, s.viewer_count) for s in streams] == [
        ("4001", 1),
        ("4002", 2),
        ("4003", 3),
    ]
    assert streams[0].channel_id == "54001"
    assert streams[0].stream_title == "live 4001"
    assert len(kick.requests_to("/public/v2/livestreams")) == 2


async def test_livestreams_of_no_broadcasters_makes_no_request(
    kick: FakeKick, api: KickApi, app_token: str
) -> None:
    assert await api.get_livestreams(app_token, []) == []
    assert kick.requests_to("/public/v2/livestreams") == []


# Chat


async def test_bot_chat_posts_into_the_token_owners_channel(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    message_id = await api.send_chat(token, "Raffle is open!", type="bot")

    (sent,) = kick.chat_messages
    assert sent.message_id == message_id
    assert (sent.type, sent.content, sent.broadcaster_user_id) == ("bot", "Raffle is open!", 1001)
    assert kick.requests_to(CHAT_PATH)[0].json == {"type": "bot", "content": "Raffle is open!"}


async def test_user_chat_goes_to_the_given_broadcaster_as_a_reply(
    kick: FakeKick, api: KickApi
) -> None:
    kick.add_channel("botaccount", 7007)
    bot_token = kick.issue_user_token(7007, ["chat:write"])

    await api.send_chat(
        bot_token, "hi", type="user", broadcaster_user_id="1001", reply_to_message_id="m-1"
    )

    (sent,) = kick.chat_messages
    assert (sent.sender_user_id, sent.broadcaster_user_id) == (7007, 1001)
    assert sent.reply_to_message_id == "m-1"
    assert kick.requests_to(CHAT_PATH)[0].json["broadcaster_user_id"] == 1001


async def test_user_chat_without_a_broadcaster_or_too_long_content_is_refused_locally(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    with pytest.raises(ValueError, match="broadcaster_user_id"):
        await api.send_chat(token, "hi", type="user")
    with pytest.raises(ValueError, match="500"):
        await api.send_chat(token, "x" * 501, type="bot")
    assert kick.requests_to(CHAT_PATH) == []


async def test_app_token_cannot_chat(api: KickApi, app_token: str) -> None:
    with pytest.raises(Forbidden, match="user access token"):
        await api.send_chat(app_token, "hi", type="bot")


# Event subscriptions


async def test_subscriptions_are_created_per_event_listed_and_deleted(
    kick: FakeKick, api: KickApi, app_token: str
) -> None:
    results = await api.create_subscriptions(
        app_token, "1001", ["chat.message.sent", "not.an.event"]
    )
    listed = await api.list_subscriptions(app_token, 1001)
    await api.delete_subscriptions(app_token, [results[0].subscription_id or ""])

    assert results[0].name == "chat.message.sent"
    assert results[0].is_subscribed
    assert results[1] == SubscriptionResult(
        "not.an.event", 1, None, "invalid event name or version"
    )
    assert [(s.id, s.event, s.broadcaster_user_id, s.version, s.method) for s in listed] == [
        (results[0].subscription_id, "chat.message.sent", "1001", 1, "webhook")
    ]
    assert kick.subscriptions == {}
    (deleted,) = kick.requests_to("/public/v1/events/subscriptions", "DELETE")
    assert (deleted.status, deleted.query) == (204, {"id": [results[0].subscription_id]})
    assert kick.requests_to("/public/v1/events/subscriptions", "POST")[0].json == {
        "events": [
            {"name": "chat.message.sent", "version": 1},
            {"name": "not.an.event", "version": 1},
        ],
        "method": "webhook",
        "broadcaster_user_id": 1001,
    }


async def test_subscribing_when_webhooks_are_off_reports_kicks_error(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    kick.webhooks_enabled = False

    (result,) = await api.create_subscriptions(token, None, ["channel.followed"])

    assert not result.is_subscribed
    assert result.error == "webhooks are not enabled for app"


async def test_a_dropped_subscription_is_gone_from_the_list(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    first, _ = await api.create_subscriptions(
        token, None, ["chat.message.sent", "livestream.status.updated"]
    )
    kick.drop_subscription(first.subscription_id or "")

    listed = await api.list_subscriptions(token)

    assert [s.event for s in listed] == ["livestream.status.updated"]


# Rewards


async def test_rewards_and_pending_redemptions_can_be_listed_accepted_and_rejected(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    reward_id = kick.add_reward(1001, "Hydrate!", 500, description="Drink water")
    other_reward = kick.add_reward(1001, "Song request", 1000, is_user_input_required=True)
    first = kick.add_redemption(reward_id, 2002)
    second = kick.add_redemption(other_reward, 2003, user_input="Darude - Sandstorm")
    kick.add_redemption(reward_id, 2004, status="accepted")
    kick.page_size = 1

    rewards = await api.list_rewards(token)
    pending = await api.list_redemptions(token, status="pending")
    accepted = await api.accept_redemptions(token, [first, first])
    rejected = await api.reject_redemptions(token, [second, first])

    assert [(r.title, r.cost, r.is_user_input_required) for r in rewards] == [
        ("Hydrate!", 500, False),
        ("Song request", 1000, True),
    ]
    assert [(r.id, r.reward_title, r.redeemer_user_id, r.user_input) for r in pending] == [
        (first, "Hydrate!", "2002", ""),
        (second, "Song request", "2003", "Darude - Sandstorm"),
    ]
    assert pending[0].redeemed_at is not None
    assert accepted.updated_ids == (first,)
    assert rejected.updated_ids == (second,)
    assert rejected.failed == (FailedRedemption(first, "NOT_PENDING"),)
    assert kick.redemptions[first]["status"] == "accepted"
    assert kick.redemptions[second]["status"] == "rejected"


# Moderation


async def test_timeout_then_unban_with_a_json_body_on_delete(
    kick: FakeKick, api: KickApi, token: str
) -> None:
    await api.ban(token, 1001, "2002", duration_minutes=10, reason="spam")
    ban = kick.bans[(1001, 2002)]
    await api.unban(token, "1001", 2002)

    assert (ban.duration_minutes, ban.reason) == (10, "spam")
    assert kick.bans == {}
    (unban,) = kick.requests_to("/public/v1/moderation/bans", "DELETE")
    assert unban.json == {"broadcaster_user_id": 1001, "user_id": 2002}


async def test_permanent_ban_sends_no_duration(kick: FakeKick, api: KickApi, token: str) -> None:
    await api.ban(token, 1001, 2002)

    assert kick.requests_to("/public/v1/moderation/bans")[0].json == {
        "broadcaster_user_id": 1001,
        "user_id": 2002,
    }
    assert kick.bans[(1001, 2002)].duration_minutes is None


async def test_public_key_needs_no_token(kick: FakeKick, api: KickApi) -> None:
    key = await api.get_public_key()

    assert key == kick.public_key_pem
    assert key.startswith("-----BEGIN PUBLIC KEY-----")
    assert kick.requests_to("/public/v1/public-key")[0].auth == "none"


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
async def test_a_public_key_reply_past_the_limit_is_refused_unread(
    kick: FakeKick, api: KickApi, compressed: bool
) -> None:
    body = b'{"data": {"public_key": "' + b"A" * 5_000_000 + b'"}, "message": "OK"}'
    headers = {}
    if compressed:  # 5 MB that travel as 5 KB: the limit is on what is read out of it
        body, headers = gzip.compress(body), {"Content-Encoding": "gzip"}
    kick.fail_next("/public/v1/public-key", 200, body=body, headers=headers)

    with pytest.raises(KickApiError, match="over 16,384 bytes"):
        await api.get_public_key()

    assert await api.get_public_key() == kick.public_key_pem  # the next answer is read as usual


# Retries and errors


async def test_429_is_retried_after_the_retry_after_seconds(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(USERS_PATH, 429, times=2, retry_after=3)

    users = await api.get_users(token)

    assert [u.user_id for u in users] == ["1001"]
    assert sleep.delays == [3.0, 3.0]
    assert [r.status for r in kick.requests_to(USERS_PATH)] == [429, 429, 200]


async def test_500_is_retried_with_exponential_backoff(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(USERS_PATH, 500, times=3)

    await api.get_users(token)

    assert sleep.delays == [0.5, 1.0, 2.0]


async def test_backoff_has_full_jitter_below_the_exponential_cap(
    kick: FakeKick, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(USERS_PATH, 503, times=2)

    async with KickApi(kick.url, sleep=sleep, backoff_base=2.0, jitter=lambda: 0.25) as api:
        await api.get_users(token)

    assert sleep.delays == [0.5, 1.0]


async def test_still_rate_limited_after_max_retries_raises_rate_limited_with_kicks_message(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(
        USERS_PATH,
        429,
        times=10,
        retry_after=1,
        body={"data": None, "message": "Too many requests, slow down"},
    )

    with pytest.raises(RateLimited) as caught:
        await api.get_users(token)

    assert caught.value.status == 429
    assert caught.value.message == "Too many requests, slow down"
    assert caught.value.retry_after == 1.0
    assert len(sleep.delays) == 4
    assert len(kick.requests_to(USERS_PATH)) == 5


async def test_server_errors_after_max_retries_raise_kick_api_error_with_kicks_message(
    kick: FakeKick, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(USERS_PATH, 502, times=10, body={"message": "Upstream unavailable"})

    async with KickApi(kick.url, max_retries=2, sleep=sleep) as api:
        with pytest.raises(KickApiError) as caught:
            await api.get_users(token)

    assert (caught.value.status, caught.value.message) == (502, "Upstream unavailable")
    assert len(sleep.delays) == 2


async def test_retry_after_longer_than_the_client_waits_is_raised_at_once(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(USERS_PATH, 429, retry_after=3600)

    with pytest.raises(RateLimited) as caught:
        await api.get_users(token)

    assert caught.value.retry_after == 3600
    assert sleep.delays == []


async def test_expired_token_raises_unauthorized_without_retrying(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.expire_token(token)

    with pytest.raises(Unauthorized) as caught:
        await api.get_users(token)

    assert caught.value.status == 401
    assert sleep.delays == []
    assert [(r.auth, r.status) for r in kick.requests_to(USERS_PATH)] == [("invalid", 401)]


async def test_chat_is_not_retried_on_a_server_error(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(CHAT_PATH, 500)

    with pytest.raises(KickApiError) as caught:
        await api.send_chat(token, "once only", type="bot")

    assert caught.value.status == 500
    assert sleep.delays == []
    assert len(kick.requests_to(CHAT_PATH)) == 1


async def test_chat_is_retried_on_429(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.fail_next(CHAT_PATH, 429, retry_after=2)

    await api.send_chat(token, "after the wait", type="bot")

    assert sleep.delays == [2.0]
    assert [m.content for m in kick.chat_messages] == ["after the wait"]


async def test_chat_is_not_resent_when_the_connection_drops_after_kick_posted_it(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.disconnect_next(CHAT_PATH)

    with pytest.raises(KickUnreachable) as caught:
        await api.send_chat(token, "maybe sent", type="bot")

    assert caught.value.status is None
    assert [m.content for m in kick.chat_messages] == ["maybe sent"]
    assert sleep.delays == []


async def test_a_read_is_retried_when_the_connection_drops(
    kick: FakeKick, api: KickApi, token: str, sleep: RecordingSleep
) -> None:
    kick.disconnect_next(USERS_PATH)

    users = await api.get_users(token)

    assert [u.user_id for u in users] == ["1001"]
    assert sleep.delays == [0.5]


async def test_refused_connections_are_retried_even_for_chat_then_raise_unreachable(
    sleep: RecordingSleep,
) -> None:
    async with KickApi(dead_url(), max_retries=3, sleep=sleep, jitter=lambda: 1.0) as api:
        with pytest.raises(KickUnreachable, match="could not connect"):
            await api.send_chat("some-token", "hello", type="bot")

    assert sleep.delays == [0.5, 1.0, 2.0]


async def test_no_token_appears_in_errors_or_logs(
    kick: FakeKick, api: KickApi, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kick.fail_next(USERS_PATH, 500, body={"message": f"bad bearer {token}"})
    kick.fail_next(CHAT_PATH, 401, body={"message": f"token {token} is not valid"})

    await api.get_users(token)
    with pytest.raises(Unauthorized) as caught:
        await api.send_chat(token, "hi", type="bot")

    assert caught.value.message == "token [token] is not valid"
    assert token not in str(caught.value)
    assert token not in repr(caught.value)
    assert "retry 1 of 4" in caplog.text
    assert token not in caplog.text


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("status", [200, 400])
@pytest.mark.parametrize(
    "body", [NESTED, b'{"data": [], "total": Infinity}', b'{"message": NaN}'], ids=range(3)
)
async def test_a_reply_json_cannot_hold_is_a_kick_error_not_a_crash(
    kick: FakeKick, api: KickApi, token: str, status: int, body: bytes
) -> None:
    """JSON nested past what Python reads, Infinity and NaN: a reply or an error body of that
    kind is Kick's error like any unreadable reply (it was a RecursionError that no caller
    caught)."""
    kick.fail_next(USERS_PATH, status, body=body)

    with pytest.raises(KickApiError) as caught:
        await api.get_users(token)

    assert caught.value.status == status
