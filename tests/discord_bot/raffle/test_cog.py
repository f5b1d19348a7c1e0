"""Raffle commands on dpytest's fake Discord, backed by the real raffle service on SQLite."""

from __future__ import annotations

import asyncio

import discord
import discord.ext.test as dpytest
import pytest

from core.events import Platform
from core.features.raffle.service import RaffleService
from tests.discord_bot.fake_discord import say
from tests.discord_bot.raffle.conftest import NOW
from tests.features.raffle.support import RecordingAnnouncer, add_viewer
from tests.features.viewers.guild_support import chatted_in


def text(replies: list[discord.Message]) -> str:
    [reply] = replies
    return reply.content


ADMIN_COMMANDS = [
    "!rafflestart",
    "!raffleend",
    "!rafflerestart",
    "!rafflesetdate 2030-06-01 2030-06-30",
    "!raffleset watch_hour 12",
    "!rafflegive @x 5",
    "!raffleremove @x 5",
    "!rafflevoid gabc",
    "!rafflestats",
    "!raffleexclude someone",
    "!raffleinclude someone",
    "!raffledraw",
    "!rafflereroll 1 no show",
    "!raffleforce",
]


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_admin_commands_need_manage_server(command, alice) -> None:
    reply = text(await say(command.replace("@x", alice.mention), alice))
    assert reply.startswith("You need the Manage Server permission")


async def test_start_info_and_end(manager, guild_a) -> None:
    started = text(await say("!rafflestart", manager))
    assert started.startswith("Raffle period #1 is open")
    assert "Seed commitment: `" in started
    assert text(await say("!rafflestart", manager)).startswith("A raffle period is already open")
    [info] = await say("!raffleinfo", manager)
    embed = info.embeds[0]
    assert "Period #1 (open)" in embed.description
    fields = {field.name: field.value for field in embed.fields}
    assert "beacon round" in fields["Draw commitment"]
    assert fields["Tickets"].startswith("10 per hour watched, 15 per gifted sub")
    ended = text(await say("!raffleend", manager))
    assert ended.startswith("Raffle period #1 is closed; its ledger is frozen")
    assert text(await say("!raffleend", manager)) == "No raffle period is open."


@pytest.mark.parametrize("command", ["!raffleend 2026-12-31", "!rafflerestart tomorrow"])
async def test_words_after_raffleend_or_rafflerestart_close_nothing(
    manager, guild_a, command
) -> None:
    """An admin who types a date after !raffleend (to end the period then) must not close it
    now: the words are refused with the usage, and the period stays open."""
    text(await say("!rafflestart", manager))

    reply = text(await say(command, manager))

    assert reply.startswith("That doesn't look right.")
    assert text(await say("!rafflestart", manager)).startswith("A raffle period is already open")
    [info] = await say("!raffleinfo", manager)
    assert "Period #1 (open)" in info.embeds[0].description


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("!rafflestart 40", "Pick a number from 1 to 31."),
        ("!rafflestart 20 15", "The end day comes before the start day."),
        ("!rafflesetdate june july", "Give both dates as YYYY-MM-DD"),
        ("!rafflesetdate 2030-06-01", "Missing end."),
        ("!raffleset colour red", "Settings I know"),
        ("!raffleset watch_hour \u00b2", "watch\\_hour takes a whole number from 0 to 100000."),
        ("!raffleset channel 123456789012345678", "That channel is not in this server"),
        ("!raffleset channel general", "channel takes a #channel, a channel id, or none."),
        ("!raffleset time_zone Mars/Base", "'Mars/Base' is not a time zone"),
        ("!rafflevoid gnothing", "No gift has the reference 'gnothing' here."),
        ("!rafflevoid " + "g" * 3000, "No gift has the reference '" + "g" * 40 + "'... (3,000 "),
        ("!raffledraw", "There is no closed raffle period to draw from."),
        ("!raffledraw 0", "Pick a number from 1 to 25."),
        ("!rafflereroll 3 gone", "There is no draw #3 in this server."),
        ("!rafflereroll 3", "Missing reason."),
        ("!raffleforce", "No draw is waiting for the beacon."),
        ("!raffleexclude nobody", "I don't know a Kick or Twitch viewer by that name."),
        ("!raffleexclude twitch:", "Name a viewer: their Kick or Twitch name"),
        ("!rafflegive nobody 5", "No raffle period is open."),
        ("!rafflegive <@&123456789012345678> 5", "That's a role: mention a member or type a"),
        ("!rafflestats nobody", "I can't find that member in this server."),
        ("!fair abc", "That doesn't look right."),
        # Numbers no database row can have, dates no calendar holds: refused, not a traceback.
        ("!fair 0", "Pick a number from 1 up. Usage: !fair [draw]"),
        ("!fair 9999999999999999999", "Pick a number from 1 up."),
        ("!rafflereroll 9999999999999999999 gone", "Pick a number from 1 up."),
        ("!rafflereroll 9007199254740991 gone", "There is no draw #9007199254740991 in this"),
        ("!rafflesetdate 2030-06-01 9999-12-31", "A period lasts at most 366 days."),
        ("!rafflesetdate 9999-12-01 9999-12-31", "Those dates are out of range"),
        ("!rafflesetdate 0001-01-01 0001-01-02", "That period would already be over."),
        ("!rafflesetdate 0001-01-01 2030-06-30", "A period lasts at most 366 days."),
        ("!raffleset watch_hour " + "9" * 1990, "watch\\_hour takes a whole number from 0"),
        ("!raffleset channel " + "9" * 1990, "That channel is not in this server"),
        ("!raffleset channel 99999999999999999999", "That channel is not in this server"),
        ("!raffleset time_zone " + "_" * 1000, "'\\_\\_"),
    ],
)
async def test_admin_refusals(command, reply, manager) -> None:
    answer = text(await say(command, manager))
    assert answer.startswith(reply)
    assert len(answer) <= 2000  # what Discord sends


