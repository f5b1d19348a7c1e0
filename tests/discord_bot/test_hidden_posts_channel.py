"""A posts channel the bot cannot see (View Channel denied: a moderators' channel, say): Discord
takes nothing from the bot there whatever else it is given, so the refusal names View Channel
too; giving only Send Messages and Embed Links, as it asked before, changed nothing."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.common import typed_channel_refusal
from tests.discord_bot.fake_discord import make_thread


@pytest.mark.parametrize(
    ("embeds", "needed"),
    [
        (True, "View Channel, Send Messages and Embed Links"),
        (False, "View Channel and Send Messages"),
    ],
)
async def test_a_channel_the_bot_cannot_see_names_view_channel(
    guild_a: discord.Guild, embeds: bool, needed: str
) -> None:
    channel = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(guild_a.default_role, channel, view_channel=False)

    assert typed_channel_refusal(guild_a, str(channel.id), embeds=embeds) == (
        f"I can't post in {channel.mention}; give me {needed} there."
    )


async def test_a_thread_of_a_channel_the_bot_cannot_see_names_view_channel(
    guild_a: discord.Guild,
) -> None:
    parent = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(
        guild_a.default_role, parent, view_channel=False, send_messages_in_threads=True
    )
    thread = make_thread(parent)

    assert typed_channel_refusal(guild_a, str(thread.id), embeds=True) == (
        f"I can't post in {thread.mention}; give me View Channel, Send Messages in Threads and "
        "Embed Links there."
    )


async def test_a_channel_the_bot_sees_does_not_name_it(guild_a: discord.Guild) -> None:
    channel = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(guild_a.default_role, channel, embed_links=False)

    assert typed_channel_refusal(guild_a, str(channel.id), embeds=True) == (
        f"I can't post in {channel.mention}; give me Send Messages and Embed Links there."
    )
