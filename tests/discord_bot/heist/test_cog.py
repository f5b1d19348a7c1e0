"""The heist on dpytest's Discord: settings and stats commands, and results posted as an embed
in the guild's heist channel."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.channel_posts import post_nonce
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.heist.outbound import DiscordHeistAnnouncer
from core.discord_bot.services import BotServices
from core.events import Platform
from core.features.chat_commands.replies import ChatReplier
from core.features.heist.chat import HeistChat
from core.features.heist.rules import HeistRules
from core.features.heist.service import HeistService
from core.features.points.service import PointsService
from tests.discord_bot.fake_discord import say
from tests.features.heist.conftest import Draws, FakeSubTiers


@pytest.fixture
def tiers() -> FakeSubTiers:
    return FakeSubTiers()


@pytest.fixture
def heist(sqlite_engine, clock, tiers) -> HeistService:
    points = PointsService(sqlite_engine, clock)
    return HeistService(sqlite_engine, clock, points, HeistRules(), sub_tiers=tiers, draw=Draws())


@pytest.fixture
def services(watchtime, guilds, health_report, heist) -> BotServices:
    return BotServices(watchtime=watchtime, guilds=guilds, health=lambda: health_report,
                       heist=heist)  # fmt: skip


@pytest.fixture(autouse=True)
def connected(bot, gateway: DiscordGateway) -> None:
    bot._ready.set()
    gateway.attach(bot)


async def test_a_manager_sets_the_heist_channel_and_sees_the_settings(manager, guild_a, heist):
    channel = guild_a.text_channels[0]
    [reply] = await say(f"!heistset channel <#{channel.id}>", manager)
    assert reply.content == f"Results channel is now **<#{channel.id}>**."
    [reply] = await say("!heistset tier_3 1.75", manager)
    assert reply.content == "Tier 3 bonus is now **x1.75**."
    [listing] = await say("!heist settings", manager)
    assert "Tier 3 bonus: **x1.75** (`tier_3`)" in listing.content
    assert "Time to join: **2 min** (`window`)" in listing.content  # not 120 (seconds)
    assert "Rest between heists: **5 min** (`cooldown`)" in listing.content
    assert "_seconds" not in listing.content
    assert heist.rules(guild_a.id).tier_3 == 175


@pytest.mark.parametrize("elsewhere", ["another server's", "99999999999999999999", "9" * 1990])
async def test_a_channel_that_cannot_take_the_results_is_refused_before_it_is_saved(
    elsewhere, manager, guild_a, guild_b, heist
):
    typed = str(guild_b.text_channels[0].id) if elsewhere == "another server's" else elsewhere

    [reply] = await say(f"!heistset channel {typed}", manager)

    assert reply.content == (
        "That channel is not in this server, or it is an archived thread; pick one of the "
        "server's text channels or an open thread."
    )
    assert heist.rules(guild_a.id).channel_id is None


@pytest.mark.parametrize("typed_name", ["channel_id", "CHANNEL_ID", "channel-id", " Channel "])
async def test_another_servers_channel_is_refused_under_every_name_of_the_setting(
    typed_name, manager, guild_a, guild_b, heist
):
    """The alias channel_id skipped the same-server check and saved the other server's channel,
    where results were then never posted."""
    [reply] = await say(f"!heistset {typed_name} {guild_b.text_channels[0].id}", manager)

    assert heist.rules(guild_a.id).channel_id is None, "saved"
    assert reply.content == (
        "That channel is not in this server, or it is an archived thread; pick one of the "
        "server's text channels or an open thread."
    )


async def test_one_switch_turns_the_whole_subscriber_bonus_off(manager, guild_a, heist):
    [reply] = await say("!heistset sub_bonus off", manager)
    assert reply.content == "Subscriber bonus on is now **off**."
    [listing] = await say("!heist settings", manager)
    assert "Subscriber bonus on: **off** (`sub_bonus`)" in listing.content
    assert heist.rules(guild_a.id).tier_multiplier("3") == 100
    [refused] = await say("!heistset sub_bonus maybe", manager)
    assert refused.content == "sub\\_bonus\\_on is on or off."


async def test_a_bad_setting_gets_a_clear_refusal(manager):
    [reply] = await say("!heistset high_chance 150", manager)
    assert reply.content == "high\\_chance is a whole number from 1 to 99."  # escaped markdown


async def test_settings_need_manage_server(alice, heist, guild_a):
    [refused] = await say("!heistset min_bet 50", alice)
    [listing] = await say("!heist settings", alice)

    assert refused.content == "You need the Manage Server permission to use !heistset."
    assert listing.content == "You need the Manage Server permission to use !heist settings."
    assert heist.rules(guild_a.id) == HeistRules()


def _help_lines(reply: discord.Message) -> str:
    return reply.content + "".join(embed.description or "" for embed in reply.embeds)


async def test_help_lists_the_heist_settings_only_to_managers(alice, manager):
    [member_help] = await say("!help", alice)
    [manager_help] = await say("!help", manager)
    [member_heist] = await say("!help heist", alice)
    [manager_heist] = await say("!help heist", manager)

    assert "heistset" not in _help_lines(member_help)
    assert "heistset" in _help_lines(manager_help)
    assert "\n  settings " not in _help_lines(member_heist)
    assert "\n  settings " in _help_lines(manager_heist)
    assert "\n  stats " in _help_lines(member_heist)


async def test_a_result_is_posted_as_an_embed_in_the_heist_channel(
    gateway, guild_a, heist, tiers, clock
):
    channel = guild_a.text_channels[0]
    heist.set_setting(guild_a.id, "channel", str(channel.id))
    for user, name in (("1", "alice_k"), ("2", "bob_k")):
        heist.points.give(guild_a.id, Platform.TWITCH, user, 1000, actor="test")
        heist.join(guild_a.id, Platform.TWITCH, "b", user, name, "200 low")
    tiers.set("1", "3")
    clock.advance(120)
    heist.draw = Draws([0.0, 0.999])
    # The result's chat line is the chat outbox's (tests/features/heist/test_chat.py).
    chat = HeistChat(heist, ChatReplier(lambda p: None), DiscordHeistAnnouncer(gateway))
    await chat.resolve_due()
    assert await chat.post_pending() == 1

    message = dpytest.get_message()
    [result] = heist.recent_results(guild_a.id)
    assert message.nonce == post_nonce("heist", guild_a.id, result.heist_id)
    [embed] = message.embeds
    assert embed.title.endswith("1 of 2 got away")
    assert "**alice\\_k** (Tier 3): +450 (200 at low risk)" in embed.fields[0].value
    assert embed.fields[1].value == "1"
