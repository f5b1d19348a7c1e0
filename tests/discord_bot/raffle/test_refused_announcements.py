"""A raffle announcement Discord refuses for good (Send Messages taken away in the announcement
channel, a thread locked since it was picked) is listed once under "What the bot could not do"
(``!health``, the dashboard's overview) with the fix, like a refused slot call, instead of a
line in the server log only; it is not tried again, and the raffle goes on."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest

from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.raffle.outbound import DiscordRaffleAnnouncer
from core.outbox.undone import UndoneCalls
from tests.discord_bot.fake_discord import (
    allow_unknown_channel_mentions,
    make_thread,
    say,
    thread_send_refused,
)


def connected(bot: discord.Client) -> DiscordGateway:
    class ConnectedGateway(DiscordGateway):
        def client(self) -> discord.Client:
            return bot

    return ConnectedGateway()


async def test_an_opening_refused_for_send_messages_is_listed_once_with_the_fix(
    bot, guild_a, guild_b, manager, sqlite_engine, raffle, raffle_clock
) -> None:
    news = dpytest.backend.make_text_channel("raffle-news", guild_a)
    [set_reply] = await say(f"!raffleset channel {news.id}", manager)
    assert news.mention in set_reply.content
    await dpytest.set_permission_overrides(guild_a.default_role, news, send_messages=False)
    raffle.announcer = DiscordRaffleAnnouncer(connected(bot))
    await say("!rafflestart", manager)
    await raffle.announce_pending()

    undone = UndoneCalls(sqlite_engine, raffle_clock)
    [call] = undone.recent(guild_a.id).calls
    assert (call.partner, call.what) == ("Discord", "announce that raffle period #1 opened")
    assert call.answer == (
        "not posted: I may not post in the raffle announcement channel; give me Send Messages there"
    )
    assert undone.recent(guild_b.id).total == 0

    await raffle.announce_pending()  # not tried again, not listed twice
    assert undone.recent(guild_a.id).total == 1


async def test_announcements_a_locked_thread_refuses_say_to_open_it(
    bot, guild_a, manager, sqlite_engine, raffle, raffle_clock, monkeypatch
) -> None:
    parent = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(
        guild_a.default_role, parent, send_messages=True, send_messages_in_threads=True
    )
    thread = make_thread(parent)
    allow_unknown_channel_mentions(monkeypatch)
    await say(f"!raffleset channel {thread.id}", manager)
    await say("!rafflestart", manager)
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)
    raffle.run_scheduled()
    monkeypatch.setattr(
        discord.Thread, "send", thread_send_refused(400, 160005, "Thread is locked")
    )
    raffle.announcer = DiscordRaffleAnnouncer(connected(bot))
    await raffle.announce_pending()
    await raffle.announce_pending()

    undone = UndoneCalls(sqlite_engine, raffle_clock).recent(guild_a.id)
    [call] = undone.calls
    assert (call.what, call.times) == ("announce that raffle period #1 closed", 1)
    assert call.answer == (
        "not posted: the raffle announcement thread is locked. Open it again, or set one with "
        "!raffleset channel #channel"
    )


async def test_a_channel_discord_no_longer_knows_is_not_tried_forever(
    bot, guild_a, manager, sqlite_engine, raffle, raffle_clock, monkeypatch
) -> None:
    """Discord answers 404 Unknown Channel (deleted while the bot's cache still held it): the
    announcement is listed with the fix instead of being tried every round, holding the
    server's later announcements (a draw's winners) behind it for good."""
    news = dpytest.backend.make_text_channel("raffle-news", guild_a)
    await say(f"!raffleset channel {news.id}", manager)
    await say("!rafflestart", manager)
    monkeypatch.setattr(
        discord.TextChannel, "send", thread_send_refused(404, 10003, "Unknown Channel")
    )
    raffle.announcer = DiscordRaffleAnnouncer(connected(bot))
    await raffle.announce_pending()
    await raffle.announce_pending()

    [call] = UndoneCalls(sqlite_engine, raffle_clock).recent(guild_a.id).calls
    assert (call.what, call.times) == ("announce that raffle period #1 opened", 1)
    assert call.answer == (
        "not posted: Discord no longer knows the raffle announcement channel (404 Unknown "
        "Channel): it was deleted. Set one with !raffleset channel #channel"
    )


async def test_an_announcement_discord_fails_on_waits_and_is_not_listed(
    bot, guild_a, manager, sqlite_engine, raffle, raffle_clock, monkeypatch
) -> None:
    news = dpytest.backend.make_text_channel("raffle-news", guild_a)
    await say(f"!raffleset channel {news.id}", manager)
    await say("!rafflestart", manager)
    send = discord.TextChannel.send
    monkeypatch.setattr(
        discord.TextChannel, "send", thread_send_refused(503, 0, "Service Unavailable")
    )
    raffle.announcer = DiscordRaffleAnnouncer(connected(bot))
    await raffle.announce_pending()
    assert UndoneCalls(sqlite_engine, raffle_clock).recent(guild_a.id).total == 0

    monkeypatch.setattr(discord.TextChannel, "send", send)  # Discord is back
    await raffle.announce_pending()
    [posted] = [m for m in drain() if m.channel.id == news.id]
    assert "raffle" in posted.content.lower()


def drain() -> list[discord.Message]:
    posted = []
    while not dpytest.sent_queue.empty():
        posted.append(dpytest.get_message())
    return posted
