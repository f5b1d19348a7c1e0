"""``!twitch disconnect`` (and the dashboard's Disconnect button) pauses the server's VIP
channel-point rewards on Twitch, as the streamer, before their tokens are given back: nothing
would grant or refund a redemption until they connect again. Connecting again resumes exactly
those; one the streamer had paused stays paused, one another server following the channel uses
is left alone, and a Twitch that fails or refuses leaves the disconnect done with words that say
which rewards to pause by hand. End to end on the real Runtime and the fake Twitch on
127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.connections.streamer_tokens import GivenBack
from core.features.connections.tables import twitch_connections
from core.features.vip import rules_repository
from core.features.vip.rules import RuleAsked
from core.features.vip.rules_repository import REWARD, VipRule
from core.runtime import Runtime
from tests.fakes.twitch_server import FakeTwitch
from tests.features.connections.test_twitch_connection import BROADCASTER, GUILD, complete, consent
from tests.features.vip import test_redemptions_on_twitch as on_twitch
from tests.support.delivery import make_queued_calls

clock = on_twitch.clock
twitch = on_twitch.twitch
runtime = on_twitch.runtime

OTHER_GUILD = GUILD + 1
REWARDS = "/helix/channel_points/custom_rewards"
REVOKE = "/oauth2/revoke"
DAY = RuleAsked(Platform.TWITCH, "reward", 24, title="VIP for a day", cost=500)
WEEK = RuleAsked(Platform.TWITCH, "reward", 168, title="VIP for a week", cost=5000)
BY_HAND = (
    "The streamer should pause them in their Twitch dashboard (Channel Points > Manage "
    "Rewards): until they connect Twitch here again, viewers can redeem them and nothing grants "
    "or refunds their points."
)


async def connect(runtime: Runtime, guild_id: int = GUILD) -> None:
    await asyncio.to_thread(complete, runtime, consent(runtime, guild_id=guild_id))


@pytest.fixture
async def ruled(runtime, twitch) -> tuple[Runtime, str, str]:  # type: ignore[no-untyped-def]
    """The streamer connected; two reward rules whose rewards StreamKeeper made on Twitch."""
    await connect(runtime)
    day = await runtime.vip.rules.add(GUILD, DAY)
    week = await runtime.vip.rules.add(GUILD, WEEK)
    return runtime, day.reward_id, week.reward_id


def paused(twitch: FakeTwitch) -> dict[str, bool]:
    return {r["title"]: r["is_paused"] for r in twitch.rewards.values()}


def pauses(twitch: FakeTwitch) -> list[tuple[str, bool]]:
    """The reward updates that asked Twitch to pause or resume, in order: (reward id, paused)."""
    return [
        (r.query["id"][0], r.json["is_paused"])
        for r in twitch.requests_to(REWARDS, "PATCH")
        if "is_paused" in (r.json or {})
    ]


def is_connected(runtime: Runtime, guild_id: int = GUILD) -> bool:
    with runtime.engine.connect() as conn:
        query = sa.select(twitch_connections.c.guild_id).where(
            twitch_connections.c.guild_id == guild_id
        )
        return conn.execute(query).first() is not None


async def test_disconnect_pauses_the_servers_rewards_while_the_tokens_still_work(ruled, twitch):
    runtime, day, week = ruled
    twitch.add_reward(BROADCASTER, "Hydrate", 100)  # the streamer's own, made on twitch.tv

    done = await runtime.twitch_setup.disconnect(GUILD)

    assert done is not None
    assert done.given_back is GivenBack.TAKEN_BACK
    assert done.rewards == (
        "VIP rewards paused on Twitch until the streamer connects Twitch here again: "
        "'VIP for a day', 'VIP for a week'."
    )
    assert paused(twitch) == {"VIP for a day": True, "VIP for a week": True, "Hydrate": False}
    # Asked before the tokens went: the pauses are all before the first revoke.
    paths = [r.path for r in twitch.requests if r.path in (REWARDS, REVOKE)]
    assert paths.index(REVOKE) > max(i for i, p in enumerate(paths) if p == REWARDS)
    assert sorted(pauses(twitch)) == sorted([(day, True), (week, True)])
    assert not is_connected(runtime)


async def test_connecting_again_resumes_only_what_the_disconnect_paused(ruled, twitch):
    """The streamer had paused the week's reward themselves: it stays paused."""
    runtime, day, week = ruled
    twitch.rewards[week]["is_paused"] = True  # paused on twitch.tv

    done = await runtime.twitch_setup.disconnect(GUILD)

    assert done is not None
    assert done.rewards == (
        "VIP rewards paused on Twitch until the streamer connects Twitch here again: "
        "'VIP for a day'. 'VIP for a week' was paused on Twitch already and stays paused."
    )
    assert pauses(twitch) == [(day, True)]

    await connect(runtime)
    await make_queued_calls(runtime)

    assert paused(twitch) == {"VIP for a day": False, "VIP for a week": True}
    assert pauses(twitch) == [(day, True), (day, False)]
    # Resumed once: a later consent resumes nothing more.
    await connect(runtime)
    await make_queued_calls(runtime)
    assert pauses(twitch) == [(day, True), (day, False)]


