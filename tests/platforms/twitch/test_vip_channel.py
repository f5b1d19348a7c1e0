"""The temporary VIP port on Helix, against the fake Twitch on 127.0.0.1: Twitch's refusals
become the port's typed refusals, one per decision-table row."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.features.vip.ports import Refusal, TwitchBusy, TwitchRefused
from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.vip_channel import HelixVipChannel
from tests.fakes.twitch_server import CLIENT_ID, FakeTwitch
from tests.platforms.twitch import conftest as fake_twitch
from tests.platforms.twitch.conftest import BROADCASTER_ID
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep

# The fake Twitch on 127.0.0.1 and its clock, as tests/platforms/twitch has them.
clock, sleep, twitch = fake_twitch.clock, fake_twitch.sleep, fake_twitch.twitch

GUILD = 111
VIEWER = "5000"


@pytest.fixture
def token_holder(twitch: FakeTwitch) -> dict[str, str | None]:
    return {"token": twitch.issue_user_token()}


@pytest.fixture
async def port(
    twitch: FakeTwitch, sleep: RecordingSleep, clock: Clock, token_holder
) -> AsyncIterator[HelixVipChannel]:
    twitch.add_user(VIEWER, "viewer")

    async def token_for(guild_id: int) -> str | None:
        return token_holder["token"] if guild_id == GUILD else None

    channel = HelixVipChannel(
        lambda: HelixClient(
            twitch.helix_url, CLIENT_ID, sleep=sleep, jitter=lambda: 1.0, clock=clock
        ),
        lambda: token_for,
    )
    yield channel
    await channel.aclose()


async def test_add_and_remove_a_vip(port: HelixVipChannel, twitch: FakeTwitch) -> None:
    await port.add_vip(GUILD, BROADCASTER_ID, VIEWER)
    assert twitch.channels[BROADCASTER_ID].vips == [VIEWER]
    assert [v.user_id for v in await port.list_vips(GUILD, BROADCASTER_ID)] == [VIEWER]

    await port.remove_vip(GUILD, BROADCASTER_ID, VIEWER)
    with pytest.raises(TwitchRefused) as again:
        await port.remove_vip(GUILD, BROADCASTER_ID, VIEWER)
    assert again.value.reason == Refusal.NOT_VIP


@pytest.mark.parametrize(
    ("arrange", "reason"),
    [
        (lambda channel: channel.moderators.add(VIEWER), Refusal.MODERATOR),
        (lambda channel: channel.vips.append(VIEWER), Refusal.ALREADY_VIP),
        (lambda channel: setattr(channel, "vip_slots", 0), Refusal.NO_SLOTS),
        (lambda channel: setattr(channel, "has_build_a_community", False), Refusal.NO_COMMUNITY),
        (lambda channel: channel.blocked.add(VIEWER), Refusal.BANNED),
    ],
    ids=["422-moderator", "422-already-vip", "409", "425", "400-blocked"],
)
async def test_add_vip_refusals_are_typed(
    port: HelixVipChannel, twitch: FakeTwitch, arrange, reason: Refusal
) -> None:
    arrange(twitch.channels[BROADCASTER_ID])
    with pytest.raises(TwitchRefused) as refused:
        await port.add_vip(GUILD, BROADCASTER_ID, VIEWER)
    assert refused.value.reason == reason


async def test_eleven_additions_in_ten_seconds_wait_instead_of_failing(
    port: HelixVipChannel, twitch: FakeTwitch, sleep: RecordingSleep
) -> None:
    twitch.channels[BROADCASTER_ID].vip_slots = 50
    viewers = [str(6000 + n) for n in range(11)]
    for viewer in viewers:
        twitch.add_user(viewer, f"v{viewer}")
        await port.add_vip(GUILD, BROADCASTER_ID, viewer)
    assert twitch.channels[BROADCASTER_ID].vips == viewers
    assert sleep.delays  # the 11th waited for Twitch's window


async def test_no_token_or_a_dead_grant_is_not_connected(
    port: HelixVipChannel, twitch: FakeTwitch, token_holder
) -> None:
    with pytest.raises(TwitchRefused) as other_guild:
        await port.add_vip(999, BROADCASTER_ID, VIEWER)
    twitch.revoke_grant()
    with pytest.raises(TwitchRefused) as revoked:
        await port.add_vip(GUILD, BROADCASTER_ID, VIEWER)
    assert other_guild.value.reason == revoked.value.reason == Refusal.NOT_CONNECTED
    assert "Twitch is not connected" in str(revoked.value)


async def test_without_a_token_provider_every_call_is_not_connected(twitch: FakeTwitch) -> None:
    port = HelixVipChannel(lambda: HelixClient(twitch.helix_url, CLIENT_ID), lambda: None)
    with pytest.raises(TwitchRefused) as refused:
        await port.list_vips(GUILD, BROADCASTER_ID)
    assert refused.value.reason == Refusal.NOT_CONNECTED
    await port.send_chat(GUILD, BROADCASTER_ID, "never raises")
    await port.aclose()


async def test_reward_and_redemption_lifecycle(port: HelixVipChannel, twitch: FakeTwitch) -> None:
    reward = await port.create_reward(GUILD, BROADCASTER_ID, "VIP for a day", 500)
    assert twitch.rewards[reward.id]["should_redemptions_skip_request_queue"] is False
    assert [r.id for r in await port.list_rewards(GUILD, BROADCASTER_ID)] == [reward.id]
    paused = await port.update_reward(GUILD, BROADCASTER_ID, reward.id, cost=800, is_paused=True)
    assert (paused.cost, paused.is_paused) == (800, True)

    redemption_id = twitch.add_redemption(reward.id, VIEWER)
    [pending] = await port.list_unfulfilled(GUILD, BROADCASTER_ID, reward.id)
    assert (pending.id, pending.user_id, pending.user_name) == (redemption_id, VIEWER, "Viewer")
    await port.set_redemption_status(GUILD, BROADCASTER_ID, reward.id, redemption_id, "CANCELED")
    assert twitch.redemptions[redemption_id]["status"] == "CANCELED"
    assert await port.list_unfulfilled(GUILD, BROADCASTER_ID, reward.id) == []
    with pytest.raises(TwitchRefused) as again:
        await port.set_redemption_status(
            GUILD, BROADCASTER_ID, reward.id, redemption_id, "CANCELED"
        )
    assert again.value.reason == Refusal.NOT_FOUND

    await port.delete_reward(GUILD, BROADCASTER_ID, reward.id)
    assert reward.id not in twitch.rewards


async def test_a_reward_made_on_twitch_is_not_ours(port: HelixVipChannel, twitch: FakeTwitch):
    theirs = twitch.add_reward(BROADCASTER_ID, "Hydrate", 100)
    assert await port.list_rewards(GUILD, BROADCASTER_ID) == []
    with pytest.raises(TwitchRefused) as refused:
        await port.update_reward(GUILD, BROADCASTER_ID, theirs, cost=5)
    assert refused.value.reason == Refusal.FORBIDDEN


async def test_find_user_and_chat(port: HelixVipChannel, twitch: FakeTwitch) -> None:
    found = await port.find_user(GUILD, "viewer")
    assert found is not None
    assert found.user_id == VIEWER
    assert await port.find_user(GUILD, "nobody_here") is None
    await port.send_chat(GUILD, BROADCASTER_ID, "viewer is a VIP until tomorrow.")
    assert [m.message for m in twitch.chat_messages] == ["viewer is a VIP until tomorrow."]


async def test_twitch_not_answering_is_busy(port: HelixVipChannel, twitch: FakeTwitch) -> None:
    twitch.disconnect_next("/helix/channels/vips", method="POST")
    with pytest.raises(TwitchBusy):
        await port.add_vip(GUILD, BROADCASTER_ID, VIEWER)