@pytest.mark.parametrize(
    "command", ["!raffleset hold_minutes 2 hours", "!raffleset watch_hour 12 per hour"]
)
async def test_a_setting_typed_with_a_unit_is_refused_not_read_in_the_settings_own_unit(
    command, manager, guild_a, raffle
) -> None:
    """ "!raffleset hold_minutes 2 hours" held gifts for 2 minutes: the words after the number
    were dropped without a word."""
    before = raffle.periods.rates(guild_a.id)
    answer = text(await say(command, manager))
    assert answer.startswith("That doesn't look right. Usage: !raffleset")
    assert raffle.periods.rates(guild_a.id) == before


@pytest.mark.parametrize("typed", ["\uff15", "\u0665", "+5", "1_0"])
async def test_numbers_in_raffle_commands_are_ascii_digits(
    typed, manager, alice, sqlite_engine
) -> None:
    """int() reads full-width and Arabic-Indic digits, a "+" and "1_0"; the raffle's commands
    take numbers as every other command does, and refuse these like a word."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    assert text(await say(f"!rafflestart {typed}", manager)).startswith("That doesn't look right.")
    assert text(await say("!rafflestart", manager)).startswith("Raffle period #1 is open")
    for command in (f"!rafflegive {alice.mention} {typed}", f"!raffleboard {typed}"):
        assert text(await say(command, manager)).startswith("That doesn't look right.")
    assert "has no tickets yet this period" in text(await say("!tickets", alice))
    assert text(await say(f"!rafflegive {alice.mention} 1,000", manager)).startswith(
        "Gave 1,000 tickets"
    )


async def test_tickets_go_to_a_viewer_named_on_kick_or_twitch(
    manager, alice, sqlite_engine
) -> None:
    """`!rafflegive` took only a @member (their Kick account first): a viewer who never linked,
    or a member's Twitch account, could get tickets only from the dashboard."""
    from core.events import Platform

    add_viewer(sqlite_engine, "t7", "quiz_winner", platform=Platform.TWITCH)
    add_viewer(sqlite_engine, "k8", "twin")
    add_viewer(sqlite_engine, "t8", "twin", platform=Platform.TWITCH)
    for platform, user_id in (
        (Platform.TWITCH, "t7"),
        (Platform.KICK, "k8"),
        (Platform.TWITCH, "t8"),
    ):
        chatted_in(sqlite_engine, manager.guild.id, platform, user_id)  # this server's viewers
    await say("!rafflestart", manager)

    assert text(await say("!rafflegive quiz_winner 7 won the quiz", manager)) == (
        "Gave 7 tickets to Twitch viewer quiz\\_winner; they now have 7."
    )
    assert text(await say("!raffleremove twitch:quiz_winner 2", manager)) == (
        "Took 2 tickets from Twitch viewer quiz\\_winner; they now have 5."
    )
    assert text(await say("!raffleremove quiz_winner 9", manager)) == "They have only 5 tickets."
    assert text(await say("!rafflegive nobody 5", manager)) == (
        "I don't know a Kick or Twitch viewer by that name."
    )
    assert text(await say("!raffleremove kick: 5", manager)).startswith(
        "Name a viewer: their Kick or Twitch name"
    )
    assert text(await say("!rafflegive twin 1", manager)) == (
        "Both a Kick and a Twitch viewer are called twin: write kick:twin or twitch:twin."
    )
    assert text(await say("!rafflegive kick:twin 3", manager)).startswith(
        "Gave 3 tickets to Kick viewer twin;"
    )
    [board] = await say("!raffleboard", alice)
    assert board.embeds[0].description.splitlines() == [
        "**#1** quiz\\_winner (Twitch) - 5",
        "**#2** twin (Kick) - 3",
    ]


