"""!health with every service the bot gets from a real Runtime: what a server's admin reads."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.render import GREEN, RED
from core.discord_bot.services import BotServices
from core.runtime import Runtime
from tests.discord_bot.fake_discord import say
from tests.support.clock import Clock


@pytest.fixture
def runtime(make_runtime, clock: Clock) -> Runtime:  # type: ignore[no-untyped-def]
    """With a Kick and a Twitch app, as an operator who serves Kick and Twitch servers has."""
    apps = {
        f"{p}_CLIENT_{k}": f"{p}-{k}".lower() for p in ("KICK", "TWITCH") for k in ("ID", "SECRET")
    }
    return make_runtime(clock=clock, **apps)


@pytest.fixture
def services(runtime: Runtime) -> BotServices:
    return runtime.bot_services()


async def test_a_channel_name_with_an_underscore_is_shown_as_it_is_typed(
    manager: discord.Member, guild_a: discord.Guild, runtime: Runtime
) -> None:
    """Discord shows ``cozy\\_stream`` as cozy_stream; escaped twice it shows a backslash, and
    the command an admin copies from the line no longer names the channel."""
    runtime.guilds.set_kick_channel(guild_a.id, "cozy_stream", "123")

    [reply] = await say("!health", manager)

    assert (
        "kick connection: streamer not connected: run !kick setup cozy\\_stream and open the "
        "link I send you"
    ) in reply.content
    assert "\\\\" not in reply.content


@pytest.mark.parametrize("follows", ["kick", "twitch"])
async def test_a_server_that_follows_one_platform_is_not_failed_for_the_other(
    follows: str, manager: discord.Member, guild_a: discord.Guild, runtime: Runtime
) -> None:
    """A server may follow Kick alone or Twitch alone: the other platform's line is no
    failure (it made every such server's !health red for good)."""
    if follows == "kick":
        runtime.guilds.set_kick_channel(guild_a.id, "cozy", "123")
    else:
        runtime.guilds.set_twitch_channel(guild_a.id, "cozy", "456")
    other, command = ("Twitch", "twitch") if follows == "kick" else ("Kick", "kick")
    shown = "Kick" if follows == "kick" else "Twitch"
    expected = (
        f"ok   {command}: this server follows no {other} channel, only {shown} (to follow one: "
        f"run !{command} setup <channel>)"
    )

    [reply] = await say("!health", manager)

    assert f"{GREEN} {expected}" in reply.content.splitlines()
    assert f"FAIL {command}" not in reply.content


async def test_posts_channels_are_checked_for_what_their_posts_need(
    manager: discord.Member, guild_a: discord.Guild, runtime: Runtime
) -> None:
    """One channel where the bot may send messages but not Embed Links: the raffle's
    announcements and VIP notices (plain messages) can go there, the heist's results (embeds)
    cannot."""
    channel = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(guild_a.default_role, channel, embed_links=False)
    runtime.raffle.periods.configure(guild_a.id, "channel", str(channel.id))
    runtime.heist.set_setting(guild_a.id, "channel", str(channel.id))
    await runtime.vip.update_settings(guild_a.id, notice_channel_id=channel.id)

    replies = await say("!health", manager)

    lines = [line for reply in replies for line in reply.content.splitlines()]
    assert f"{GREEN} ok   raffle channel: {channel.mention}: I can post there" in lines
    assert f"{GREEN} ok   VIP notice channel: {channel.mention}: I can post there" in lines
    assert (
        f"{RED} FAIL heist channel: I can't post in {channel.mention}; give me Send Messages "
        "and Embed Links there. Or set another with !heistset channel #channel"
    ) in lines
