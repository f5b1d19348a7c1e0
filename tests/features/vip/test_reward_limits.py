"""The VIP reward's prompt and limits: the service's bounds and words, what reaches Helix (the
fake Twitch on 127.0.0.1 records the body fields the way Helix stores them), and Helix's own
refusals of values the service would not send."""

from __future__ import annotations

import pytest

from core.features.vip.limits import (
    DEFAULT_PROMPT,
    RewardLimits,
    VipRefused,
    check_limits,
    limits_of,
)
from core.features.vip.ports import Refusal, TwitchRefused
from core.features.watchtime.durations import describe_seconds
from core.platforms.twitch.vip_channel import HelixVipChannel
from tests.fakes.twitch_server import FakeTwitch
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import GUILD
from tests.platforms.twitch import test_vip_channel as helix_port
from tests.platforms.twitch.conftest import BROADCASTER_ID

# The Helix port against the fake Twitch, as tests/platforms/twitch/test_vip_channel.py builds it.
clock, sleep, twitch = helix_port.clock, helix_port.sleep, helix_port.twitch
token_holder, port = helix_port.token_holder, helix_port.port

LIMITS = RewardLimits("Say hi in chat after!", 3, 1, 300)


async def test_limits_are_sent_stored_and_described(vip: Vip) -> None:
    summary = await vip.service.change_limits(GUILD, LIMITS)

    assert vip.twitch.limits[vip.reward_id] == LIMITS
    assert limits_of(await vip.service.settings(GUILD)) == LIMITS
    assert summary == (
        "The reward VIP for a day now has at most 3 per stream, 1 per viewer per stream, "
        "5 min apart."
    )
    off = await vip.service.change_limits(GUILD, RewardLimits("  "))
    assert off == "The reward VIP for a day now has no limits."
    assert limits_of(await vip.service.settings(GUILD)) == RewardLimits("")


async def test_setup_sends_its_limits_and_defaults_to_none(vip: Vip) -> None:
    assert vip.twitch.limits[vip.reward_id] == RewardLimits()
    assert limits_of(await vip.service.settings(GUILD)).prompt == DEFAULT_PROMPT

    await vip.service.setup(GUILD, 900, "Another VIP", 100, 2, LIMITS)
    new_id = (await vip.service.settings(GUILD)).reward_id
    assert vip.twitch.limits[new_id] == LIMITS


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (RewardLimits("x" * 201), "The prompt has at most 200 characters (this one has 201)."),
        (RewardLimits(max_per_stream=0), "Redemptions per stream go from 1 to 1,000,000"),
        (RewardLimits(max_per_user_per_stream=-1), "Redemptions per viewer per stream go from 1"),
        (RewardLimits(cooldown_seconds=0), "The cooldown goes from 1 second to 604,800 seconds"),
        (RewardLimits(cooldown_seconds=604_801), "(7 days)"),
    ],
)
async def test_limits_out_of_bounds_are_refused_before_twitch(
    vip: Vip, limits: RewardLimits, words: str
) -> None:
    before = vip.twitch.limits[vip.reward_id]
    with pytest.raises(VipRefused, match=words.replace("(", r"\(").replace(")", r"\)")):
        await vip.service.change_limits(GUILD, limits)
    with pytest.raises(VipRefused):
        await vip.service.setup(GUILD, 900, "Other", 5, 1, limits)
    assert vip.twitch.limits[vip.reward_id] == before
    assert limits_of(await vip.service.settings(GUILD)) == before


async def test_limits_without_a_reward_are_refused(vip: Vip) -> None:
    await vip.service.change_reward(GUILD, "delete")
    with pytest.raises(VipRefused, match="There is no VIP reward yet"):
        await vip.service.change_limits(GUILD, LIMITS)


def test_bounds_themselves_pass() -> None:
    edge = RewardLimits("x" * 200, 1, 1_000_000, 604_800)
    assert check_limits(edge) == edge


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 s"), (90, "90 s"), (300, "5 min"), (9000, "2 h 30 min"), (604_800, "7 days")],
)
def test_seconds_in_a_streamers_words(seconds: int, words: str) -> None:
    assert describe_seconds(seconds) == words


# --- on Helix (the fake Twitch) ----------------------------------------------------------------