async def test_views_before_any_raffle(alice) -> None:
    expected = "There is no raffle yet; an admin starts one with !rafflestart."
    assert text(await say("!tickets", alice)) == expected
    assert text(await say("!raffleboard", alice)) == expected
    assert text(await say("!fair", alice)) == expected
    assert text(await say("!fair 9", alice)) == "There is no draw #9 in this server."
    assert text(await say("!raffleboard 30", alice)).startswith("Pick a number from 1 to 25.")


async def test_give_tickets_and_draw(manager, alice, sqlite_engine, raffle, raffle_clock) -> None:
    await say("!rafflestart", manager)
    assert text(await say(f"!rafflegive {alice.mention} 5", manager)) == (
        "That member has not linked a Kick or Twitch account, so they cannot hold tickets."
    )
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "bob_on_kick", discord_id=manager.id)
    given = text(await say(f"!rafflegive {alice.mention} 40 won the quiz", manager))
    assert given == "Gave 40 tickets to alice\\_0\\_nick; they now have 40."
    await say(f"!rafflegive {manager.mention} 10", manager)
    assert text(await say(f"!raffleremove {alice.mention} 50", manager)) == (
        "They have only 40 tickets."
    )
    mine = text(await say("!tickets", alice))
    assert mine.startswith("\N{ADMISSION TICKETS}\N{VARIATION SELECTOR-16} **alice\\_on\\_kick**")
    assert "**40** tickets (admins 40)" in mine
    assert "Rank #1, about 80.00% of the 50 tickets" in mine
    [board] = await say("!raffleboard", alice)
    assert board.embeds[0].description.splitlines() == [
        "**#1** alice\\_on\\_kick - 40",
        "**#2** bob\\_on\\_kick - 10",
    ]
    [stats] = await say(f"!rafflestats {alice.mention}", manager)
    member_field = stats.embeds[0].fields[-1]
    assert "+40 admin (won the quiz)" in member_field.value

    assert text(await say("!raffledraw", manager)).startswith("The raffle period is still open")
    await say("!raffleend", manager)
    waiting = text(await say("!raffledraw 2 a signed jersey", manager))
    assert waiting.startswith("Draw #1 waits for beacon round")
    raffle_clock.advance(minutes=2)
    await raffle.complete_waiting_draws()
    [proof] = await say("!fair", alice)
    fields = {field.name: field.value for field in proof.embeds[0].fields}
    assert any(name.startswith("Draw #1 (round") for name in fields)
    assert fields["Seed"].startswith("`")
    # The fake relay's chain is a test chain: checked, and said to be unpinned.
    assert "its signature was checked" in fields["Beacon check"]
    assert "(not pinned)" in fields["Beacon check"]


