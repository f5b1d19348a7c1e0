"""The bot keeps the server directory on dpytest's fake Discord: a server with its roles (which
the bot can give), channels (where it can post) and members' names at start; a role made, a
channel renamed, a member who changes name or leaves; nothing of a server the bot left."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
from discord.ext import commands

from tests.discord_bot.fake_discord import member_of
from tests.discord_bot.fake_roles import give_bot_a_role, make_role
from tests.support.waiting import eventually


async def arrives(bot: commands.Bot, guild: discord.Guild) -> None:
    bot.dispatch("guild_available", guild)  # as discord.py does for each server at start


async def test_a_server_at_start_is_recorded_whole(bot, guild_a, directory):
    await give_bot_a_role(guild_a)
    make_role(guild_a, "Bronze", 2)
    make_role(guild_a, "Admin", 20)
    alice, bob = member_of(guild_a, "alice"), member_of(guild_a, "bob")
    await arrives(bot, guild_a)
    await eventually(lambda: len(directory.member_names(guild_a.id, [alice.id, bob.id])) == 2)

    server = directory.server(guild_a.id)
    assert (server.name, server.can_manage_roles) == ("Guild A", True)
    roles = {role.name: role for role in directory.roles(guild_a.id)}
    assert roles["Bronze"].assignable
    assert not roles["Admin"].assignable  # above the bot's own role
    assert roles["@everyone"].is_default
    assert not roles["@everyone"].assignable
    [channel] = directory.channels(guild_a.id)
    assert channel.kind == "text"
    assert directory.member_names(guild_a.id, [alice.id, bob.id, 42]) == {
        alice.id: alice.display_name,
        bob.id: bob.display_name,
    }
    assert directory.server(guild_a.id + 1) is None  # only what the bot saw


async def test_changes_follow_discord(bot, guild_a, directory):
    await arrives(bot, guild_a)
    await eventually(lambda: directory.server(guild_a.id) is not None)

    role = make_role(guild_a, "Gold", 3)
    bot.dispatch("guild_role_create", role)
    await eventually(lambda: "Gold" in [r.name for r in directory.roles(guild_a.id)])

    alice = member_of(guild_a, "alice")
    carol = await dpytest.member_join(guild_a, name="carol")
    bot.dispatch("member_join", carol)
    await eventually(lambda: carol.id in directory.member_names(guild_a.id, [carol.id]))
    bot.dispatch("member_remove", alice)
    await eventually(lambda: alice.id not in directory.member_names(guild_a.id, [alice.id]))

    bot.dispatch("guild_remove", guild_a)
    await eventually(lambda: directory.server(guild_a.id) is None)
    assert directory.roles(guild_a.id) == []
    assert directory.member_names(guild_a.id, [carol.id]) == {}
