"""A posts channel that is a thread archived since it was set: discord.py forgets such a thread
(``parse_thread_update``), so the bot cannot tell it from a deleted channel. What it says, to a
moderator (``!linklogs status``), in its log, and on the dashboard (a slot call not posted),
names both and what to do, instead of "its channel is gone" or "not a text channel"."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.channel_posts import ChannelPoster
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.slot_calls.outbound import DiscordSlotCallPoster
from core.events import Platform
from core.features.linking.service import LinkingService
from core.features.slot_calls.repository import SlotCall
from tests.discord_bot.fake_discord import allow_unknown_channel_mentions, make_thread, say


@pytest.fixture(autouse=True)
def thread_mentions(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_unknown_channel_mentions(monkeypatch)


def archived_thread(guild: discord.Guild, name: str) -> discord.Thread:
    """A thread set for posts, archived since: gone from discord.py's cache."""
    thread = make_thread(guild.text_channels[0], name, archived=True)
    guild._remove_thread(thread)
    return thread


async def test_linklogs_status_for_an_archived_log_thread_says_what_to_do(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    thread = archived_thread(guild_a, "link-log")
    linking.set_log_channel(guild_a.id, thread.id)

    [status] = await say("!linklogs status", manager)

    assert status.content == (
        f"The link log is on, but I can't find its channel <#{thread.id}>: it was deleted, or "
        "it is a thread that was archived. Open the thread again (a message in it does), or "
        "turn the log on in another channel with !linklogs on."
    )


async def test_linklogs_status_for_a_locked_log_thread_says_so(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    thread = make_thread(guild_a.text_channels[0], "link-log", locked=True)
    linking.set_log_channel(guild_a.id, thread.id)

    [status] = await say("!linklogs status", manager)

    assert status.content == (
        f"The link log is on, in <#{thread.id}>, but I can't post in <#{thread.id}>: the "
        "thread is locked. Open it again, or pick another channel."
    )


class NoticePoster(ChannelPoster):
    kind = "notice"
    fix = "set one with !notices channel"


class Connected(DiscordGateway):
    def __init__(self, client: discord.Client) -> None:
        super().__init__()
        self._client = client

    def client_for(self, guild_id: int) -> discord.Client:
        return self._client


async def test_the_log_line_for_an_archived_thread_says_it_may_be_one(
    bot: discord.Client, guild_a: discord.Guild, caplog: pytest.LogCaptureFixture
) -> None:
    thread = archived_thread(guild_a, "notices")

    assert NoticePoster(Connected(bot)).channel(guild_a.id, thread.id, "hello") is None

    assert (
        f"guild {guild_a.id}: notice channel {thread.id} not found in that server: deleted, "
        "another server's, or a thread that was archived (a message in it opens it again); "
        "hello not posted (set one with !notices channel)"
    ) in caplog.text
    assert "not a text channel" not in caplog.text


def _call(guild_id: int) -> SlotCall:
    return SlotCall(
        7, guild_id, Platform.KICK, "1", "42", "fan", None, "Book of Dead", "open",
        datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip


async def test_a_slot_call_not_posted_says_why_in_words(
    bot: discord.Client, guild_a: discord.Guild, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reason is what the dashboard lists under what the bot could not do."""
    poster = DiscordSlotCallPoster(Connected(bot))
    gone = archived_thread(guild_a, "calls")

    assert await poster.post_call(gone.id, _call(guild_a.id), 1) == (
        "not posted: I can't find the slot call channel: it was deleted, or it is a thread "
        "that was archived. Open the thread again, or set one with !slotcalls channel"
    )

    closed = make_thread(guild_a.text_channels[0], "calls-2")

    async def refused(self: discord.Thread, *args: object, **kwargs: object) -> None:
        response = dpytest.backend.FakeRequest(400, "Refused")
        raise discord.HTTPException(response, {"code": 50083, "message": "Thread is archived"})

    monkeypatch.setattr(discord.Thread, "send", refused)
    assert await poster.post_call(closed.id, _call(guild_a.id), 1) == (
        "not posted: the slot call thread is archived or locked. Open it again, or set one "
        "with !slotcalls channel"
    )

    async def forbidden(self: discord.Thread, *args: object, **kwargs: object) -> None:
        response = dpytest.backend.FakeRequest(403, "Refused")
        raise discord.Forbidden(response, {"code": 50013, "message": "Missing Permissions"})

    monkeypatch.setattr(discord.Thread, "send", forbidden)
    assert await poster.post_call(closed.id, _call(guild_a.id), 1) == (
        "not posted: I may not post in the slot call channel; give me Send Messages in "
        "Threads and Embed Links there"
    )


async def test_without_discord_a_slot_call_not_posted_says_so() -> None:
    assert await DiscordSlotCallPoster(DiscordGateway()).post_call(5001, _call(111), 1) == (
        "not posted: the Discord bot is not running"
    )