async def test_rafflestats_shows_whole_lines_within_discords_limit(
    manager, alice, sqlite_engine
) -> None:
    """Ten entries with long reasons are more than a field holds (1,024): the field ends on
    a whole line and says how many are left, rather than cutting one in the middle."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    for given in range(1, 11):
        await say(f"!rafflegive {alice.mention} {given} {'quiz ' * 38}{given}", manager)
    [stats] = await say(f"!rafflestats {alice.mention}", manager)
    value = stats.embeds[0].fields[-1].value
    lines = value.splitlines()
    assert len(value) <= 1024
    assert lines[0] == "admins 55"
    full = {f"+{given} admin ({'quiz ' * 38}{given})" for given in range(1, 11)}
    assert 1 < len(lines) - 1 < 10
    assert all(line in full for line in lines[1:-1])
    assert lines[-1] == f"and {10 - (len(lines) - 2)} more"


async def test_raffleboard_says_the_period_shown_is_closed(manager, alice, sqlite_engine) -> None:
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 30", manager)
    await say("!raffleend", manager)
    [board] = await say("!raffleboard", alice)
    closed = int(NOW.timestamp())
    assert board.embeds[0].description.splitlines() == [
        f"Period #1 (closed <t:{closed}:D>)",
        "**#1** alice\\_on\\_kick - 30",
    ]


async def test_an_exclusion_after_the_close_says_that_periods_draw_can_still_pick_them(
    manager, alice, sqlite_engine
) -> None:
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "bob_on_kick", discord_id=manager.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 30", manager)
    await say(f"!rafflegive {manager.mention} 10", manager)
    await say("!raffleend", manager)
    assert text(await say(f"!raffleexclude {alice.mention}", manager)) == (
        "alice\\_on\\_kick is excluded from the raffle. Period #1 closed before this, and its "
        "draws can still pick them: who could win was frozen when it closed, and its proof "
        "checks that list. If they win there, draw again with !rafflereroll."
    )
    mine = text(await say("!tickets", alice))
    assert "Rank #1, about 75.00% of the 40 tickets" in mine
    assert text(await say(f"!raffleinclude {alice.mention}", manager)) == (
        "alice\\_on\\_kick takes part again."
    )
    await say(f"!raffleexclude {manager.mention}", manager)
    await say(f"!raffleinclude {manager.mention}", manager)
    await say("!rafflestart", manager)  # a new period: exclusions count from now on
    await say(f"!raffleexclude {alice.mention}", manager)
    await say(f"!rafflegive {alice.mention} 5", manager)
    assert "You are excluded from this raffle's draws." in text(await say("!tickets", alice))


SPACED = "Type the channel as #channel or its id, with no spaces inside."
NO_CHANNEL = "channel takes a #channel, a channel id, or none."


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ('"<# {id} >"', SPACED),
        ('"<#{id} >"', SPACED),
        ('"<#\t{id}>"', SPACED),
        ('"< #{id}>"', NO_CHANNEL),  # names no channel: the setting's own words
    ],
)
async def test_a_channel_typed_with_spaces_in_its_mention_is_refused(
    typed, answer, manager, guild_a, guild_b, raffle
) -> None:
    """Only an exact mention or a bare id names a channel: the check of this server's channels
    reads nothing else, so nothing else may be saved (here another server's channel)."""
    theirs = guild_b.text_channels[0].id
    replies = await say("!raffleset channel " + typed.format(id=theirs), manager)
    assert raffle.periods.rates(guild_a.id).announcement_channel_id == 2002  # as it was
    assert text(replies) == answer
    ours = guild_a.text_channels[0]
    await say(f"!raffleset channel {ours.mention}", manager)
    assert raffle.periods.rates(guild_a.id).announcement_channel_id == ours.id


async def test_announcements_go_through_the_discord_port(
    bot, guild_a, manager, alice, sqlite_engine, raffle, raffle_clock
) -> None:
    from core.discord_bot.channel_posts import post_nonce
    from core.discord_bot.gateway import DiscordGateway
    from core.discord_bot.raffle.outbound import DiscordRaffleAnnouncer

    class ConnectedGateway(DiscordGateway):
        """dpytest's bot never reports ready; this one is taken as connected."""

        def client(self) -> discord.Client:
            return bot

    channel = guild_a.text_channels[0]
    raffle.announcer = DiscordRaffleAnnouncer(ConnectedGateway())
    await say(f"!raffleset channel {channel.id}", manager)
    add_viewer(sqlite_engine, "k1", "@everyone", discord_id=alice.id)
    await say("!rafflestart", manager)
    await raffle.announce_pending()
    [opened] = drain()
    assert opened.content.startswith(
        "\N{ADMISSION TICKETS}\N{VARIATION SELECTOR-16} **A new raffle"
    )
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say("!raffleend", manager)
    await raffle.announce_pending()
    [closed] = drain()
    assert "is over and its tickets are frozen" in closed.content
    raffle_clock.advance(minutes=2)
    await asyncio.to_thread(raffle.run_scheduled)
    reply, winner = await say("!raffledraw 1 a mug", manager)
    assert reply.content.startswith("Draw #1 is done")
    assert "for **a mug**" in winner.content
    # The Kick name "@everyone" is defused; only the winner's own mention pings.
    assert f"@\u200beveryone (<@{alice.id}>) with 3 of 3 tickets" in winner.content
    assert [user.id for user in winner.mentions] == [alice.id]
    await raffle.announce_pending()
    assert drain() == []  # each announcement is posted once
    # Each carries its own nonce, the same at every try: a try after a late answer is one post.
    assert [opened.nonce, closed.nonce, winner.nonce] == [
        post_nonce("raffle opened", guild_a.id, 1),
        post_nonce("raffle closed", guild_a.id, 1),
        post_nonce("raffle draw", guild_a.id, 1),
    ]
    [info] = await say("!raffleinfo", manager)
    last = {field.name: field.value for field in info.embeds[0].fields}["Last draw"]
    assert last.startswith("Draw #1: #1 **@\u200beveryone** (ticket ")  # by name, defused


async def test_an_announcement_waits_while_discord_has_the_guild_unavailable(
    bot, guild_a, manager, raffle
) -> None:
    """In a Discord outage the bot stays connected but the guild is unavailable: its channels
    are unknown (discord.py keeps no channel of it, at a new READY too) until it is back. The
    close's announcement was skipped then, as for a channel the bot cannot see, and lost."""
    from types import SimpleNamespace

    from core.discord_bot.gateway import DiscordGateway
    from core.discord_bot.raffle.outbound import DiscordRaffleAnnouncer

    outage = True

    class Client:
        """dpytest's bot as discord.py shows it while the guild is in an outage."""

        def get_guild(self, guild_id: int) -> object:
            return (
                SimpleNamespace(id=guild_id, unavailable=True)
                if outage
                else bot.get_guild(guild_id)
            )

        def get_channel(self, channel_id: int) -> object:
            return None if outage else bot.get_channel(channel_id)

    class Gateway(DiscordGateway):
        def client(self) -> discord.Client:
            return Client()  # type: ignore[return-value]

    channel = guild_a.text_channels[0]
    await say(f"!raffleset channel {channel.id}", manager)
    await say("!rafflestart", manager)
    await say("!raffleend", manager)
    raffle.announcer = DiscordRaffleAnnouncer(Gateway())
    await raffle.announce_pending()
    assert drain() == []
    outage = False
    await raffle.announce_pending()
    [closed] = drain()  # (a period closed before it was announced has its close to announce)
    assert "is over and its tickets are frozen" in closed.content
    await raffle.announce_pending()
    assert drain() == []  # once


async def test_a_reroll_with_nobody_left_says_so(
    manager, alice, sqlite_engine, raffle, raffle_clock
) -> None:
    """It said "nobody could win (no eligible tickets)" of a period with eligible tickets,
    all of whose holders had won the draw it rerolled."""
    from core.discord_bot.raffle.announcements import draw_announcement

    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)
    assert text(await say("!raffledraw", manager)).startswith("Draw #1 is done")
    assert text(await say("!rafflereroll 1 no answer", manager)).startswith(
        "Draw #2 waits for beacon round "  # one of its own, after it was asked for
    )
    raffle_clock.advance(minutes=1)
    await raffle.complete_waiting_draws()
    assert raffle.views.proof(manager.guild.id, 2).draws[-1].winners == ()
    announcer = RecordingAnnouncer()
    raffle.announcer = announcer
    await raffle.announce_pending()
    rerolled = announcer.draws[-1][1]
    assert draw_announcement(rerolled).splitlines()[1] == (
        "Nobody was left to win: everyone who could has won an earlier draw."
    )


