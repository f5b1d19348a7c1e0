"""Raffle announcements as Discord shows them: every winner named and pinged, within Discord's
limits, however many winners and however long the prize."""

from __future__ import annotations

import asyncio

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.raffle import announcements as render
from core.discord_bot.raffle.outbound import DiscordRaffleAnnouncer
from core.features.raffle.ports import DrawAnnouncement, WinnerAnnouncement
from tests.discord_bot.fake_discord import say
from tests.features.raffle.support import add_viewer


def drain() -> list[discord.Message]:
    posted = []
    while not dpytest.sent_queue.empty():
        posted.append(dpytest.get_message())
    return posted


async def test_a_draw_of_25_winners_names_and_pings_every_one_within_discords_limit(
    bot, guild_a, manager, sqlite_engine, raffle, raffle_clock
) -> None:
    """25 winners with ordinary names and their mentions pass 2,000 characters: the message was
    cut, so the last winners were neither named nor pinged, and the line to check the draw was
    gone."""

    class ConnectedGateway(DiscordGateway):
        def client(self) -> discord.Client:
            return bot

    channel = guild_a.text_channels[0]
    await say(f"!raffleset channel {channel.id}", manager)
    await say("!rafflestart", manager)
    members = [
        dpytest.backend.make_member(
            dpytest.backend.make_user(f"member{i}", 1000 + i, id_num=1_234_567_890_123_456_000 + i),
            guild_a,
        ).id
        for i in range(30)
    ]
    for i, member_id in enumerate(members):
        add_viewer(sqlite_engine, f"k{i}", f"the_viewer_number_{i:02d}", discord_id=member_id)
        raffle.admin.give(
            guild_a.id, actor_id=manager.id, member_id=member_id, tickets=1000 + i, reason="",
            reference=f"r{i}",
        )  # fmt: skip
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)
    await asyncio.to_thread(raffle.run_scheduled)
    raffle.announcer = DiscordRaffleAnnouncer(ConnectedGateway())
    [reply, *posts] = await say("!raffledraw 25 " + "a signed jersey " * 12, manager)
    assert reply.content.startswith("Draw #1 is done")

    draw_posts = [
        post for post in posts if "is over and its tickets are frozen" not in post.content
    ]
    assert len(draw_posts) > 1  # more than one message takes
    assert all(len(post.content) <= 2000 for post in posts)
    pinged = [user.id for post in posts for user in post.mentions]
    assert len(pinged) == 25
    assert set(pinged) <= set(members)
    text = "\n".join(post.content for post in posts)
    assert [line.split()[0] for line in text.splitlines() if line.startswith("**#")] == [
        f"**#{n}**" for n in range(1, 26)
    ]
    assert text.endswith("Check it yourself: !fair 1")
    assert len({post.nonce for post in posts}) == len(posts)  # each part is its own post
    await raffle.announce_pending()
    assert drain() == []  # posted once


@pytest.mark.parametrize("prize", ["*" * 200, "_" * 200])
def test_the_heading_and_every_winner_fit_whatever_the_prize_and_reason(prize) -> None:
    """A prize or reason of markdown characters is twice as long once escaped."""
    announced = DrawAnnouncement(
        guild_id=1,
        period_id=1,
        draw_id=7,
        prize=prize,
        winners=tuple(
            WinnerAnnouncement("_" * 25, 1_234_567_890_123_456_000 + i, 10**9, "kick")
            for i in range(25)
        ),
        total_tickets=10**12,
        forced=True,
        reroll_of=6,
        reason=prize,
    )

    parts = render.draw_messages(announced)

    assert all(len(part) <= 2000 for part in parts)
    assert "\n".join(parts) == render.draw_announcement(announced)
    assert sum(part.count("(<@") for part in parts) == 25


async def test_a_winner_who_left_the_server_is_named_as_such_and_not_mentioned(
    bot, guild_a, manager, alice, sqlite_engine, raffle, raffle_clock
) -> None:
    """A winner linked to a member who has left was mentioned all the same: a mention nobody
    there can open, and no word for the moderators that this winner cannot be reached."""

    class ConnectedGateway(DiscordGateway):
        def client(self) -> discord.Client:
            return bot

    gone = dpytest.backend.make_member(
        dpytest.backend.make_user("gone", 4242, id_num=1_234_567_890_123_999_000), guild_a
    )
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "gone_on_kick", discord_id=gone.id)
    await say(f"!raffleset channel {guild_a.text_channels[0].id}", manager)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say(f"!rafflegive {gone.mention} 3", manager)
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)
    await asyncio.to_thread(raffle.run_scheduled)
    drain()
    dpytest.backend.delete_member(gone)  # they leave the server
    guild_a._member_count = len(guild_a.members)  # Discord has sent the whole member list
    assert guild_a.chunked
    raffle.announcer = DiscordRaffleAnnouncer(ConnectedGateway())

    [reply, *posts] = await say("!raffledraw 2 a mug", manager)

    assert reply.content.startswith("Draw #1 is done")
    [post] = [p for p in posts if p.content.startswith(render.TICKET)]  # after the close's
    assert "gone\\_on\\_kick (left the server) with 3 of 6 tickets" in post.content
    assert f"alice\\_on\\_kick (<@{alice.id}>) with 3 of 6 tickets" in post.content
    assert [user.id for user in post.mentions] == [alice.id]


def test_a_period_announcement_says_its_dates_in_the_raffles_own_time_zone() -> None:
    """Discord shows ``<t:...>`` on each reader's clock: a Berlin March raffle read "February
    28, 6:00 PM to March 31, 5:59 PM" in New York. The announcements now also give the dates
    as the raffle counts them, its zone named."""
    from datetime import UTC, datetime

    from core.features.raffle.ports import PeriodAnnouncement

    period = PeriodAnnouncement(
        guild_id=1, period_id=7, commitment="c" * 64, beacon_round=None, snapshot_hash="h" * 64,
        starts_at=datetime(2026, 2, 28, 23, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 31, 22, 0, tzinfo=UTC), time_zone="Europe/Berlin",
    )  # fmt: skip
    start, last = 1772319600, 1774994399  # the period's first and last second
    dates = (
        f"<t:{start}:f> to <t:{last}:f> "
        "(1 March 2026, 00:00 to 31 March 2026, 23:59 in Europe/Berlin)"
    )
    assert f"**A new raffle period is open**: {dates}." in render.opened_announcement(period)
    assert f"The raffle period {dates} is over" in render.closed_announcement(period)
