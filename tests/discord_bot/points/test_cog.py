"""!points, !pointsboard, !pointsgive, !pointsremove and !points rate|name on dpytest's Discord,
with the points service on a real (SQLite) database."""

from __future__ import annotations

import discord.ext.test as dpytest
import pytest
from discord.ext import commands

from core.discord_bot.common import ViewerArgument
from core.discord_bot.services import BotServices
from core.events import Platform, Viewer
from core.features.linking.repository import AccountLink, save_link
from core.features.points.rates import Rates
from core.features.points.service import PointsService
from core.features.points.tables import points_ledger
from tests.discord_bot.fake_discord import say
from tests.support.viewers import chatted_in


@pytest.fixture
def points(sqlite_engine, clock) -> PointsService:
    return PointsService(sqlite_engine, clock)


@pytest.fixture
def services(watchtime, guilds, health_report, linking, points) -> BotServices:
    return BotServices(
        watchtime=watchtime,
        guilds=guilds,
        health=lambda: health_report,
        linking=linking,
        points=points,
    )


@pytest.fixture
def viewers(sqlite_engine, clock, guild_a) -> None:
    """Kick viewers carol (77) and dave (78), and a Twitch carol (900) too, in guild A's chat."""
    with sqlite_engine.begin() as conn:
        kick = [Viewer("77", "carol"), Viewer("78", "dave")]
        chatted_in(conn, guild_a.id, Platform.KICK, kick, clock())
        chatted_in(conn, guild_a.id, Platform.TWITCH, [Viewer("900", "Carol")], clock())


def link(engine, clock, member, platform: Platform, user_id: str, name: str, guild_id: int) -> None:
    with engine.begin() as conn:
        save_link(conn, AccountLink(platform, user_id, member.id, name, clock()), guild_id)


async def test_balances_for_yourself_a_member_and_a_name(
    sqlite_engine, clock, points, viewers, alice, manager, guild_a
):
    link(sqlite_engine, clock, alice, Platform.KICK, "77", "carol", guild_a.id)
    points.give(guild_a.id, Platform.KICK, "77", 1500)
    points.give(guild_a.id, Platform.KICK, "78", 3000)
    [own] = await say("!points", alice)
    assert own.content == "**carol** (Kick): 1,500 points (rank #2)"
    [member] = await say(f"!points <@{alice.id}>", manager)
    assert member.content == own.content
    [named] = await say("!points kick:dave", alice)
    assert named.content == "**dave** (Kick): 3,000 points (rank #1)"
    [both] = await say("!points carol", alice)
    assert both.content.splitlines() == [
        "**carol** (Kick): 1,500 points (rank #2)",
        "**carol** (Twitch): 0 points",
    ]


async def test_a_member_who_cannot_be_found_is_refused_not_taken_for_yourself(
    points, alice, manager, monkeypatch
):
    # A mention of someone who left the server; dpytest only mentions members, so the
    # converter is made to miss the one mentioned here.
    async def not_found(self, ctx, argument):  # type: ignore[no-untyped-def]
        raise commands.MemberNotFound(argument)

    monkeypatch.setattr(ViewerArgument, "convert", not_found)
    [reply] = await say(f"!points <@{manager.id}>", alice)
    assert reply.content == "I can't find that member in this server."


async def test_admin_gives_removes_and_renames(sqlite_engine, points, viewers, manager, guild_a):
    [named] = await say("!points name Pixels", manager)
    assert named.content == "Points are now called **Pixels**."
    [gave] = await say("!pointsgive kick:carol 1,000 stream winner", manager)
    assert gave.content == "Gave 1,000 Pixels to **carol** (Kick); they have 1,000 Pixels."
    [took] = await say("!pointsremove kick:carol 250", manager)
    assert took.content == "Took 250 Pixels from **carol** (Kick); they have 750 Pixels."
    with sqlite_engine.connect() as conn:
        rows = conn.execute(points_ledger.select().order_by(points_ledger.c.id)).all()
    assert [(r.amount, r.actor_id, r.reason) for r in rows] == [
        (1000, manager.id, "stream winner"),
        (-250, manager.id, ""),
    ]


