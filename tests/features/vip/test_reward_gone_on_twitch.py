"""A Twitch reward rule whose reward the streamer deleted on twitch.tv, end to end on the real
Runtime and the fake Twitch on 127.0.0.1: the first 404 for it marks the rule broken (one
warning), its reward is asked of Twitch no more, the streamer reads why (the rules, the
status), the guild's other rules and other guilds keep working; making the reward again clears
the mark, and removing the rule does not leave a deletion call failing for ever."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.events import Platform
from core.features.connections.checks import twitch_checks
from core.features.vip import reward_deletion
from core.features.vip.limits import RewardLimits, VipRefused
from core.features.vip.rules import RuleAsked
from core.features.vip.rules_repository import REWARD_GONE, VipRule
from core.outbox import store
from core.runtime import Runtime
from tests.fakes.twitch_server import FakeTwitch
from tests.features.connections.test_twitch_connection import BROADCASTER, GUILD, complete, consent
from tests.features.connections.test_twitch_transport_lines import WORDS
from tests.features.vip import test_redemptions_on_twitch as on_twitch
from tests.features.vip.test_redemptions_on_twitch import VIEWER
from tests.support.delivery import make_queued_calls

clock = on_twitch.clock
twitch = on_twitch.twitch
runtime = on_twitch.runtime

OTHER_GUILD = GUILD + 1
REDEMPTIONS = "/helix/channel_points/custom_rewards/redemptions"
DAY = RuleAsked(Platform.TWITCH, "reward", 24, title="VIP for a day", cost=500)
WEEK = RuleAsked(Platform.TWITCH, "reward", 168, title="VIP for a week", cost=5000)
MONTH = RuleAsked(Platform.TWITCH, "reward", 720, title="VIP for a month", cost=20000)


def reads_of(twitch: FakeTwitch, reward_id: str) -> int:
    """How many times StreamKeeper asked Twitch for the reward's redemptions."""
    return sum(
        1 for r in twitch.requests_to(REDEMPTIONS, "GET") if r.query.get("reward_id") == [reward_id]
    )


async def rule_of(runtime: Runtime, guild_id: int, rule_id: int) -> VipRule:
    [rule] = [r for r in await runtime.vip.rules.list(guild_id) if r.id == rule_id]
    return rule


def status_lines(runtime: Runtime, guild_id: int = GUILD) -> list[str]:
    return [c.detail for c in twitch_checks(runtime.twitch_setup.status(guild_id), WORDS)]


@pytest.fixture
async def ruled(runtime, twitch) -> tuple[Runtime, VipRule, VipRule]:  # type: ignore[no-untyped-def]
    """The streamer connected; two reward rules, made on Twitch by StreamKeeper."""
    await asyncio.to_thread(complete, runtime, consent(runtime))
    twitch.add_user(VIEWER, "viewer")
    day = await runtime.vip.rules.add(GUILD, DAY)
    week = await runtime.vip.rules.add(GUILD, WEEK)
    return runtime, day, week


async def test_a_reward_deleted_on_twitch_tv_marks_its_rule_once_and_is_asked_no_more(
    ruled, twitch, caplog
):
    """The 10-minute read gets 404 for the deleted reward: its rule is marked broken with one
    warning, the next reads do not ask Twitch about it (no warning every 10 minutes), and the
    other rule's redemption is still read and granted."""
    runtime, day, week = ruled
    twitch.delete_reward_on_twitch_tv(day.reward_id)
    twitch.add_redemption(week.reward_id, VIEWER)

    with caplog.at_level(logging.WARNING):
        await runtime.vip.drain_missed()
        await make_queued_calls(runtime)
        for _ in range(3):  # the reads of the next half hour
            await runtime.vip.drain_missed()
            await make_queued_calls(runtime)

    assert reads_of(twitch, day.reward_id) == 1
    assert reads_of(twitch, week.reward_id) >= 4  # once a read at least
    broken = await rule_of(runtime, GUILD, day.id)
    assert broken.reward_gone_at == runtime.clock()
    assert broken.problem == REWARD_GONE
    assert (await rule_of(runtime, GUILD, week.id)).problem is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [w for w in warnings if day.reward_id in w] == [
        f"guild {GUILD}: VIP rule {day.id} is broken: its Twitch reward {day.reward_id} was "
        "deleted on twitch.tv; it is no longer read"
    ]
    assert twitch.channels[BROADCASTER].vips == [VIEWER]  # the week rule still grants
    assert any(
        "1 VIP rule lost its reward, deleted on twitch.tv: viewers cannot redeem it" in line
        for line in status_lines(runtime)
    )


