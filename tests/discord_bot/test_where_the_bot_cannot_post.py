"""A member uses a command in a channel the bot can read but not post in: they are told by DM
why they heard nothing there, instead of silence (and no traceback in the log)."""

from __future__ import annotations

import logging
import sys

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend

from tests.discord_bot.fake_discord import make_thread, say
from tests.discord_bot.linking_support import is_dm_to


@pytest.fixture
def muted(monkeypatch: pytest.MonkeyPatch, guild_a: discord.Guild) -> discord.TextChannel:
    """Guild A's channel, where Discord refuses the bot's posts (no Send Messages)."""
    muted = guild_a.text_channels[0]
    send_message = backend.FakeHttp.send_message

    async def refusing(http, channel_id, **kwargs):  # type: ignore[no-untyped-def]
        if int(channel_id) == muted.id:
            raise discord.Forbidden(backend.FakeRequest(403, "Forbidden"), "Missing Permissions")
        # dpytest's send_message takes the channel from its caller's local names: pass on ours.
        channel = sys._getframe(1).f_locals.get("channel")  # noqa: F841
        return await send_message(http, channel_id, **kwargs)

    monkeypatch.setattr(backend.FakeHttp, "send_message", refusing)
    return muted


def dm_to(member: discord.Member, replies: list[discord.Message]) -> list[str]:
    return [m.content for m in replies if is_dm_to(m, member)]


@pytest.mark.parametrize("command", ["!watchtime", "!linklogs on", "!roles list"])
async def test_a_command_in_a_channel_the_bot_cannot_post_in_is_answered_by_dm(
    guild_a: discord.Guild,
    manager: discord.Member,
    muted: discord.TextChannel,
    caplog: pytest.LogCaptureFixture,
    command: str,
) -> None:
    replies = await say(command, manager, muted)

    assert dm_to(manager, replies) == [
        f"I can't post in {muted.mention} of {guild_a.name}, so I could not answer {command}"
        " there. A server manager can give me Send Messages and Embed Links in that channel; "
        "meanwhile, use the command in another channel."
    ]
    assert [m for m in replies if m.channel.id == muted.id] == []
    # A warning without a traceback: the bot's setup, not a bug.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING][-1] == (
        f"{command}: Discord refused: 403 Forbidden (error code: 0): Missing Permissions"
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_with_dms_closed_too_nothing_is_said_and_nothing_breaks(
    manager: discord.Member, muted: discord.TextChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def closed(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise discord.Forbidden(backend.FakeRequest(403, "Forbidden"), "Cannot send messages")

    monkeypatch.setattr(discord.Member, "send", closed)
    monkeypatch.setattr(discord.User, "send", closed)

    assert await say("!watchtime", manager, muted) == []
    assert dpytest.sent_queue.empty()


async def test_in_a_thread_the_dm_names_send_messages_in_threads(
    guild_a: discord.Guild, manager: discord.Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a thread Discord asks for Send Messages in Threads, not Send Messages: the DM names
    the permission that would help."""
    thread = make_thread(guild_a.text_channels[0], "stream-chat")
    send_message = backend.FakeHttp.send_message

    async def refusing(http, channel_id, **kwargs):  # type: ignore[no-untyped-def]
        if int(channel_id) == thread.id:
            raise discord.Forbidden(backend.FakeRequest(403, "Forbidden"), "Missing Permissions")
        channel = sys._getframe(1).f_locals.get("channel")  # noqa: F841 (as in ``muted``)
        return await send_message(http, channel_id, **kwargs)

    monkeypatch.setattr(backend.FakeHttp, "send_message", refusing)

    replies = await say("!watchtime", manager, thread)

    assert dm_to(manager, replies) == [
        f"I can't post in {thread.mention} of {guild_a.name}, so I could not answer !watchtime"
        " there. A server manager can give me Send Messages in Threads and Embed Links in that "
        "thread; meanwhile, use the command in another channel."
    ]