async def test_helix_records_the_limits_and_takes_them_off(
    port: HelixVipChannel, twitch: FakeTwitch
) -> None:
    reward = await port.create_reward(GUILD_ON_HELIX, BROADCASTER_ID, "VIP", 500, LIMITS)
    stored = twitch.rewards[reward.id]
    assert stored["prompt"] == "Say hi in chat after!"
    assert stored["max_per_stream_setting"] == {"is_enabled": True, "max_per_stream": 3}
    assert stored["max_per_user_per_stream_setting"] == {
        "is_enabled": True,
        "max_per_user_per_stream": 1,
    }
    assert stored["global_cooldown_setting"] == {
        "is_enabled": True,
        "global_cooldown_seconds": 300,
    }

    await port.update_reward(
        GUILD_ON_HELIX, BROADCASTER_ID, reward.id, limits=RewardLimits("", None, 2, None)
    )
    stored = twitch.rewards[reward.id]
    assert stored["prompt"] == ""
    assert stored["max_per_stream_setting"]["is_enabled"] is False
    assert stored["max_per_user_per_stream_setting"] == {
        "is_enabled": True,
        "max_per_user_per_stream": 2,
    }
    assert stored["global_cooldown_setting"]["is_enabled"] is False
    assert stored["cost"] == 500  # untouched by a limits change


async def test_a_plain_reward_gets_the_default_prompt_and_no_limits(
    port: HelixVipChannel, twitch: FakeTwitch
) -> None:
    reward = await port.create_reward(GUILD_ON_HELIX, BROADCASTER_ID, "VIP", 500)
    stored = twitch.rewards[reward.id]
    assert stored["prompt"] == DEFAULT_PROMPT
    for setting in (
        "max_per_stream_setting",
        "max_per_user_per_stream_setting",
        "global_cooldown_setting",
    ):
        assert stored[setting]["is_enabled"] is False


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (RewardLimits(max_per_stream=0), "The max_per_stream must be at least 1"),
        (RewardLimits(max_per_user_per_stream=0), "The max_per_user_per_stream must be at least"),
        (RewardLimits(cooldown_seconds=0), "The global_cooldown_seconds must be at least 1"),
        (RewardLimits(cooldown_seconds=604_801), "and at most 604800"),
    ],
)
async def test_helix_refuses_bad_limits_and_keeps_the_reward(
    port: HelixVipChannel, twitch: FakeTwitch, limits: RewardLimits, words: str
) -> None:
    with pytest.raises(TwitchRefused) as on_create:
        await port.create_reward(GUILD_ON_HELIX, BROADCASTER_ID, "VIP", 500, limits)
    assert on_create.value.reason == Refusal.INVALID
    assert words in str(on_create.value)
    assert twitch.rewards == {}

    reward = await port.create_reward(GUILD_ON_HELIX, BROADCASTER_ID, "VIP", 500, LIMITS)
    before = dict(twitch.rewards[reward.id])
    with pytest.raises(TwitchRefused) as on_update:
        await port.update_reward(GUILD_ON_HELIX, BROADCASTER_ID, reward.id, cost=9, limits=limits)
    assert on_update.value.reason == Refusal.INVALID
    assert twitch.rewards[reward.id] == before  # nothing of a refused update is kept


async def test_a_long_prompt_is_refused_before_sending(
    port: HelixVipChannel, twitch: FakeTwitch
) -> None:
    with pytest.raises(TwitchRefused) as refused:
        await port.create_reward(GUILD_ON_HELIX, BROADCASTER_ID, "VIP", 5, RewardLimits("x" * 201))
    assert refused.value.reason == Refusal.INVALID
    assert twitch.rewards == {}


GUILD_ON_HELIX = helix_port.GUILD


async def test_setup_again_without_limits_keeps_the_adopted_rewards_limits(vip: Vip) -> None:
    await vip.service.change_limits(GUILD, LIMITS)
    again = await vip.service.setup(GUILD, 900, "VIP for a day", 800, 12)  # as !vip setup does
    assert again.is_adopted
    assert vip.twitch.limits[vip.reward_id] == LIMITS
    assert limits_of(await vip.service.settings(GUILD)) == LIMITS

    await vip.service.setup(GUILD, 900, "VIP for a day", 800, 12, RewardLimits("New"))
    assert vip.twitch.limits[vip.reward_id] == RewardLimits("New")
    assert limits_of(await vip.service.settings(GUILD)) == RewardLimits("New")
