"""Add VIP and Remove VIP take a slot of their channel's window for every request the Helix
transport sends, a resend after a 429 or a refused token included (Twitch counts what reaches
it). The client's clock and sleep are the test's: a window's wait shows as a 10 s sleep."""

from __future__ import annotations

import pytest

from core.platforms.twitch.helix import HelixClient, Unauthorized
from tests.fakes.twitch_server import FakeTwitch
from tests.platforms.twitch.conftest import BROADCASTER_ID
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep

VIPS = "/helix/channels/vips"


@pytest.fixture
def viewers(twitch: FakeTwitch) -> list[str]:
    twitch.channels[BROADCASTER_ID].vip_slots = 50
    ids = [str(6000 + n) for n in range(20)]
    for user_id in ids:
        twitch.add_user(user_id, f"v{user_id}")
    return ids


async def test_the_eleventh_addition_waits_for_the_window_instead_of_a_429(
    helix: HelixClient, twitch: FakeTwitch, token: str, sleep: RecordingSleep, viewers: list[str]
) -> None:
    for user_id in viewers[:11]:
        await helix.add_vip(token, BROADCASTER_ID, user_id)

    assert [r.status for r in twitch.requests_to(VIPS, "POST")] == [204] * 11
    assert sleep.delays == [10.0]


async def test_a_resend_after_a_429_takes_a_slot_of_its_own(
    helix: HelixClient,
    twitch: FakeTwitch,
    token: str,
    sleep: RecordingSleep,
    clock: Clock,
    viewers: list[str],
) -> None:
    reset = str(int(clock().timestamp()))  # the bucket is full again now: no wait for it
    headers = {"Ratelimit-Limit": "800", "Ratelimit-Remaining": "0", "Ratelimit-Reset": reset}
    twitch.fail_next(VIPS, 429, method="POST", headers=headers)

    for user_id in viewers[:10]:
        await helix.add_vip(token, BROADCASTER_ID, user_id)

    statuses = [r.status for r in twitch.requests_to(VIPS, "POST")]
    assert statuses == [429] + [204] * 10  # 11 requests for 10 additions
    assert sleep.delays == [0.0, 10.0]  # the 429's wait, then the window's for the 11th


async def test_a_request_refused_401_keeps_its_slot(
    helix: HelixClient, twitch: FakeTwitch, token: str, sleep: RecordingSleep, viewers: list[str]
) -> None:
    """The caller refreshes the token and sends again (``call_as_streamer``): two requests."""
    twitch.fail_next(VIPS, 401, method="POST")
    with pytest.raises(Unauthorized):
        await helix.add_vip(token, BROADCASTER_ID, viewers[0])

    for user_id in viewers[:10]:
        await helix.add_vip(token, BROADCASTER_ID, user_id)

    assert sleep.delays == [10.0]


async def test_additions_removals_and_reads_do_not_share_a_window(
    helix: HelixClient, twitch: FakeTwitch, token: str, sleep: RecordingSleep, viewers: list[str]
) -> None:
    for user_id in viewers[:10]:
        await helix.add_vip(token, BROADCASTER_ID, user_id)
    for user_id in viewers[:10]:
        await helix.remove_vip(token, BROADCASTER_ID, user_id)
    await helix.get_vips(token, BROADCASTER_ID)

    assert sleep.delays == []


async def test_chat_lines_keep_the_broadcasters_throttle(
    helix: HelixClient, twitch: FakeTwitch, token: str, sleep: RecordingSleep
) -> None:
    """100 lines per 30 s as the broadcaster; the 101st waits."""
    for number in range(101):
        await helix.send_chat_message(token, BROADCASTER_ID, BROADCASTER_ID, f"line {number}")

    assert len(twitch.requests_to("/helix/chat/messages", "POST")) == 101
    assert sleep.delays == [30.0]