async def test_changing_a_deleted_reward_says_why_and_marks_the_rule(ruled, twitch):
    """Changing the cost of a reward deleted on twitch.tv: Twitch answers 404; the admin reads
    why, and the rule is marked without waiting for the 10-minute read."""
    runtime, day, _ = ruled
    twitch.delete_reward_on_twitch_tv(day.reward_id)

    with pytest.raises(VipRefused, match=r"Its reward was deleted on twitch\.tv"):
        await runtime.vip.rules.change(GUILD, day.id, cost=800)

    assert (await rule_of(runtime, GUILD, day.id)).problem == REWARD_GONE
    await runtime.vip.drain_missed()
    assert reads_of(twitch, day.reward_id) == 0


async def test_pausing_the_servers_reward_deleted_on_twitch_tv_says_why(runtime, twitch):
    """``!vip reward pause`` (and cost, title, limits) of the server's reward, deleted on
    twitch.tv: refused in the streamer's words, and its rule marked."""
    await asyncio.to_thread(complete, runtime, consent(runtime))
    limits = RewardLimits("Say hi", max_per_stream=3, max_per_user_per_stream=1)
    setup = await runtime.vip.setup(GUILD, 777, "VIP for a day", 500, 24, limits)
    reward_id = setup.reward.id
    twitch.delete_reward_on_twitch_tv(reward_id)

    for what, value in (("pause", None), ("cost", "900")):
        with pytest.raises(VipRefused, match=r"Its reward was deleted on twitch\.tv"):
            await runtime.vip.change_reward(GUILD, what, value)

    [rule] = await runtime.vip.rules.list(GUILD)
    assert rule.problem == REWARD_GONE
    made = await runtime.vip.rules.make_reward_again(GUILD, rule.id)
    assert (await runtime.vip.settings(GUILD)).reward_id == made.reward_id
    again = twitch.rewards[made.reward_id]  # with the server's prompt and limits
    assert again["prompt"] == "Say hi"
    assert again["max_per_stream_setting"] == {"is_enabled": True, "max_per_stream": 3}
    assert "paused" not in await runtime.vip.change_reward(GUILD, "cost", "900")


async def test_making_the_reward_again_clears_the_mark_and_it_grants_again(ruled, twitch):
    runtime, day, _ = ruled
    twitch.delete_reward_on_twitch_tv(day.reward_id)
    await runtime.vip.drain_missed()
    with pytest.raises(VipRefused, match="not known to be deleted"):
        await runtime.vip.rules.make_reward_again(GUILD, ruled[2].id)  # the week's is fine

    made = await runtime.vip.rules.make_reward_again(GUILD, day.id)

    assert made.reward_id != day.reward_id
    assert (made.reward_title, made.reward_cost, made.hours) == ("VIP for a day", 500, 24)
    assert made.reward_gone_at is None
    assert twitch.rewards[made.reward_id]["title"] == "VIP for a day"
    assert runtime.twitch_setup.status(GUILD).vip_broken == 0
    twitch.add_redemption(made.reward_id, VIEWER)
    await runtime.vip.drain_missed()
    await make_queued_calls(runtime)
    assert twitch.channels[BROADCASTER].vips == [VIEWER]


async def test_removing_a_broken_rule_leaves_no_call_failing_on_twitch(ruled, twitch):
    """The reward is gone already: the queued deletion is done at once ("gone from Twitch
    already"), not refused or retried."""
    runtime, day, week = ruled
    twitch.delete_reward_on_twitch_tv(day.reward_id)
    await runtime.vip.drain_missed()

    await runtime.vip.rules.remove(GUILD, day.id)
    await make_queued_calls(runtime)

    with runtime.engine.connect() as conn:
        calls = store.of_guild(conn, GUILD)
    assert [(c.state, c.result) for c in calls if c.kind == reward_deletion.KIND] == [
        ("done", "gone from Twitch already")
    ]
    assert [r.id for r in await runtime.vip.rules.list(GUILD)] == [week.id]
    assert not any("lost" in line for line in status_lines(runtime))


async def test_another_guild_on_the_channel_keeps_its_rule(ruled, twitch):
    """Another server following the same channel has its own reward: one guild's deleted
    reward marks only that guild's rule."""
    runtime, day, _ = ruled
    runtime.guilds.set_twitch_channel(OTHER_GUILD, "twitchdev", BROADCASTER)
    await asyncio.to_thread(complete, runtime, consent(runtime, guild_id=OTHER_GUILD))
    theirs = await runtime.vip.rules.add(OTHER_GUILD, MONTH)
    twitch.delete_reward_on_twitch_tv(day.reward_id)

    await runtime.vip.drain_missed()
    await runtime.vip.drain_missed()

    assert (await rule_of(runtime, GUILD, day.id)).problem == REWARD_GONE
    assert (await rule_of(runtime, OTHER_GUILD, theirs.id)).problem is None
    assert reads_of(twitch, theirs.reward_id) == 2
    assert not any("lost" in line for line in status_lines(runtime, OTHER_GUILD))
