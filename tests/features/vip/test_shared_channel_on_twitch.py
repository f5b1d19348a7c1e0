"""Two Discord servers following one Twitch channel, each connected as its streamer, on the real
Runtime and the fake Twitch on 127.0.0.1. Each server keeps its own VIP rules, but a reward is
the channel's: one server cannot take over (and re-price) the reward another server's rules
use, a redemption of a reward both name (kept from before) is granted once, by the server that
made it, and the reward stays on Twitch while a server still uses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.events import Platform, RewardRedeemed, Viewer
from core.features.vip import rules_repository
from core.features.vip.limits import VipRefused
from core.features.vip.rules import RuleAsked
from core.features.vip.rules_repository import REWARD, VipRule
from core.runtime import Runtime
from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.features.connections import test_twitch_connection as connection_tests
from tests.features.connections.test_twitch_connection import (
    BROADCASTER,
    GUILD,
    complete,
    consent,
)
from tests.support.delivery import make_queued_calls

clock = connection_tests.clock
twitch = connection_tests.twitch

OTHER_GUILD = GUILD + 1  # a fan server of the same streamer
ADMIN = 777
VIEWER = "5000"
TITLE = "VIP for a day"


@pytest.fixture
async def runtime(tmp_path, twitch, clock, migrated_database_url) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path / "data", clock, DATABASE_URL=migrated_database_url
    )
    for guild_id in (GUILD, OTHER_GUILD):
        runtime.guilds.set_twitch_channel(guild_id, "twitchdev", BROADCASTER)
        await asyncio.to_thread(complete, runtime, consent(runtime, guild_id=guild_id))
    twitch.add_user(VIEWER, "viewer")
    yield runtime
    await runtime.shutdown()
    runtime.close()


def redemption_of(runtime: Runtime, twitch, reward_id: str) -> tuple[str, RewardRedeemed]:  # type: ignore[no-untyped-def]
    redemption_id = twitch.add_redemption(reward_id, VIEWER)
    event = RewardRedeemed(
        platform=Platform.TWITCH,
        event_id=f"{redemption_id}:unfulfilled",
        redemption_id=redemption_id,
        broadcaster_user_id=BROADCASTER,
        occurred_at=runtime.clock(),
        viewer=Viewer(VIEWER, "Viewer"),
        reward_id=reward_id,
        reward_title=TITLE,
        cost=500,
        status="unfulfilled",
    )
    return redemption_id, event


async def share_from_before(runtime: Runtime, reward_id: str) -> int:
    """The fan server's rule naming the main server's reward, as an earlier version let it."""
    rule = VipRule(
        0, OTHER_GUILD, Platform.TWITCH, REWARD, 48, runtime.clock(),
        reward_id=reward_id, reward_title=TITLE, reward_cost=500,
    )  # fmt: skip
    return await runtime.vip.effects.in_transaction(
        lambda conn: rules_repository.add_rule(conn, rule)
    )


async def test_a_second_server_cannot_take_over_the_reward_of_the_first(runtime, twitch):
    """The fan server's !vip setup with the same title would adopt the main server's reward
    (and change its cost): refused, the reward as it was; with its own title it gets its own."""
    made = (await runtime.vip.setup(GUILD, ADMIN, TITLE, 500, 24)).reward

    with pytest.raises(VipRefused, match="another Discord server"):
        await runtime.vip.setup(OTHER_GUILD, ADMIN, TITLE.upper(), 100, 24)
    assert twitch.rewards[made.id]["cost"] == 500
    assert (await runtime.vip.effects.settings(OTHER_GUILD)).reward_id is None

    own = (await runtime.vip.setup(OTHER_GUILD, ADMIN, "Fan VIP", 100, 24)).reward
    assert own.id != made.id
    assert {twitch.rewards[made.id]["cost"], twitch.rewards[own.id]["cost"]} == {500, 100}


async def test_a_rule_cannot_name_the_reward_of_another_server(runtime, twitch):
    made = (await runtime.vip.setup(GUILD, ADMIN, TITLE, 500, 24)).reward
    rules = runtime.vip.rules
    rules.granted_scopes = lambda guild_id: ("bits:read", "channel:read:subscriptions")
    by_id = RuleAsked(Platform.TWITCH, REWARD, 48, reward_id=made.id)
    by_title = RuleAsked(Platform.TWITCH, REWARD, 48, title=TITLE, cost=50)

    for asked in (by_id, by_title):
        with pytest.raises(VipRefused, match="another Discord server"):
            await rules.add(OTHER_GUILD, asked)
    assert await rules.list(OTHER_GUILD) == []
    assert twitch.rewards[made.id]["cost"] == 500


async def test_a_reward_two_servers_name_is_granted_once_by_the_one_that_made_it(runtime, twitch):
    """Both servers get the redemption: only the main server (whose reward it is) adds the VIP
    and fulfils it; the fan server neither refuses it ("already a permanent VIP", a refund
    racing the fulfilment) nor says so in chat, nor records the viewer as a permanent VIP."""
    made = (await runtime.vip.setup(GUILD, ADMIN, TITLE, 500, 24)).reward
    await share_from_before(runtime, made.id)
    redemption_id, event = redemption_of(runtime, twitch, made.id)

    for guild_id in (OTHER_GUILD, GUILD):  # the dispatcher hands it to each server
        await runtime.vip.queued.handle(guild_id, event)
        await make_queued_calls(runtime)
    await make_queued_calls(runtime)

    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    assert twitch.redemptions[redemption_id]["status"] == "FULFILLED"
    assert [g.platform_user_id for g in await runtime.vip.list_vips(GUILD)] == [VIEWER]
    assert await runtime.vip.list_vips(OTHER_GUILD) == []
    assert await runtime.vip.log(OTHER_GUILD) == []
    assert [e.action for e in await runtime.vip.log(GUILD)] == ["granted"]
    [line] = [m.message for m in twitch.chat_messages]  # not "already a permanent VIP" too
    assert "Viewer is a VIP until" in line


async def test_removing_a_rule_keeps_the_reward_another_server_uses(runtime, twitch):
    made = (await runtime.vip.setup(GUILD, ADMIN, TITLE, 500, 24)).reward
    shared = await share_from_before(runtime, made.id)

    await runtime.vip.rules.remove(OTHER_GUILD, shared)
    await make_queued_calls(runtime)
    assert made.id in twitch.rewards  # the main server's redemptions still earn VIP

    [rule] = await runtime.vip.rules.list(GUILD)
    await runtime.vip.rules.remove(GUILD, rule.id)
    await make_queued_calls(runtime)
    assert made.id not in twitch.rewards  # nobody uses it now


async def test_only_the_server_that_made_a_shared_reward_changes_it(runtime, twitch):
    """A reward both servers name (kept from before): the fan server's cost, title or limits
    change would re-price the main server's reward, so it is refused with nothing changed on
    Twitch; its rule's hours are its own. The main server changes its reward as before."""
    made = (await runtime.vip.setup(GUILD, ADMIN, TITLE, 500, 24)).reward
    shared = await share_from_before(runtime, made.id)
    rules = runtime.vip.rules

    for change in ({"cost": 50}, {"title": "Cheap VIP"}):
        with pytest.raises(VipRefused, match="another Discord server") as refused:
            await rules.change(OTHER_GUILD, shared, **change)
        assert "only that server changes it" in str(refused.value)
    assert (twitch.rewards[made.id]["cost"], twitch.rewards[made.id]["title"]) == (500, TITLE)
    assert (await rules.change(OTHER_GUILD, shared, hours=12)).hours == 12

    [own] = await rules.list(GUILD)
    assert (await rules.change(GUILD, own.id, cost=600)).reward_cost == 600
    assert twitch.rewards[made.id]["cost"] == 600
