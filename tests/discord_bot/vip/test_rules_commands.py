"""``!vip rules`` and ``!vip rule add|remove`` on dpytest's Discord: the options of the command
line, Manage Server only, each refusal told."""

from __future__ import annotations

import pytest

from core.discord_bot.services import BotServices
from core.features.vip.service import VipService
from tests.discord_bot.fake_discord import say
from tests.discord_bot.fake_roles import give_bot_a_role, make_role
from tests.features.vip.doubles import BROADCASTER, FakeVipChannel
from tests.support.waiting import RecordingSleep


@pytest.fixture
def vip_service(sqlite_engine, clock, guilds) -> VipService:  # type: ignore[no-untyped-def]
    return VipService(
        sqlite_engine,
        clock,
        FakeVipChannel(clock),
        lambda guild_id: BROADCASTER if guilds.twitch_channel_of(guild_id) else None,
        sleep=RecordingSleep(clock),
        granted_scopes=lambda guild_id: ("channel:read:subscriptions",),  # no bits:read
    )


@pytest.fixture
def services(watchtime, guilds, health_report, vip_service) -> BotServices:  # type: ignore[no-untyped-def]
    return BotServices(
        watchtime=watchtime, guilds=guilds, health=lambda: health_report, vip=vip_service
    )


async def test_rules_are_added_listed_and_removed(manager, guild_a, guilds) -> None:  # type: ignore[no-untyped-def]
    guilds.set_twitch_channel(guild_a.id, "twitchdev", BROADCASTER)
    await give_bot_a_role(guild_a)
    role = make_role(guild_a, "Kick VIP", 3)
    await say(f"!vip kick <@&{role.id}> Kick VIP for a day", manager)

    [none] = await say("!vip rules", manager)
    assert none.content.startswith("No VIP rules yet")
    [sub] = await say("!vip rule add --platform twitch --when sub --tier 2 --hours 48", manager)
    assert sub.content == (
        "Rule **1** added: a subscription of tier 2 or higher, new or renewed gives 48 h of VIP."
    )
    [reward] = await say(
        '!vip rule add --platform twitch --when reward --title "VIP 1 week" --cost 25,000 '
        "--hours 168",
        manager,
    )
    assert reward.content.startswith("Rule **2** added: the reward 'VIP 1 week' (25,000 points)")
    await say("!vip rule add --platform kick --when kicks --at-least 100 --hours 12", manager)
    [listing] = await say("!vip rules", manager)
    assert listing.content.splitlines()[1:] == [
        "**1** · Twitch · a subscription of tier 2 or higher, new or renewed · 48 h",
        "**2** · Twitch · the reward 'VIP 1 week' (25,000 points) · 168 h",
        "**3** · Kick · at least 100 KICKs · 12 h",
    ]
    [removed] = await say("!vip rule remove 3", manager)
    assert removed.content == "Rule **3** removed (at least 100 KICKs)."
    [removed] = await say("!vip rule remove 2", manager)
    assert removed.content == (
        "Rule **2** removed (the reward 'VIP 1 week' (25,000 points)); its reward will be "
        "deleted on Twitch."
    )


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ("--platform twitch --when bits --at-least 500 --hours 24", "has not granted bits:read"),
        ("--platform twitch --when bits --hours 24", "--at-least N bits"),
        ("--platform kick --when bits --at-least 5 --hours 1", "Bits are Twitch"),
        ("--platform twitch --when sub --tier 2", "Usage:"),
        ("--platform twitch --when sub --tier two --hours 1", "--tier is a whole number"),
        ("--colour red --platform twitch --when sub --hours 1", "Usage:"),
        ('--platform twitch --when reward --title "VIP --cost 5 --hours 1', "quote is not closed"),
    ],
)
async def test_a_bad_rule_is_refused_with_why(manager, guild_a, guilds, options, said) -> None:  # type: ignore[no-untyped-def]
    guilds.set_twitch_channel(guild_a.id, "twitchdev", BROADCASTER)
    [reply] = await say(f"!vip rule add {options}", manager)
    assert said in reply.content


async def test_members_without_manage_server_cannot_add_rules(alice) -> None:  # type: ignore[no-untyped-def]
    replies = await say("!vip rule add --platform kick --when kicks --at-least 1 --hours 1", alice)
    assert all("added" not in reply.content for reply in replies)


async def test_a_rule_whose_reward_was_deleted_on_twitch_tv_is_listed_broken_and_remade(  # type: ignore[no-untyped-def]
    manager, guild_a, guilds, vip_service
) -> None:
    """After the 10-minute read found the reward gone (404), ``!vip rules`` says so under the
    rule, with the command that makes it again; the other rule is listed as before."""
    guilds.set_twitch_channel(guild_a.id, "twitchdev", BROADCASTER)
    await say(
        '!vip rule add --platform twitch --when reward --title "Day" --cost 500 --hours 24', manager
    )
    await say("!vip rule add --platform twitch --when sub --tier 1 --hours 48", manager)
    [day] = [r for r in await vip_service.rules.list(guild_a.id) if r.kind == "reward"]
    del vip_service.effects.twitch.rewards[day.reward_id]  # deleted on twitch.tv
    await vip_service.drain_missed()

    [listing] = await say("!vip rules", manager)
    assert listing.content.splitlines()[1:] == [
        "**1** · Twitch · the reward 'Day' (500 points) · 24 h",
        "  Broken: Its reward was deleted on twitch.tv: viewers cannot redeem it. Remove this "
        "rule, or make its reward again. (`vip rule remake 1`)",
        "**2** · Twitch · a subscription of tier 1 or higher, new or renewed · 48 h",
    ]
    [made] = await say("!vip rule remake 1", manager)
    assert made.content == (
        "Rule **1**'s reward was made again on Twitch: the reward 'Day' (500 points)."
    )
    [listing] = await say("!vip rules", manager)
    assert "Broken" not in listing.content
    [refused] = await say("!vip rule remake 2", manager)
    assert "not known to be deleted on Twitch" in refused.content