async def test_a_reroll_replaces_only_the_winner_named_by_number(
    manager, alice, sqlite_engine, raffle, raffle_clock
) -> None:
    """A streamer replacing the one winner who never answered got as many new winners as the
    draw had; "#2" names the winner to replace, and the reroll draws one, on a new round."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "bob_on_kick", discord_id=manager.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say(f"!rafflegive {manager.mention} 3", manager)
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)
    await say("!raffledraw 1 a mug", manager)
    (first,) = raffle.views.proof(manager.guild.id, 1).draws[-1].winners
    assert text(await say("!rafflereroll 1 #2 no answer", manager)).startswith(
        "Draw #1 has winners 1 to 1; pick one of them."
    )
    asked = text(await say("!rafflereroll 1 #1 no answer in 48 h", manager))
    assert asked.startswith("Draw #2 waits for beacon round ")
    raffle_clock.advance(minutes=1)
    await raffle.complete_waiting_draws()
    reroll = raffle.views.proof(manager.guild.id, 2).draws[-1]
    assert reroll.winners_wanted == 1
    gone = f"kick:{first.platform_user_id}"
    assert reroll.reason == f"in place of winner 1 ({gone}): no answer in 48 h"
    (second,) = reroll.winners
    assert second.platform_user_id != first.platform_user_id


def test_a_winner_without_a_name_is_announced_by_platform_not_by_id() -> None:
    """A winner forgotten at their request has no name left; their user id is not shown."""
    from core.discord_bot.raffle.announcements import draw_announcement
    from core.features.raffle.ports import DrawAnnouncement, WinnerAnnouncement

    announced = DrawAnnouncement(
        guild_id=1,
        period_id=1,
        draw_id=3,
        prize="",
        winners=(WinnerAnnouncement(None, None, 30, "twitch"),),
        total_tickets=40,
        forced=False,
        reroll_of=None,
        reason="",
    )
    assert draw_announcement(announced).splitlines()[1] == (
        "**#1** a Twitch viewer with 30 of 40 tickets"
    )


def drain() -> list[discord.Message]:
    posted = []
    while not dpytest.sent_queue.empty():
        posted.append(dpytest.get_message())
    return posted


async def test_refusals_during_an_open_period(manager, alice, sqlite_engine) -> None:
    await say("!rafflestart", manager)
    assert text(await say("!tickets", alice)) == (
        "Link your Kick or Twitch account first (!link) to collect tickets."
    )
    assert text(await say(f"!rafflestats {alice.mention}", manager)) == (
        "That member has not linked a Kick or Twitch account."
    )
    assert text(await say(f"!raffleremove {alice.mention} 5", manager)) == (
        "That member has not linked a Kick or Twitch account, so they cannot hold tickets."
    )
    assert text(await say("!rafflesetdate 2030-06-20 2030-06-25", manager)).startswith(
        "The period is already open, so it cannot start later than now"
    )
    assert text(await say("!raffleinclude nobody", manager)) == (
        "I don't know a Kick or Twitch viewer by that name."
    )
    add_viewer(sqlite_engine, "k9", "streamer_bot")
    chatted_in(sqlite_engine, manager.guild.id, Platform.KICK, "k9")
    assert (
        text(await say("!raffleinclude streamer_bot", manager)) == "streamer\\_bot is not excluded."
    )
    assert text(await say("!raffleexclude streamer_bot", manager)) == (
        "streamer\\_bot is excluded from the raffle."
    )
    assert text(await say("!raffleexclude @streamer_bot", manager)) == (
        "streamer\\_bot is already excluded."
    )
    assert text(await say(f"!rafflegive {alice.mention} 0", manager)).startswith(
        "Pick a number from 1 to 1000000."
    )


async def test_a_guild_never_announces_in_another_guilds_channel(
    bot, guild_a, guild_b, sqlite_engine, raffle_clock, beacon
) -> None:
    """A channel id of another server (RAFFLE_ANNOUNCEMENT_CHANNEL_ID shared by every guild, or
    an id typed into !raffleset) must not carry this guild's raffle news."""
    from core.config import RaffleSettings
    from core.discord_bot.gateway import DiscordGateway
    from core.discord_bot.raffle.outbound import DiscordRaffleAnnouncer
    from core.features.raffle.beacons.relays import HttpBeacon

    class ConnectedGateway(DiscordGateway):
        def client(self) -> discord.Client:
            return bot

    channel_of_a = guild_a.text_channels[0]
    raffle = RaffleService(
        sqlite_engine,
        RaffleSettings(announcement_channel_id=channel_of_a.id),
        raffle_clock,
        actor_secret="test-link-secret-a-key-of-32-characters-or-more",
        beacon=HttpBeacon(beacon.url),
        announcer=DiscordRaffleAnnouncer(ConnectedGateway()),
    )
    await asyncio.to_thread(raffle.periods.start, guild_b.id)  # the shared default channel
    raffle.periods.configure(4242, "channel", str(channel_of_a.id))  # another server's channel
    await asyncio.to_thread(raffle.periods.start, 4242)
    await raffle.announce_pending()
    assert drain() == []
    # Guild A's own news still goes there.
    await asyncio.to_thread(raffle.periods.start, guild_a.id)
    await raffle.announce_pending()
    [opened] = drain()
    assert "A new raffle period is open" in opened.content


