"""Heist results and raffle announcements Discord refuses for good (a permission taken away, a
thread locked): each is listed once under "What the bot could not do" (``!health``, the
dashboard's overview) with the fix in words, like a refused slot call, and not tried again;
another server's posts go on."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.heist.outbound import DiscordHeistAnnouncer
from core.features.chat_commands.replies import ChatReplier
from core.features.heist.chat import ChatResultLine, HeistChat
from core.features.heist.rules import HeistRules
from core.features.heist.service import HeistService
from core.features.points.service import PointsService
from core.outbox.undone import UndoneCalls
from tests.discord_bot.fake_discord import (
    embeds_refused_without_embed_links,
    make_thread,
    thread_send_refused,
)
from tests.features.chat_commands.doubles import RecordingSender
from tests.features.heist.conftest import Draws, FakeSubTiers
from tests.features.heist.test_history import add_heist


def posted_in(guild: discord.Guild) -> list[discord.Message]:
    """The bot's messages dpytest holds for ``guild``'s channels (taken off its queue)."""
    found = []
    while not dpytest.sent_queue.empty():
        message = dpytest.get_message()
        if message.guild is not None and message.guild.id == guild.id:
            found.append(message)
    return found


@pytest.fixture
def heist(sqlite_engine, clock) -> HeistService:
    return HeistService(
        sqlite_engine,
        clock,
        PointsService(sqlite_engine, clock),
        HeistRules(),
        sub_tiers=FakeSubTiers(),
        draw=Draws(),
        result_line=ChatResultLine(lambda platform: True),
    )


@pytest.fixture
def heist_chat(heist, gateway: DiscordGateway) -> HeistChat:
    sender = RecordingSender()
    return HeistChat(heist, ChatReplier(lambda platform: sender), DiscordHeistAnnouncer(gateway))


async def test_a_heist_result_refused_for_embed_links_is_listed_once_with_the_fix(
    heist, heist_chat, guild_a, guild_b, sqlite_engine, clock, monkeypatch
) -> None:
    embeds_refused_without_embed_links(monkeypatch)
    channel_a, channel_b = guild_a.text_channels[0], guild_b.text_channels[0]
    await dpytest.set_permission_overrides(guild_a.default_role, channel_a, embed_links=False)
    heist.set_setting(guild_a.id, "channel", str(channel_a.id))
    heist.set_setting(guild_b.id, "channel", str(channel_b.id))
    with sqlite_engine.begin() as conn:
        refused_id = add_heist(conn, guild_a.id, "resolved", clock.now, [(100, True, 150)])
        add_heist(conn, guild_b.id, "resolved", clock.now, [(100, False, 0)])

    await heist_chat.post_pending()

    assert len(posted_in(guild_b)) == 1  # the other server's result went out
    undone = UndoneCalls(sqlite_engine, clock)
    [call] = undone.recent(guild_a.id).calls
    assert call.partner == "Discord"
    assert call.what == f"post heist #{refused_id}'s result in the heist channel"
    assert call.answer == (
        "not posted: I may not post in the heist channel; give me Send Messages and Embed Links "
        "there"
    )
    assert undone.recent(guild_b.id).total == 0

    # Not tried again, not listed twice.
    assert await heist_chat.post_pending() == 0
    assert undone.recent(guild_a.id).total == 1
    assert "give me Send Messages and Embed Links" in undone.check(guild_a.id).detail


async def test_a_heist_result_a_locked_thread_refuses_says_to_open_it(
    heist, heist_chat, guild_a, sqlite_engine, clock, monkeypatch
) -> None:
    thread = make_thread(guild_a.text_channels[0])
    monkeypatch.setattr(
        discord.Thread, "send", thread_send_refused(400, 160005, "Thread is locked")
    )
    heist.set_setting(guild_a.id, "channel", str(thread.id))
    with sqlite_engine.begin() as conn:
        add_heist(conn, guild_a.id, "resolved", clock.now, [(100, True, 150)])

    assert await heist_chat.post_pending() == 1  # done with: not tried again
    assert await heist_chat.post_pending() == 0

    [call] = UndoneCalls(sqlite_engine, clock).recent(guild_a.id).calls
    assert call.answer == (
        "not posted: the heist thread is locked. Open it again, or set one with !heistset "
        "channel #channel"
    )
    assert call.times == 1


async def test_a_heist_result_discord_did_not_take_within_an_hour_is_listed_as_not_done(
    heist, heist_chat, guild_a, guild_b, sqlite_engine, clock
) -> None:
    """Results wait for Discord (not connected, failing) up to an hour after their heist, then
    are not posted any more (they would be stale): a moderator is told once, not left to
    wonder where the result went."""
    channel_a, channel_b = guild_a.text_channels[0], guild_b.text_channels[0]
    heist.set_setting(guild_a.id, "channel", str(channel_a.id))
    heist.set_setting(guild_b.id, "channel", str(channel_b.id))
    with sqlite_engine.begin() as conn:
        late = add_heist(conn, guild_a.id, "resolved", clock.now, [(100, True, 150)])
        add_heist(conn, guild_b.id, "resolved", clock.now, [(100, False, 0)])
    clock.advance(minutes=61)  # Discord took nothing meanwhile
    with sqlite_engine.begin() as conn:
        add_heist(conn, guild_b.id, "resolved", clock.now, [(100, False, 0)])

    assert await heist_chat.post_pending() == 1  # guild B's latest
    assert posted_in(guild_a) == []
    assert await heist_chat.post_pending() == 0

    undone = UndoneCalls(sqlite_engine, clock)
    [call] = undone.recent(guild_a.id).calls
    assert (call.what, call.failed, call.times) == (
        f"post heist #{late}'s result in the heist channel",
        True,
        1,
    )
    assert call.answer == (
        "not posted: Discord did not take it within an hour of the heist (the bot was not "
        "connected, or Discord failed; the server log says why)"
    )
    assert [c.what for c in undone.recent(guild_b.id).calls] == [
        "post heist #2's result in the heist channel"
    ]
