"""The bot's posts in a channel set on the dashboard (slot calls, heist results, link log
entries) are embeds, which Discord refuses (403, Missing Permissions) where the bot may send
messages but not Embed Links: the directory does not count such a channel or thread as one the
bot may post in, so the dashboard's pickers do not offer it and its forms refuse it."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
from discord.ext import commands

from core.features.directory.service import DirectoryService
from tests.discord_bot.fake_discord import make_thread
from tests.support.waiting import eventually


def _offered(directory: DirectoryService, guild_id: int) -> set[int]:
    return {channel.channel_id for channel in directory.postable_channels(guild_id)}


async def test_a_channel_where_the_bot_may_not_embed_is_not_offered(
    bot: commands.Bot, guild_a: discord.Guild, directory: DirectoryService
) -> None:
    no_embeds = guild_a.text_channels[0]
    open_channel = dpytest.backend.make_text_channel("slot-calls", guild_a)
    await dpytest.set_permission_overrides(
        guild_a.default_role, no_embeds, send_messages=True, embed_links=False
    )

    bot.dispatch("guild_available", guild_a)
    await eventually(lambda: directory.server(guild_a.id) is not None)

    assert open_channel.id in _offered(directory, guild_a.id)
    assert no_embeds.id not in _offered(directory, guild_a.id)


async def test_a_thread_where_the_bot_may_not_embed_is_not_offered(
    bot: commands.Bot, guild_a: discord.Guild, directory: DirectoryService
) -> None:
    parent = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(
        guild_a.default_role, parent, send_messages_in_threads=True, embed_links=False
    )
    thread = make_thread(parent, "Giveaways")

    bot.dispatch("guild_available", guild_a)
    await eventually(lambda: directory.server(guild_a.id) is not None)

    assert thread.id in {c.channel_id for c in directory.channels(guild_a.id)}
    assert thread.id not in _offered(directory, guild_a.id)
