"""Threads the bot knows (the server's active threads) are kept in the directory next to its
channels, named with their channel, so the dashboard's pickers show a thread set by a command
by its name and offer the threads the bot may post in."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
from discord.ext import commands

from core.features.directory.service import DirectoryService
from tests.discord_bot.fake_discord import make_thread
from tests.support.waiting import eventually


async def _threads_allowed(guild: discord.Guild) -> discord.TextChannel:
    parent = guild.text_channels[0]
    await dpytest.set_permission_overrides(
        guild.default_role, parent, send_messages=True, send_messages_in_threads=True
    )
    return parent


def _threads(directory: DirectoryService, guild_id: int) -> dict[str, tuple[str, bool]]:
    return {
        c.name: (c.kind, c.takes_posts) for c in directory.channels(guild_id) if c.kind == "thread"
    }


async def test_threads_are_recorded_with_their_channel_and_whether_the_bot_may_post(
    bot: commands.Bot, guild_a: discord.Guild, directory: DirectoryService
) -> None:
    parent = await _threads_allowed(guild_a)
    make_thread(parent, "Giveaways")
    make_thread(parent, "Old news", archived=True)
    make_thread(parent, "Closed", locked=True)
    make_thread(parent, "Mods", private=True, joined=False)
    make_thread(parent, "Mods we share", private=True)

    bot.dispatch("guild_available", guild_a)
    await eventually(lambda: len(_threads(directory, guild_a.id)) == 5)

    name = parent.name
    assert _threads(directory, guild_a.id) == {
        f"{name} \u203a Giveaways": ("thread", True),
        f"{name} \u203a Old news": ("thread", False),
        f"{name} \u203a Closed": ("thread", False),
        f"{name} \u203a Mods": ("thread", False),
        f"{name} \u203a Mods we share": ("thread", True),
    }
    offered = [c.name for c in directory.postable_channels(guild_a.id)]
    assert f"{name} \u203a Giveaways" in offered
    assert name in offered


async def test_a_thread_made_or_deleted_is_followed(
    bot: commands.Bot, guild_a: discord.Guild, directory: DirectoryService
) -> None:
    parent = await _threads_allowed(guild_a)
    bot.dispatch("guild_available", guild_a)
    await eventually(lambda: directory.server(guild_a.id) is not None)

    thread = make_thread(parent, "Giveaways")
    bot.dispatch("thread_create", thread)
    await eventually(lambda: f"{parent.name} \u203a Giveaways" in _threads(directory, guild_a.id))

    guild_a._remove_thread(thread)
    bot.dispatch("thread_delete", thread)
    await eventually(lambda: _threads(directory, guild_a.id) == {})
