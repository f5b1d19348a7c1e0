"""!health with every service the bot gets from a real Runtime: what a server's admin reads."""

from __future__ import annotations

import discord
import pytest

from core.discord_bot.services import BotServices
from core.runtime import Runtime
from tests.discord_bot.fake_discord import say
from tests.support.clock import Clock


@pytest.fixture
def runtime(make_runtime, clock: Clock) -> Runtime:  # type: ignore[no-untyped-def]
    return make_runtime(clock=clock)


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