@pytest.mark.parametrize(
    ("amount", "reply"),
    [
        ("-5", "Pick a number from 1 to 1000000."),
        ("1000001", "Pick a number from 1 to 1000000."),
        ("99999999999999999999999", "Pick a number from 1 to 1000000."),
        ("five", "That doesn't look right."),
    ],
)
async def test_bad_ticket_numbers_are_refused(amount, reply, manager, alice) -> None:
    await say("!rafflestart", manager)
    for command in ("!rafflegive", "!raffleremove"):
        assert text(await say(f"{command} {alice.mention} {amount}", manager)).startswith(reply)


async def test_raffle_commands_in_direct_messages_are_refused(alice) -> None:
    dm = await alice.create_dm()
    for command in ("!tickets", "!raffleinfo", "!fair", "!rafflestart", "!rafflegive x 5"):
        [reply] = await say(command, alice, channel=dm)
        assert reply.content == "This command only works in a server, not in direct messages."


async def test_the_announcement_channel_must_be_one_of_this_servers_channels(
    manager, guild_a, guild_b
) -> None:
    elsewhere = guild_b.text_channels[0]

    reply = text(await say(f"!raffleset channel {elsewhere.id}", manager))
    settings = text(await say("!raffleset", manager))

    assert reply == (
        "That channel is not in this server, or it is an archived thread; pick one of the "
        "server's text channels or an open thread."
    )
    assert str(elsewhere.id) not in settings


