"""The bot removed from a server (kicked, banned, the server deleted) records when, on dpytest's
fake Discord; added again, or seen at start, it is in the server again. A Discord outage is not a
removal, and a server the bot never was in (``guild add`` alone) is never "left"."""

from __future__ import annotations

import discord
import pytest
from discord.ext import commands

from core.discord_bot.services import BotServices
from core.features.directory.repository import Role, Server
from core.features.directory.service import DirectoryService, Snapshot
from core.features.guilds.service import GuildService
from tests.support.clock import Clock
from tests.support.waiting import eventually


@pytest.fixture
def set_up(guilds: GuildService, guild_a: discord.Guild, guild_b: discord.Guild) -> None:
    for guild, slug, broadcaster in ((guild_a, "streamer_a", "1001"), (guild_b, "b", "2002")):
        guilds.set_kick_channel(guild.id, slug, broadcaster)


async def test_a_removal_is_recorded_and_the_bot_added_again_clears_it(
    bot: commands.Bot, guilds: GuildService, guild_a, guild_b, set_up, clock: Clock
) -> None:
    removed_at = clock()
    bot.dispatch("guild_remove", guild_a)
    await eventually(lambda: guilds.left_at(guild_a.id) is not None)

    assert guilds.left_at(guild_a.id) == removed_at
    assert guilds.left_guild_ids() == {guild_a.id}  # guild B is still served
    assert guilds.show(guild_a.id).left_at == removed_at

    bot.dispatch("guild_join", guild_a)
    await eventually(lambda: guilds.left_at(guild_a.id) is None)
    assert guilds.left_guild_ids() == set()


async def test_a_server_seen_at_start_is_served_again(
    bot: commands.Bot, guilds: GuildService, guild_a, set_up
) -> None:
    bot.dispatch("guild_remove", guild_a)
    await eventually(lambda: guilds.left_at(guild_a.id) is not None)

    bot.dispatch("guild_available", guild_a)  # as discord.py does at start, or after an outage
    await eventually(lambda: guilds.left_at(guild_a.id) is None)


async def test_an_outage_is_not_a_removal(
    bot: commands.Bot, guilds: GuildService, guild_a, guild_b, set_up
) -> None:
    bot.dispatch("guild_unavailable", guild_a)
    bot.dispatch("guild_remove", guild_b)  # after it: once B is marked, A's outage was heard
    await eventually(lambda: guilds.left_at(guild_b.id) is not None)

    assert guilds.left_at(guild_a.id) is None
    assert guilds.left_guild_ids() == {guild_b.id}


def test_a_guild_added_from_the_shell_was_never_left(guilds: GuildService) -> None:
    guilds.set_kick_channel(4242, "streamer", "1001")

    assert guilds.left_at(4242) is None
    assert guilds.show(4242).left_at is None


async def test_a_second_removal_keeps_the_first_date(
    bot: commands.Bot, guilds: GuildService, guild_a, set_up, clock: Clock
) -> None:
    first = clock()
    bot.dispatch("guild_remove", guild_a)
    await eventually(lambda: guilds.left_at(guild_a.id) is not None)
    clock.advance(hours=1)

    guilds.mark_left(guild_a.id)

    assert guilds.left_at(guild_a.id) == first


ON_SHARD_0 = 4 << 22  # (id >> 22) % 2 == 0
ON_SHARD_1 = 5 << 22


def described(directory: DirectoryService, guild_id: int) -> None:
    """What the bot recorded of a server it was in (as record_server writes it)."""
    server = Server(guild_id, f"Server {guild_id}", None, True)
    role = Role(guild_id, "@everyone", 0, 0, assignable=False, is_default=True)
    directory.record_server(Snapshot(server, (role,), ()))


async def test_at_start_a_server_the_bot_was_in_but_is_gone_from_is_left(
    bot: commands.Bot, guilds: GuildService, services: BotServices, guild_a, set_up
) -> None:
    directory = services.directory
    assert directory is not None
    for guild_id in (ON_SHARD_0, ON_SHARD_1):
        guilds.set_kick_channel(guild_id, f"s{guild_id % 97}", "3003")
        described(directory, guild_id)
    guilds.set_kick_channel(ON_SHARD_0 + 1, "never_in", "4004")  # 'guild add' alone
    described(directory, guild_a.id)  # still in it
    bot.shard_id, bot.shard_count = 0, 2  # this process serves shard 0 of 2
    try:
        bot.dispatch("ready")
        # marked left, then forgotten, as on_guild_remove does
        await eventually(lambda: directory.server(ON_SHARD_0) is None)
    finally:
        bot.shard_id, bot.shard_count = None, None

    assert guilds.left_guild_ids() == {ON_SHARD_0}  # not shard 1's, nor one never in
    assert directory.server(ON_SHARD_1) is not None


async def test_at_start_a_server_in_an_outage_is_not_left(
    bot: commands.Bot, guilds: GuildService, services: BotServices, guild_a, set_up
) -> None:
    directory = services.directory
    assert directory is not None
    described(directory, guild_a.id)
    guilds.set_kick_channel(ON_SHARD_1, "gone", "3003")
    described(directory, ON_SHARD_1)  # gone while the bot was down: the marker that ready ran
    guild_a.unavailable = True  # Discord lists it, unavailable
    try:
        bot.dispatch("ready")
        await eventually(lambda: guilds.left_at(ON_SHARD_1) is not None)
    finally:
        guild_a.unavailable = False

    assert guilds.left_at(guild_a.id) is None
    assert directory.server(guild_a.id) is not None
