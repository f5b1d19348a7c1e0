"""``!vip limits``: the reward's limits and prompt from Discord, as the dashboard sets them; an
omitted prompt is kept, off is no limit, and every bad value gets a friendly reply."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.discord_bot.vip.cog import parse_limit
from core.features.vip.limits import RewardLimits
from core.features.vip.service import VipRefused
from tests.discord_bot.fake_discord import say
from tests.discord_bot.vip import test_cog as vip_cog

twitch, vip_service, services, followed = (
    vip_cog.twitch, vip_cog.vip_service, vip_cog.services, vip_cog.followed
)  # fmt: skip


@given(st.one_of(st.text(max_size=40), st.from_regex(r"[0-9]{1,20}", fullmatch=True)))
@example("١٢")  # Arabic-Indic digits
@example(" OFF ")
def test_any_value_is_a_count_off_or_a_refusal(value: str) -> None:
    try:
        parsed = parse_limit(value, "Per stream")
    except VipRefused as refused:
        message, parsed = str(refused), -1
    if parsed == -1:
        assert message == "Per stream is a whole number or off."
        return
    assert parsed is None or 0 <= parsed < 10**9
    if parsed is None:
        assert value.strip().lower() in ("off", "none")


async def test_limits_are_set_shown_and_the_prompt_kept(manager, followed, twitch):
    await say("!vip setup VIP for a day 5000 24", manager)
    [reward_id] = twitch.rewards

    [reply] = await say("!vip limits 3 1 300 Say hi in chat!", manager)
    assert reply.content == (
        "The reward VIP for a day now has at most 3 per stream, 1 per viewer per stream, "
        "5 min apart."
    )
    assert twitch.limits[reward_id] == RewardLimits("Say hi in chat!", 3, 1, 300)

    [reply] = await say("!vip limits off 2 off", manager)
    assert reply.content == "The reward VIP for a day now has 2 per viewer per stream."
    assert twitch.limits[reward_id] == RewardLimits("Say hi in chat!", None, 2, None)

    [shown] = await say("!vip settings", manager)
    assert "Limits: 2 per viewer per stream" in shown.content


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("!vip limits lots 1 60", "Per stream is a whole number or off."),
        ("!vip limits 1 -1 60", "Per viewer is a whole number or off."),
        ("!vip limits 1 1 5min", "The cooldown is a whole number or off."),
        ("!vip limits 0 1 60", "Redemptions per stream go from 1 to 1,000,000"),
        ("!vip limits 1 1 604801", "The cooldown goes from 1 second to 604,800 seconds (7 days)"),
        ("!vip limits 1 1 60 " + "x" * 201, "The prompt has at most 200 characters"),
    ],
)
async def test_bad_limits_get_a_friendly_reply(manager, followed, twitch, command, answer):
    await say("!vip setup VIP for a day 5000 24", manager)
    [reward_id] = twitch.rewards
    [reply] = await say(command, manager)
    assert reply.content.startswith(answer)
    assert twitch.limits[reward_id] == RewardLimits()


async def test_limits_without_a_reward_are_refused(manager, followed):
    [reply] = await say("!vip limits 1 1 60", manager)
    assert reply.content.startswith("There is no VIP reward yet")