async def test_a_reward_another_server_following_the_channel_uses_is_left_alone(ruled, twitch):
    runtime, day, week = ruled
    runtime.guilds.set_twitch_channel(OTHER_GUILD, "twitchdev", BROADCASTER)
    rule = VipRule(0, OTHER_GUILD, Platform.TWITCH, REWARD, 24, runtime.clock(), reward_id=day,
                   reward_title="VIP for a day", reward_cost=500)  # fmt: skip
    with runtime.engine.begin() as conn:  # as an earlier version let two servers name one
        rules_repository.add_rule(conn, rule)

    done = await runtime.twitch_setup.disconnect(GUILD)

    assert done is not None
    assert done.rewards == (
        "VIP rewards paused on Twitch until the streamer connects Twitch here again: "
        "'VIP for a week'. 'VIP for a day' stays on: another server following the channel "
        "uses it."
    )
    assert paused(twitch) == {"VIP for a day": False, "VIP for a week": True}
    assert pauses(twitch) == [(week, True)]


@pytest.mark.parametrize(
    ("failure", "why"),
    [
        ("5xx", "Twitch could not be reached"),
        ("unreachable", "Twitch could not be reached"),
        ("refused", "Twitch said no: forbidden for tests"),
    ],
)
async def test_twitch_failing_leaves_the_disconnect_done_and_says_what_to_pause_by_hand(
    ruled, twitch, failure, why
):
    runtime, _, _ = ruled
    if failure == "5xx":
        twitch.fail_next(REWARDS, 503, times=50)
    elif failure == "unreachable":
        twitch.stop()  # nothing listens on its port any more
    else:
        body = {"error": "Forbidden", "status": 403, "message": "forbidden for tests"}
        twitch.fail_next(REWARDS, 403, times=50, method="PATCH", body=body)

    done = await runtime.twitch_setup.disconnect(GUILD)

    assert done is not None
    assert done.rewards == (
        f"VIP rewards not paused on Twitch ('VIP for a day', 'VIP for a week'): {why}. {BY_HAND}"
    )
    assert not is_connected(runtime)
    if failure != "unreachable":
        assert paused(twitch) == {"VIP for a day": False, "VIP for a week": False}
        # Nothing is left to resume: connecting again asks Twitch to resume none of them.
        asked = pauses(twitch)
        assert all(is_paused for _, is_paused in asked)
        twitch.recover()
        await connect(runtime)
        await make_queued_calls(runtime)
        assert pauses(twitch) == asked


async def test_a_repeated_disconnect_pauses_nothing_twice_and_the_reconnect_still_resumes(
    ruled, twitch
):
    """Disconnected, connected again (its resume not made yet: the bot busy), disconnected
    again: the reward the first disconnect paused is not taken for one the streamer paused."""
    runtime, day, week = ruled
    first = await runtime.twitch_setup.disconnect(GUILD)
    assert first is not None
    assert await runtime.twitch_setup.disconnect(GUILD) is None  # no connection: nothing asked
    assert len(pauses(twitch)) == 2

    await connect(runtime)  # its resume queued, not made yet
    again = await runtime.twitch_setup.disconnect(GUILD)

    assert again is not None
    assert again.rewards == (
        "VIP rewards paused on Twitch until the streamer connects Twitch here again: "
        "'VIP for a day', 'VIP for a week'."
    )
    assert len(pauses(twitch)) == 2  # paused still: not asked again
    await connect(runtime)
    await make_queued_calls(runtime)
    assert paused(twitch) == {"VIP for a day": False, "VIP for a week": False}
    assert sorted(pauses(twitch)[2:]) == sorted([(day, False), (week, False)])


async def test_a_server_without_twitch_rewards_says_nothing_of_them(runtime, twitch):
    await connect(runtime)

    done = await runtime.twitch_setup.disconnect(GUILD)

    assert done is not None
    assert done.rewards is None
    assert pauses(twitch) == []
