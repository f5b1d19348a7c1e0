"""A command whose answer is an embed (!leaderboard, !raffleboard, a link panel), used in a
channel where the bot may send messages but not Embed Links: Discord refuses the embed (403,
Missing Permissions), and the member is told in plain words which permission the bot lacks
there, not to "check my permissions" and its role order."""

from __future__ import annotations

import logging

import discord
import discord.ext.test as dpytest
import pytest

from tests.discord_bot.conftest import Stream
from tests.discord_bot.fake_discord import (
    allow_unknown_channel_mentions,
    embeds_refused_without_embed_links,
    make_thread,
    say,
)


@pytest.fixture
def no_embeds(monkeypatch: pytest.MonkeyPatch) -> None:
    embeds_refused_without_embed_links(monkeypatch)


async def test_an_embed_answer_refused_names_embed_links(
    guild_a: discord.Guild,
    alice: discord.Member,
    stream: Stream,
    no_embeds: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(guild_a.default_role, channel, embed_links=False)
    stream.earn(guild_a.id, "carol", 7500)

    [reply] = await say("!leaderboard", alice, channel)

    assert reply.content == (
        f"I can't post that here: it is an embed, and I don't have Embed Links in "
        f"{channel.mention}. A server manager can give it to me there; meanwhile, use the "
        "command in another channel."
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_in_a_thread_too(
    guild_a: discord.Guild,
    alice: discord.Member,
    stream: Stream,
    no_embeds: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allow_unknown_channel_mentions(monkeypatch)
    parent = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(
        guild_a.default_role, parent, send_messages_in_threads=True, embed_links=False
    )
    thread = make_thread(parent, "stream-chat")
    stream.earn(guild_a.id, "carol", 7500)

    [reply] = await say("!leaderboard", alice, thread)

    assert "I don't have Embed Links in " + thread.mention in reply.content


async def test_with_embed_links_the_answer_is_the_embed(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, no_embeds: None
) -> None:
    stream.earn(guild_a.id, "carol", 7500)

    [reply] = await say("!leaderboard", alice)

    assert reply.embeds[0].title == "Watchtime leaderboard: Guild A"


async def test_a_link_panel_where_the_bot_may_not_embed_says_so(
    guild_a: discord.Guild, manager: discord.Member, no_embeds: None
) -> None:
    channel = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(guild_a.default_role, channel, embed_links=False)

    replies = await say("!setup_link_button", manager, channel)

    assert [reply.content for reply in replies] == [
        f"I can't post that here: it is an embed, and I don't have Embed Links in "
        f"{channel.mention}. A server manager can give it to me there; meanwhile, use the "
        "command in another channel."
    ]