async def test_a_reason_past_200_characters_is_refused_not_cut(sqlite_engine, viewers, manager):
    [refused] = await say(f"!pointsgive kick:carol 10 {'r' * 201}", manager)
    assert refused.content == "Keep the reason under 200 characters."
    [gave] = await say(f"!pointsgive kick:carol 10 {'w' * 200}", manager)
    assert gave.content.startswith("Gave 10 points to **carol** (Kick)")
    with sqlite_engine.connect() as conn:
        reasons = conn.execute(points_ledger.select()).all()
    assert [row.reason for row in reasons] == ["w" * 200]


async def test_rates_show_and_change(manager, alice):
    [shown] = await say("!points rate", alice)
    assert "- `watch` 1: points per present minute" in shown.content
    [changed] = await say("!points rate watch 3", manager)
    assert "- `watch` 3: points per present minute" in changed.content


@pytest.mark.parametrize(
    "command", ["!points rate window 2 hours", "!points rate watch 5 per hour"]
)
async def test_a_rate_typed_with_a_unit_is_refused_not_read_in_the_rates_own_unit(
    manager, points, guild_a, command
):
    """ "!points rate window 2 hours" set a window of 2 minutes: the words after the number were
    dropped without a word."""
    [reply] = await say(command, manager)
    assert reply.content.startswith("That doesn't look right. Usage: !points rate")
    assert points.rates(guild_a.id) == Rates()


async def test_a_rate_added_to_the_feature_shows_in_discord_without_a_change_here(
    manager, monkeypatch
):
    from core.features.points import rates

    monkeypatch.setitem(rates.RATE_NAMES, "raid", ("sub_rate", 0, 1000))
    monkeypatch.setitem(rates.RATE_HELP, "raid", "points per raid")

    [shown] = await say("!points rate", manager)
    [changed] = await say("!points rate raid 7", manager)

    assert "- `raid` 2: points per raid" in shown.content
    assert "- `raid` 7: points per raid" in changed.content
    assert "- `sub` 7: points per present minute for subscribers" in changed.content


async def test_the_board_pages_by_ten(points, guild_a, alice):
    for n in range(12):
        points.give(guild_a.id, Platform.KICK, str(500 + n), 100 + n)
    [board] = await say("!pointsboard", alice)
    [embed] = board.embeds
    lines = embed.description.splitlines()
    assert len(lines) == 10
    assert lines[0] == "**#1** 511 (Kick): 111 points"
    assert embed.footer.text == "Page 1 of 2"


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("!pointsgive kick:carol lots", "The amount is a whole number from 1 to 1,000,000,000."),
        ("!pointsgive kick:carol 0", "The amount is a whole number from 1 to 1,000,000,000."),
        ("!pointsgive kick:carol -5", "The amount is a whole number from 1 to 1,000,000,000."),
        ("!pointsgive kick:carol 99999999999", "The amount is a whole number from 1 to"),
        ("!pointsgive kick:carol 1,5", "'1,5' can be read two ways: type it without commas"),
        ("!pointsgive kick:carol 1,50", "'1,50' can be read two ways"),
        ("!pointsremove kick:carol 12,3456", "'12,3456' can be read two ways"),
        ("!points rate watch 1,5", "'1,5' can be read two ways"),
        ("!pointsgive nobody 5", "No viewer called 'nobody' has chatted here."),
        (
            "!pointsgive carol 5",
            "That is more than one account; say which: kick:carol or twitch:carol.",
        ),
        ("!pointsgive", "Missing viewer."),
        ("!pointsgive kick:carol", "Missing amount."),
        ("!pointsremove kick:carol 5", "They have only 0 points; cannot remove 5."),
        ("!pointsremove kick:dave x", "The amount is a whole number"),
        ("!points rate speed 2", "There is no rate 'speed'."),
        ("!points rate watch", "Usage: !points rate <name> <value>"),
        ("!points rate watch fast", "The watch rate is a whole number from 0 to 1000."),
        ("!points rate window 0", "The window rate is a whole number from 1 to 1440."),
        ("!points name", "Points here are called 'points'"),
        ("!points name <@123>", "A name for points is plain text"),
        ("!points name " + "x" * 40, "A name for points is 1 to 32 characters."),
    ],
)
async def test_wrong_arguments_get_a_friendly_reply(viewers, manager, command, answer):
    [reply] = await say(command, manager)
    assert reply.content.startswith(answer), reply.content


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("!points", "Link your Kick or Twitch account first: !link."),
        ("!points ghost", "No viewer called 'ghost' has chatted here."),
        ("!points twitch:", "Name a viewer: their Kick or Twitch name, or @member."),
    ],
)
async def test_viewers_get_a_friendly_reply(alice, command, answer):
    [reply] = await say(command, alice)
    assert reply.content.startswith(answer), reply.content


