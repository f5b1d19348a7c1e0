"""Which Helix requests are retried, how long the client waits, and that no token leaks.
Waits go to a recording sleep that moves the shared clock on."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest

from core.platforms.http import LONGEST_RETRY_AFTER_SECONDS
from core.platforms.twitch.helix import (
    HelixClient,
    HelixError,
    HelixUnreachable,
    RateLimited,
    Unauthorized,
)
from tests.fakes.twitch_server import CLIENT_ID, FakeTwitch
from tests.platforms.twitch.conftest import BROADCASTER_ID
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep

VIPS = "/helix/channels/vips"


async def test_a_5xx_on_a_read_is_retried_with_exponential_backoff(
    helix: HelixClient, token: str, twitch: FakeTwitch, sleep: RecordingSleep
) -> None:
    twitch.fail_next(VIPS, 500, times=2)

    assert await helix.get_vips(token, BROADCASTER_ID) == []

    assert sleep.delays == [0.5, 1.0]
    assert [r.status for r in twitch.requests_to(VIPS)] == [500, 500, 200]


async def test_a_5xx_on_add_vip_is_not_retried(
    helix: HelixClient, token: str, twitch: FakeTwitch, sleep: RecordingSleep
) -> None:
    twitch.add_user("1000", "viewer")
    twitch.fail_next(VIPS, 503, method="POST")

    with pytest.raises(HelixError) as caught:
        await helix.add_vip(token, BROADCASTER_ID, "1000")

    assert caught.value.status == 503
    assert sleep.delays == []
    assert len(twitch.requests_to(VIPS)) == 1


async def test_a_lost_answer_to_a_chat_message_is_not_repeated_so_it_posts_once(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    twitch.disconnect_next("/helix/chat/messages")

    with pytest.raises(HelixUnreachable) as caught:
        await helix.send_chat_message(token, BROADCASTER_ID, BROADCASTER_ID, "once")

    assert caught.value.status is None
    assert [m.message for m in twitch.chat_messages] == ["once"]
    assert len(twitch.requests_to("/helix/chat/messages")) == 1


async def test_a_lost_answer_to_a_read_or_a_removal_is_retried(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    twitch.add_user("1000", "viewer")
    twitch.channels[BROADCASTER_ID].vips.append("1000")
    twitch.disconnect_next(VIPS, method="DELETE")

    # The removal happened on the first try; the retry is told "not a VIP", which is done too.
    with pytest.raises(HelixError) as caught:
        await helix.remove_vip(token, BROADCASTER_ID, "1000")

    assert caught.value.status == 422
    assert twitch.channels[BROADCASTER_ID].vips == []
    assert [r.status for r in twitch.requests_to(VIPS)] == [0, 422]


async def test_an_empty_bucket_waits_until_ratelimit_reset(
    helix: HelixClient,
    token: str,
    twitch: FakeTwitch,
    sleep: RecordingSleep,
    clock: Clock,
) -> None:
    twitch.rate_limit_points = 2
    start = clock.now

    for _ in range(3):
        await helix.get_users(token)

    assert sleep.delays == [60.0]
    statuses = [r.status for r in twitch.requests_to("/helix/users")]
    assert statuses == [200, 200, 429, 200]
    assert helix.rate_limit.limit == 2
    assert helix.rate_limit.remaining == 1
    assert helix.rate_limit.reset_at == start + timedelta(seconds=120)


async def test_retry_after_is_honoured_on_a_429(
    helix: HelixClient, token: str, twitch: FakeTwitch, sleep: RecordingSleep
) -> None:
    twitch.fail_next("/helix/users", 429, headers={"Retry-After": "3"})

    await helix.get_users(token)

    assert sleep.delays == [3.0]


async def test_a_reset_too_far_away_is_left_to_the_caller(
    helix: HelixClient, token: str, twitch: FakeTwitch, sleep: RecordingSleep, clock: Clock
) -> None:
    reset = int((clock.now + timedelta(hours=1)).timestamp())
    headers = {"Ratelimit-Limit": "800", "Ratelimit-Remaining": "0", "Ratelimit-Reset": str(reset)}
    twitch.fail_next("/helix/users", 429, headers=headers)

    with pytest.raises(RateLimited) as caught:
        await helix.get_users(token)

    assert caught.value.retry_after == 3600
    assert sleep.delays == []


async def test_an_absurd_reset_is_left_to_the_caller_as_the_longest_wait_honoured(
    helix: HelixClient, token: str, twitch: FakeTwitch, sleep: RecordingSleep
) -> None:
    """A reset in the year 5138 (what the header may say at most): the caller waits a day at
    most (an outbox call an hour), not three thousand years."""
    headers = {"Ratelimit-Limit": "800", "Ratelimit-Remaining": "0", "Ratelimit-Reset": str(10**11)}
    twitch.fail_next("/helix/users", 429, headers=headers)

    with pytest.raises(RateLimited) as caught:
        await helix.get_users(token)

    assert caught.value.retry_after == LONGEST_RETRY_AFTER_SECONDS
    assert sleep.delays == []


async def test_a_429_without_headers_backs_off_and_gives_up_after_the_retries(
    helix: HelixClient, token: str, twitch: FakeTwitch, sleep: RecordingSleep
) -> None:
    twitch.fail_next("/helix/users", 429, times=10)

    with pytest.raises(RateLimited) as caught:
        await helix.get_users(token)

    assert caught.value.status == 429
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0]
    assert len(twitch.requests_to("/helix/users")) == 5


async def test_an_unreachable_helix_is_retried_then_raised(sleep: RecordingSleep) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}"

    async with HelixClient(dead_url, CLIENT_ID, sleep=sleep, jitter=lambda: 1.0) as client:
        with pytest.raises(HelixUnreachable) as caught:
            await client.add_vip("token", BROADCASTER_ID, "1")

    assert caught.value.status is None
    assert len(sleep.delays) == 4  # nothing was sent, so even an addition may be tried again


async def test_no_token_reaches_an_error_message_or_the_log(
    helix: HelixClient, token: str, twitch: FakeTwitch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": "Unauthorized", "status": 401, "message": f"bad token {token}"}
    twitch.fail_next("/helix/users", 401, body=echo)
    twitch.fail_next(VIPS, 500, times=2)

    with pytest.raises(Unauthorized) as caught:
        await helix.get_users(token)
    await helix.get_vips(token, BROADCASTER_ID)

    assert caught.value.message == "bad token [token]"
    assert token not in str(caught.value)
    assert token not in repr(caught.value)
    assert "retry 1 of 4" in caplog.text
    assert token not in caplog.text
    assert token not in repr(helix)
