"""A thread picked for the bot's posts (raffle announcements, VIP notices, the heist, the link
log): Discord lets the bot post there only with Send Messages in Threads, and never in an
archived or locked thread, so those are refused when the channel is set, in words that name
what is missing, instead of being accepted and every post failing later."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.channel_posts import ChannelPoster
from core.discord_bot.common import typed_channel_refusal
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.raffle.outbound import DiscordRaffleAnnouncer
from core.features.raffle.ports import PeriodAnnouncement
from tests.discord_bot.fake_discord import make_thread, thread_send_refused


class NoticePoster(ChannelPoster):
    kind = "notice"
    fix = "set one with !notices channel"


async def allow_threads(guild: discord.Guild) -> discord.TextChannel:
    """The server's first text channel, where the bot may post in threads (dpytest's default
    permissions predate threads)."""
    parent = guild.text_channels[0]
    await dpytest.set_permission_overrides(
        guild.default_role, parent, send_messages=True, send_messages_in_threads=True
    )
    return parent


async def test_a_thread_the_bot_may_post_in_is_accepted(guild_a: discord.Guild) -> None:
    thread = make_thread(await allow_threads(guild_a))

    assert typed_channel_refusal(guild_a, str(thread.id)) is None
    assert typed_channel_refusal(guild_a, thread.mention, embeds=True) is None


@pytest.mark.parametrize("embeds", [False, True])
async def test_a_thread_without_send_messages_in_threads_is_refused_naming_it(
    guild_a: discord.Guild, embeds: bool
) -> None:
    parent = guild_a.text_channels[0]
    # Send Messages still allowed in the parent: that is not what a thread asks for.
    await dpytest.set_permission_overrides(
        guild_a.default_role, parent, send_messages=True, send_messages_in_threads=False
    )
    thread = make_thread(parent)

    refusal = typed_channel_refusal(guild_a, str(thread.id), embeds=embeds)

    needed = "Send Messages in Threads and Embed Links" if embeds else "Send Messages in Threads"
    assert refusal == f"I can't post in {thread.mention}; give me {needed} there."


async def test_a_text_channel_still_asks_for_send_messages(guild_a: discord.Guild) -> None:
    channel = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(
        guild_a.default_role, channel, send_messages=False, send_messages_in_threads=True
    )

    assert typed_channel_refusal(guild_a, str(channel.id)) == (
        f"I can't post in {channel.mention}; give me Send Messages there."
    )


@pytest.mark.parametrize(
    ("archived", "locked", "state"),
    [(True, False, "archived"), (False, True, "locked"), (True, True, "locked")],
)
async def test_an_archived_or_locked_thread_is_refused(
    guild_a: discord.Guild, archived: bool, locked: bool, state: str
) -> None:
    thread = make_thread(await allow_threads(guild_a), archived=archived, locked=locked)

    assert typed_channel_refusal(guild_a, str(thread.id)) == (
        f"I can't post in {thread.mention}: the thread is {state}. "
        "Open it again, or pick another channel."
    )


@pytest.mark.parametrize(
    ("status", "code", "message", "logged"),
    [
        (
            403,
            50013,
            "Missing Permissions",
            "no permission to post a notice in channel {id} (it needs Send Messages in Threads)",
        ),
        (
            400,
            50083,
            "Thread is archived",
            "notice not posted in thread {id}: it is archived or locked",
        ),
        (400, 160005, "Thread is locked", "notice not posted in thread {id}: it is locked"),
    ],
)
async def test_a_post_a_thread_refuses_is_false_and_the_log_says_why(
    guild_a: discord.Guild,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: int,
    message: str,
    logged: str,
) -> None:
    """Heist results, slot calls and VIP notices: a thread that was fine when it was picked
    and was archived or locked since is a post not taken, not an error tried again."""
    thread = make_thread(guild_a.text_channels[0])
    monkeypatch.setattr(discord.Thread, "send", thread_send_refused(status, code, message))

    posted = await NoticePoster(DiscordGateway()).post(thread, "hello")

    assert posted is False
    assert f"guild {guild_a.id}: {logged.format(id=thread.id)}" in caplog.text


@pytest.mark.parametrize(
    ("status", "code", "message", "logged"),
    [
        (
            403,
            50013,
            "Missing Permissions",
            "no permission to post raffle announcements in channel {id} "
            "(it needs Send Messages in Threads)",
        ),
        (400, 50083, "Thread is archived", "raffle announcement thread {id} is archived or locked"),
    ],
)
async def test_a_raffle_announcement_a_thread_refuses_is_skipped_saying_why(
    bot: discord.Client,
    guild_a: discord.Guild,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: int,
    message: str,
    logged: str,
) -> None:
    """As in a channel the bot may not post in: the log says what the thread needs, and the
    guild's later announcements are not held behind it."""

    class ConnectedGateway(DiscordGateway):
        def client(self) -> discord.Client:
            return bot

    thread = make_thread(guild_a.text_channels[0])
    monkeypatch.setattr(discord.Thread, "send", thread_send_refused(status, code, message))
    opened = PeriodAnnouncement(
        guild_id=guild_a.id, period_id=1, starts_at=datetime(2026, 11, 1, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, tzinfo=UTC), time_zone="UTC", commitment="ab" * 32,
        beacon_round=None,
    )  # fmt: skip

    await DiscordRaffleAnnouncer(ConnectedGateway()).period_opened(thread.id, opened)

    assert logged.format(id=thread.id) in caplog.text


async def test_an_archived_thread_the_bot_no_longer_holds_is_not_called_another_servers(
    guild_a: discord.Guild,
) -> None:
    """discord.py drops a thread from its cache once it is archived (``parse_thread_update``),
    so the id of one is as unknown as another server's channel: the refusal says it may be
    either, rather than telling the admin their own thread is not in their server."""
    thread = make_thread(await allow_threads(guild_a), archived=True)
    guild_a._remove_thread(thread)

    assert typed_channel_refusal(guild_a, str(thread.id)) == (
        "That channel is not in this server, or it is an archived thread; pick one of the "
        "server's text channels or an open thread."
    )


async def test_a_private_thread_the_bot_is_not_in_is_refused_asking_to_be_added(
    guild_a: discord.Guild,
) -> None:
    """discord.py's permissions of a thread are its parent's: they never say whether the bot
    is a member of a private thread, and Discord takes no post from a bot that is not."""
    parent = await allow_threads(guild_a)
    outside = make_thread(parent, "mods", private=True, joined=False)
    inside = make_thread(parent, "mods-too", private=True)

    assert typed_channel_refusal(guild_a, str(outside.id)) == (
        f"I'm not in the private thread {outside.mention}: add me to it (mention me there), "
        "or pick another channel."
    )
    assert typed_channel_refusal(guild_a, str(inside.id)) is None