async def test_an_unlinked_member_is_explained(alice, manager):
    [reply] = await say(f"!points <@{manager.id}>", alice)
    assert reply.content.startswith("bob")  # their display name, shown literally
    assert reply.content.endswith(
        " has not linked a Kick or Twitch account; name their Kick or Twitch account instead."
    )


@pytest.mark.parametrize(
    "command",
    ["!pointsgive kick:carol 5", "!pointsremove kick:carol 5", "!points rate watch 2",
     "!points name Pixels"],
)  # fmt: skip
async def test_members_without_manage_server_are_refused(viewers, alice, command, points, guild_a):
    [reply] = await say(command, alice)
    assert "Manage Server" in reply.content
    assert points.rates(guild_a.id).watch_rate == 1
    assert points.name(guild_a.id) == "points"
    assert points.balance(guild_a.id, Platform.KICK, "77") == 0
    await dpytest.empty_queue()


async def test_a_points_name_keeps_its_capitals_on_the_board_and_the_rates(
    points, guild_a, manager, alice
):
    """A name like "StreamCoins" or "XP" was shown "Streamcoins" and "Xp": the capital letter
    at the start was added by lowering every other one."""
    await say("!points name StreamCoins", manager)
    points.give(guild_a.id, Platform.KICK, "501", 100)
    [rates] = await say("!points rate", alice)
    [board] = await say("!pointsboard", alice)
    assert rates.content.startswith("**StreamCoins** are earned like this:")
    assert board.embeds[0].title == f"StreamCoins in {guild_a.name}"
    await say("!points name pixels", manager)
    [rates] = await say("!points rate", alice)
    assert rates.content.startswith("**Pixels** are earned like this:")


async def test_a_zalgo_name_keeps_two_marks_a_letter_on_the_board(
    sqlite_engine, clock, points, guild_a, alice
):
    """A tower of combining marks would be drawn over the lines above and below it."""
    with sqlite_engine.begin() as conn:
        zalgo = Viewer("79", "z" + "\N{COMBINING ACUTE ACCENT}" * 40 + "ed")
        chatted_in(conn, guild_a.id, Platform.KICK, [zalgo], clock())
    points.give(guild_a.id, Platform.KICK, "79", 100)
    [board] = await say("!pointsboard", alice)
    assert board.embeds[0].description == (
        "**#1** z\N{COMBINING ACUTE ACCENT}\N{COMBINING ACUTE ACCENT}ed (Kick): 100 points"
    )


async def test_a_chat_bots_points_are_left_off_the_board_and_its_ranks(
    sqlite_engine, clock, points, viewers, guild_a, alice
):
    """StreamElements' own bot came with an import of its leaderboard (or earned before bots
    were told apart) and topped !pointsboard: a chat bot is now left off, and off the ranks."""
    with sqlite_engine.begin() as conn:
        bot = Viewer("80", "StreamElements")
        chatted_in(conn, guild_a.id, Platform.KICK, [bot], clock())
    points.give(guild_a.id, Platform.KICK, "80", 90_000)
    points.give(guild_a.id, Platform.KICK, "77", 1500)
    [board] = await say("!pointsboard", alice)
    [carol] = await say("!points kick:carol", alice)
    assert board.embeds[0].description == "**#1** carol (Kick): 1,500 points"
    assert carol.content == "**carol** (Kick): 1,500 points (rank #1)"


async def test_equal_balances_share_a_rank_shown_with_an_equals_sign(
    points, viewers, guild_a, alice
):
    """The board said "#1", "#1" where !leaderboard and !raffleboard say "=1" for a tie."""
    points.give(guild_a.id, Platform.KICK, "77", 500)
    points.give(guild_a.id, Platform.KICK, "78", 500)
    points.give(guild_a.id, Platform.TWITCH, "900", 100)
    [board] = await say("!pointsboard", alice)
    [carol] = await say("!points kick:carol", alice)
    assert board.embeds[0].description.splitlines() == [
        "**=1** carol (Kick): 500 points",
        "**=1** dave (Kick): 500 points",
        "**#3** Carol (Twitch): 100 points",
    ]
    assert carol.content == "**carol** (Kick): 500 points (rank =1)"