async def test_a_member_with_kick_and_twitch_accounts_sees_both_and_is_excluded_whole(
    manager, alice, sqlite_engine, raffle
) -> None:
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "t1", "alice_tv", discord_id=alice.id, platform=Platform.TWITCH)
    chatted_in(sqlite_engine, manager.guild.id, Platform.TWITCH, "t1")
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 4", manager)
    mine = text(await say("!tickets", alice)).splitlines()
    assert mine[0].endswith("**alice\\_on\\_kick** on Kick has **4** tickets (admins 4).")
    assert mine[2] == (
        "**alice\\_tv** on Twitch has no tickets yet this period. Watch, gift subs or wager to "
        "earn some."
    )
    assert text(await say("!rafflegive twitch:alice_tv 6", manager)) == (
        "Gave 6 tickets to Twitch viewer alice\\_tv; they now have 6."
    )
    [board] = await say("!raffleboard", alice)
    assert board.embeds[0].description.splitlines() == [  # Kick and Twitch: each says which
        "**#1** alice\\_tv (Twitch) - 6",
        "**#2** alice\\_on\\_kick (Kick) - 4",
    ]
    assert text(await say(f"!raffleexclude {alice.mention}", manager)) == (
        "alice\\_on\\_kick and alice\\_tv are excluded from the raffle."
    )
    assert text(await say("!raffleinclude twitch:alice_tv", manager)) == (
        "alice\\_tv takes part again."
    )


