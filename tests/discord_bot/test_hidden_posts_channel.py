"""A posts channel the bot cannot see (View Channel denied: a moderators' channel, say): Discord
takes nothing from the bot there whatever else it is given, so the refusal names View Channel
too; giving only Send Messages and Embed Links, as it asked before, changed nothing."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.channel_posts import ChannelPoster
from core.discord_bot.common import typed_channel_refusal
from core.discord_bot.gateway import DiscordGateway
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


class NoticePoster(ChannelPoster):
    kind = "notice"
    fix = "set one with !notices channel"


@pytest.mark.parametrize(
    ("embed", "needed"),
    [
        (None, "View Channel and Send Messages"),
        (discord.Embed(title="Heist"), "View Channel, Send Messages and Embed Links"),
    ],
)
async def test_a_post_refused_in_a_hidden_channel_names_view_channel(
    guild_a: discord.Guild, embed: discord.Embed | None, needed: str
) -> None:
    """What the outbox records for the post ("What the bot could not do")."""
    channel = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(guild_a.default_role, channel, view_channel=False)

    refusal = await NoticePoster(DiscordGateway()).send(
        channel, None if embed else "hello", embed=embed
    )

    assert refusal == f"not posted: I may not post in the notice channel; give me {needed} there"