def within_discords_limits(embed: discord.Embed) -> bool:
    """What Discord takes in one embed: 25 fields, 6,000 characters in all, 1,024 a value."""
    return (
        len(embed.fields) <= 25
        and len(embed) <= 6000
        and all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
    )


@pytest.mark.parametrize(("draws", "winners"), [(21, 1), (6, 25)], ids=["many", "big"])
async def test_fair_shows_the_latest_draws_one_embed_takes_and_says_how_many_are_left(
    draws, winners, manager, alice, guild_a, sqlite_engine, raffle
) -> None:
    """A period of 21 draws (rerolls count too), or of six draws of 25 winners, is more than
    one embed takes (Discord refused it, and everyone's !fair failed): the latest draws are
    shown, and a line names those left out and where to see them."""
    await say("!rafflestart", manager)
    for i in range(winners * draws + 10):
        member_id = 900_000_000_000_000_000 + i
        add_viewer(sqlite_engine, f"k{i}", f"viewer_number_{i:03d}", discord_id=member_id)
        raffle.admin.give(
            guild_a.id, actor_id=manager.id, member_id=member_id, tickets=10, reason="",
            reference=f"r{i}",
        )  # fmt: skip
    await say("!raffleend", manager)
    for n in range(draws):
        await say(f"!raffledraw {winners} prize {n}", manager)
        await say("!raffleforce", manager)

    [reply] = await say("!fair", alice)

    [embed] = reply.embeds
    assert within_discords_limits(embed)
    shown = [f.name for f in embed.fields if f.name.startswith("Draw #")]
    assert 0 < len(shown) < draws
    last = max(raffle.views.proof(guild_a.id, None).document["draws"], key=lambda d: d["id"])
    assert shown[-1] == f"Draw #{last['id']} (forced without the beacon by {last['forced_by']})"
    assert last["forced_by"].startswith("admin-")  # who forced it, as the proof names them
    left = draws - len(shown)
    assert embed.fields[-1].name == f"{left} earlier draw{'s' if left > 1 else ''}"
    assert "`!fair <draw number>` shows one" in embed.fields[-1].value


async def test_help_for_a_long_unknown_name_is_one_message_discord_takes(alice) -> None:
    """A member may type 2,000 characters; the answer repeated them all and passed Discord's
    limit, so they got "Something went wrong" instead of "No command called ..."."""
    [reply] = await say("!help " + "x" * 1994, alice)
    assert len(reply.content) <= 2000
    assert reply.content.startswith('No command called "xxx')
    [reply] = await say("!help fair " + "@everyone" * 200, alice)
    assert len(reply.content) <= 2000
    assert "@everyone" not in reply.content.replace("@\u200beveryone", "")


async def test_a_thread_the_bot_cannot_post_in_is_refused_and_not_saved(
    manager, guild_a, raffle, monkeypatch
) -> None:
    from tests.discord_bot.fake_discord import make_thread

    # dpytest finds mentioned channels among a server's channels only, never its threads.
    mentioned = dpytest.backend.find_channel_mentions
    monkeypatch.setattr(
        dpytest.backend,
        "find_channel_mentions",
        lambda content, guild: [c for c in mentioned(content, guild) if c is not None],
    )
    parent = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(
        guild_a.default_role, parent, send_messages=True, send_messages_in_threads=False
    )
    thread = make_thread(parent)

    replies = await say(f"!raffleset channel {thread.id}", manager)

    assert text(replies) == (
        f"I can't post in {thread.mention}; give me Send Messages in Threads there."
    )
    assert raffle.periods.rates(guild_a.id).announcement_channel_id == 2002  # as it was


async def test_a_reroll_says_it_is_forced_only_once_its_round_is_overdue(
    manager, alice, sqlite_engine, raffle, raffle_clock
) -> None:
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)
    await say("!raffledraw", manager)
    asked = text(await say("!rafflereroll 1 no answer", manager))
    assert asked.endswith(
        "!raffleforce draws without it only if no relay has it 5 minutes after its time."
    )
    assert text(await say("!raffleforce", manager)).startswith(
        "Draw #2 is a reroll on beacon round "
    )
