"""!watchtime, !leaderboard and !tracking on dpytest's fake Discord, backed by the real services."""

from __future__ import annotations

import logging
import threading

import discord
import discord.ext.test as dpytest
import pytest
import sqlalchemy as sa
from discord.ext import commands
from sqlalchemy.engine import Engine

from core.discord_bot.bot import SOMETHING_WENT_WRONG
from core.discord_bot.pages import Pages
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.watchtime import render
from core.discord_bot.watchtime import render as watchtime_render
from core.events import Platform, Viewer
from core.features.guilds.service import GuildService
from core.features.linking.service import LinkingService
from core.features.roles.service import RolesService
from core.features.watchtime.service import WatchtimeService
from tests.discord_bot.conftest import Stream
from tests.discord_bot.embed_limits import LONGEST_ODD_NAME, fits_discords_embed_limits
from tests.discord_bot.fake_discord import member_of, say
from tests.features.raffle.support import add_viewer, set_watchtime
from tests.support.clock import Clock


@pytest.fixture
def link(sqlite_engine: Engine, clock: Clock, stream: Stream):
    """Link a member to a new Kick account that earned ``seconds`` (in ``guild`` or theirs)."""
    linking = LinkingService(sqlite_engine, clock)

    def link(
        member: discord.Member, kick_name: str, seconds: int, guild: discord.Guild | None = None
    ) -> Viewer:
        viewer = stream.viewer(kick_name)
        linking.link(
            guild_id=member.guild.id,
            discord_user_id=member.id,
            platform=Platform.KICK,
            platform_user_id=viewer.platform_user_id or "",
            username=kick_name,
        )
        return stream.earn((guild or member.guild).id, viewer, seconds)

    return link


def leaderboard_lines(reply: discord.Message) -> list[str]:
    assert len(reply.embeds) == 1, reply.content
    return (reply.embeds[0].description or "").splitlines()


# --- !watchtime ----------------------------------------------------------------------------


async def test_watchtime_shows_time_rank_of_all_and_last_seen(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, clock: Clock
) -> None:
    stream.earn(guild_a.id, "topviewer", 20_000)
    stream.earn(guild_a.id, "carol", 7500)
    last_seen = clock()
    stream.earn(guild_a.id, "lurker", 600)

    [reply] = await say("!watchtime carol", alice)

    assert reply.content == (
        "**carol** has watched 2 h 05 min, rank #2 of 3, "
        f"last seen <t:{int(last_seen.timestamp())}:R>."
    )


@pytest.mark.parametrize("typed", ["CAROL", "@carol"])
async def test_watchtime_name_ignores_case_and_a_leading_at(
    typed: str, guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    stream.earn(guild_a.id, "Carol", 3600)

    [reply] = await say(f"!watchtime {typed}", alice)

    assert reply.content.startswith("**Carol** has watched 1 h 00 min, rank #1 of 1")


async def test_watchtime_for_an_unknown_name_is_friendly(alice: discord.Member) -> None:
    [reply] = await say("!watchtime nobody", alice)

    assert reply.content == "No watchtime recorded for nobody yet."


async def test_a_role_or_channel_is_not_taken_for_a_viewers_name(
    alice: discord.Member, guild_a: discord.Guild
) -> None:
    role = dpytest.backend.make_role("Moderators", guild_a)
    channel = guild_a.text_channels[0]
    for mention, what in ((role.mention, "a role"), (channel.mention, "a channel")):
        [reply] = await say(f"!watchtime {mention}", alice)

        assert reply.content == (
            f"That's {what}: mention a member or type a Kick or Twitch name. "
            "Usage: !watchtime [viewer]"
        )


async def test_watchtime_for_a_very_long_unknown_name_still_fits_in_a_reply(
    alice: discord.Member,
) -> None:
    # Escaped, 1900 underscores would be 3800 characters: Discord refuses replies over 2000.
    [reply] = await say("!watchtime " + "_" * 1900, alice)

    assert reply.content.startswith("No watchtime recorded for \\_\\_")
    assert reply.content.endswith(" yet.")
    assert len(reply.content) <= 2000


async def test_watchtime_without_a_name_and_without_a_link_points_to_link(
    alice: discord.Member,
) -> None:
    [reply] = await say("!watchtime", alice)

    assert reply.content == (
        "Your Discord account isn't linked to Kick or Twitch yet: use !link, then ask again. "
        "You can also look anyone up with !watchtime <Kick or Twitch name>."
    )


async def test_watchtime_for_an_unlinked_member_says_so_without_pinging(
    guild_a: discord.Guild, alice: discord.Member
) -> None:
    bob = member_of(guild_a, "bob")

    [reply] = await say(f"!watchtime {bob.mention}", alice)

    assert reply.content == (
        f"<@{bob.id}> hasn't linked a Kick or Twitch account yet. "
        "Try !watchtime <Kick or Twitch name>."
    )


async def test_watchtime_without_a_name_shows_your_own_through_your_link(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, link, clock: Clock
) -> None:
    stream.earn(guild_a.id, "topviewer", 20_000)
    link(alice, "alice_kick", 7500)
    last_seen = clock()

    [reply] = await say("!watchtime", alice)

    assert reply.content == (
        f"<@{alice.id}> (**alice\\_kick** on Kick) has watched 2 h 05 min, rank #2 of 2, "
        f"last seen <t:{int(last_seen.timestamp())}:R>."
    )


async def test_watchtime_of_a_member_goes_through_their_link(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, link
) -> None:
    bob = member_of(guild_a, "bob")
    link(bob, "bobby", 600)

    [reply] = await say(f"!watchtime {bob.mention}", alice)

    assert reply.content.startswith(f"<@{bob.id}> (**bobby** on Kick) has watched 10 min, rank #1")


async def test_watchtime_of_a_linked_member_without_time_here_says_how_to_earn_it(
    guild_a: discord.Guild, guild_b: discord.Guild, alice: discord.Member, link
) -> None:
    link(alice, "alice_kick", 600, guild=guild_b)  # watched in the other server only

    [reply] = await say("!watchtime", alice)

    assert reply.content == (
        f"No watchtime recorded here yet for <@{alice.id}> (alice\\_kick on Kick). "
        "Chatting while the stream is live earns it."
    )


async def test_watchtime_by_kick_name_of_a_linked_viewer_shows_the_member(
    guild_a: discord.Guild, alice: discord.Member, link
) -> None:
    bob = member_of(guild_a, "bob")
    link(bob, "bobby", 600)

    [reply] = await say("!watchtime bobby", alice)

    assert reply.content.startswith(f"<@{bob.id}> (**bobby** on Kick) has watched 10 min")


async def test_watchtime_names_the_next_role_and_what_is_missing(
    guild_a: discord.Guild, alice: discord.Member, roles: RolesService, link
) -> None:
    roles.add_tier(guild_a.id, dpytest.backend.make_role("Fan", guild_a).id, 60)
    regular = dpytest.backend.make_role("Regular", guild_a)
    roles.add_tier(guild_a.id, regular.id, 300)
    link(alice, "alice_kick", 100 * 60)

    [reply] = await say("!watchtime", alice)

    assert reply.content.splitlines()[1] == (
        f"Next role: {regular.mention} at 5 h 00 min, 3 h 20 min to go."
    )


async def test_watchtime_names_no_role_that_is_deleted_or_while_roles_are_off(
    guild_a: discord.Guild, alice: discord.Member, roles: RolesService, link
) -> None:
    regular = dpytest.backend.make_role("Regular", guild_a)
    roles.add_tier(guild_a.id, regular.id, 300)
    roles.add_tier(guild_a.id, 901, 120)  # its role was deleted: nobody gets it any more
    link(alice, "alice_kick", 100 * 60)

    [with_a_deleted_tier] = await say("!watchtime", alice)
    roles.set_enabled(guild_a.id, False)  # !roles disable: nobody gains or loses a role
    [while_off] = await say("!watchtime", alice)

    assert with_a_deleted_tier.content.splitlines()[1] == (
        f"Next role: {regular.mention} at 5 h 00 min, 3 h 20 min to go."
    )
    assert len(while_off.content.splitlines()) == 1, while_off.content


async def test_watchtime_past_every_tier_says_so(
    guild_a: discord.Guild, alice: discord.Member, roles: RolesService, stream: Stream
) -> None:
    roles.add_tier(guild_a.id, dpytest.backend.make_role("Fan", guild_a).id, 60)
    stream.earn(guild_a.id, "carol", 7200)

    [reply] = await say("!watchtime carol", alice)

    assert reply.content.splitlines()[1] == "Every watchtime role reached."


async def test_watchtime_uses_this_guilds_tiers_only(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    roles: RolesService,
    stream: Stream,
) -> None:
    roles.add_tier(guild_b.id, 999, 60)
    stream.earn(guild_a.id, "carol", 600)

    [reply] = await say("!watchtime carol", alice)

    assert "999" not in reply.content
    assert len(reply.content.splitlines()) == 1


async def test_watchtime_for_a_mention_of_nobody_here_says_so(alice: discord.Member) -> None:
    # A 16-digit id: valid for Discord, and dpytest leaves it unresolved as a mention.
    [reply] = await say("!watchtime <@1234567890123456>", alice)

    assert reply.content == "I can't find that member in this server."


async def test_watchtime_does_not_create_the_guild(
    guild_a: discord.Guild, alice: discord.Member, guilds: GuildService
) -> None:
    await say("!watchtime carol", alice)

    with pytest.raises(LookupError):
        guilds.show(guild_a.id)


async def test_viewer_names_with_mentions_and_markdown_render_inert(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    stream.earn(guild_a.id, "**bold**@everyone", 3600)
    stream.earn(guild_a.id, "@here <@123456789012345678>", 60)

    [reply] = await say("!watchtime **bold**@everyone", alice)
    assert reply.content.startswith("**\\*\\*bold\\*\\*@\u200beveryone** has watched 1 h 00 min")
    assert not reply.mention_everyone

    [board] = await say("!leaderboard", alice)
    text = "\n".join(leaderboard_lines(board))
    assert "@everyone" not in text
    assert "@here" not in text
    assert "<@123" not in text
    assert "**bold**" not in text
    assert "\\*\\*bold\\*\\*" in text


# --- !leaderboard --------------------------------------------------------------------------


async def test_leaderboard_lists_rank_name_and_time_under_the_guild_name(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    stream.earn(guild_a.id, "carol", 7500)
    stream.earn(guild_a.id, "dave", 90_061)
    stream.earn(guild_a.id, "erin", 59)

    [reply] = await say("!leaderboard", alice)

    assert reply.embeds[0].title == "Watchtime leaderboard: Guild A"
    assert leaderboard_lines(reply) == [
        "**#1** dave - 25 h 01 min",
        "**#2** carol - 2 h 05 min",
        "**#3** erin - 0 min",
    ]


async def test_equal_watchtime_shares_one_rank_on_the_leaderboard_and_in_watchtime(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    """The leaderboard and !watchtime rank ties alike: both share the rank, shown "=2"."""
    stream.earn(guild_a.id, "ann", 600)
    stream.earn(guild_a.id, "ben", 300)
    stream.earn(guild_a.id, "cat", 300)
    stream.earn(guild_a.id, "dan", 60)

    [board] = await say("!leaderboard", alice)
    [cat] = await say("!watchtime cat", alice)

    lines = leaderboard_lines(board)
    assert lines[0] == "**#1** ann - 10 min"
    assert sorted(lines[1:3]) == ["**=2** ben - 5 min", "**=2** cat - 5 min"]
    assert lines[3] == "**#4** dan - 1 min"
    assert cat.content.startswith("**cat** has watched 5 min, rank =2 of 4,")


async def test_leaderboard_shows_ten_by_default(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    for index in range(12):
        stream.earn(guild_a.id, f"viewer{index:02d}", 60 * (index + 1))

    [reply] = await say("!leaderboard", alice)

    assert len(leaderboard_lines(reply)) == 10


async def test_leaderboard_shows_as_many_as_asked(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    for index in range(5):
        stream.earn(guild_a.id, f"viewer{index:02d}", 60 * (index + 1))

    [reply] = await say("!leaderboard 3", alice)

    assert leaderboard_lines(reply) == [
        "**#1** viewer04 - 5 min",
        "**#2** viewer03 - 4 min",
        "**#3** viewer02 - 3 min",
    ]


@pytest.mark.parametrize("count", ["0", "26", "-1", "1000"])
async def test_leaderboard_out_of_range_names_the_range(count: str, alice: discord.Member) -> None:
    [reply] = await say(f"!leaderboard {count}", alice)

    assert reply.content == "Pick a number from 1 to 25. Usage: !leaderboard [count=10]"


async def test_leaderboard_with_a_word_shows_the_usage(alice: discord.Member) -> None:
    [reply] = await say("!leaderboard lots", alice)

    assert reply.content == "That doesn't look right. Usage: !leaderboard [count=10]"


async def test_leaderboard_refusals_do_not_start_the_cooldown(alice: discord.Member) -> None:
    await say("!leaderboard 99", alice)

    [reply] = await say("!leaderboard", alice)

    assert reply.content == render.EMPTY_LEADERBOARD


async def test_empty_leaderboard_explains_how_viewers_earn_watchtime(
    alice: discord.Member,
) -> None:
    [reply] = await say("!leaderboard", alice)

    assert reply.content == (
        "No watchtime recorded yet. Viewers earn it by chatting while the stream is live."
    )


async def test_leaderboard_in_one_guild_never_shows_another_guilds_viewers(
    guild_a: discord.Guild, guild_b: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    stream.earn(guild_a.id, "only_in_a", 600)
    stream.earn(guild_b.id, "only_in_b", 6000)

    [reply] = await say("!leaderboard", alice)

    assert leaderboard_lines(reply) == ["**#1** only\\_in\\_a - 10 min"]


async def test_leaderboard_asked_again_too_soon_says_when_to_retry(
    alice: discord.Member,
) -> None:
    await say("!leaderboard", alice)

    [reply] = await say("!leaderboard", alice)

    assert reply.content == "Slow down: try again in 5 s."


async def test_a_failing_database_gets_a_plain_reply_and_a_logged_traceback(
    alice: discord.Member, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE watchtime"))

    [reply] = await say("!leaderboard", alice)

    assert reply.content == SOMETHING_WENT_WRONG
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert "leaderboard" in record.getMessage()


async def test_a_channel_discord_rate_limits_gets_no_reply_and_one_warning(
    alice: discord.Member, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Past the bot's wait (max_ratelimit_timeout), discord.py raises RateLimited: Discord
    would take no answer either, so none is tried, and the operator reads why."""

    async def limited(self, *args: object, **kwargs: object) -> None:
        raise discord.RateLimited(600.0)

    monkeypatch.setattr(commands.Context, "send", limited)

    assert await say("!leaderboard", alice) == []

    assert "!leaderboard not answered: Discord rate-limits the channel" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_leaderboard_shows_linked_viewers_as_mentions(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, link
) -> None:
    link(alice, "alice_kick", 7200)
    stream.earn(guild_a.id, "carol", 600)

    [reply] = await say("!leaderboard", alice)

    assert leaderboard_lines(reply) == [
        f"**#1** <@{alice.id}> - 2 h 00 min",
        "**#2** carol - 10 min",
    ]


def view_of(bot: commands.Bot, message: discord.Message) -> discord.ui.View | None:
    """The view discord.py keeps for a sent message (dpytest's messages carry no components)."""
    return bot._connection._view_store._synced_message_views.get(message.id)


async def test_a_one_page_leaderboard_has_no_buttons(
    bot: commands.Bot, guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    stream.earn(guild_a.id, "carol", 600)

    [reply] = await say("!leaderboard", alice)

    assert view_of(bot, reply) is None
    assert reply.embeds[0].footer.text is None


async def test_a_longer_leaderboard_has_paging_buttons(
    bot: commands.Bot, guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    for index in range(7):
        stream.earn(guild_a.id, f"viewer{index:02d}", 60 * (index + 1))

    [reply] = await say("!leaderboard 3", alice)

    assert reply.embeds[0].footer.text == "Page 1 of 3"
    view = view_of(bot, reply)
    assert isinstance(view, Pages)
    assert view.invoker_id == alice.id
    buttons = [(b.label, b.disabled) for b in view.children if isinstance(b, discord.ui.Button)]
    assert buttons == [("Previous", True), ("Next", False)]


class Response:
    """The part of discord.Interaction.response a page turn uses."""

    def __init__(self) -> None:
        self.edits: list[dict] = []
        self.sent: list[tuple[str, dict]] = []

    async def edit_message(self, **kwargs) -> None:
        self.edits.append(kwargs)

    async def send_message(self, content: str, **kwargs) -> None:
        self.sent.append((content, kwargs))


class Interaction:
    def __init__(self, user: discord.abc.User) -> None:
        self.user = user
        self.response = Response()


def pages_of(watchtime: WatchtimeService, guild: discord.Guild, invoker: discord.Member, count=3):
    total = watchtime.count_viewers(guild.id)
    pages = -(-total // count)

    async def render_page(page: int):
        rows = watchtime.leaderboard(guild.id, count, page * count)
        return watchtime_render.leaderboard_embed(guild.name, rows, {}, page=page, pages=pages)

    return Pages(
        invoker_id=invoker.id,
        render_page=render_page,
        pages=pages,
        not_yours=watchtime_render.NOT_YOUR_LEADERBOARD,
    )


async def test_the_invoker_pages_forward_and_back(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, watchtime: WatchtimeService
) -> None:
    for index in range(7):
        stream.earn(guild_a.id, f"viewer{index:02d}", 60 * (index + 1))
    view = pages_of(watchtime, guild_a, alice)
    click = Interaction(alice)

    assert await view.interaction_check(click)  # type: ignore[arg-type]
    await view.next_page.callback(click)  # type: ignore[arg-type]
    await view.next_page.callback(click)  # type: ignore[arg-type]

    last = click.response.edits[-1]["embed"]
    assert last.description.splitlines() == ["**#7** viewer00 - 1 min"]
    assert last.footer.text == "Page 3 of 3"
    assert view.next_page.disabled
    assert not view.previous_page.disabled

    await view.previous_page.callback(click)  # type: ignore[arg-type]
    back = click.response.edits[-1]["embed"]
    assert back.description.splitlines()[0] == "**#4** viewer03 - 4 min"


async def test_only_the_invoker_may_turn_the_pages(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, watchtime: WatchtimeService
) -> None:
    for index in range(7):
        stream.earn(guild_a.id, f"viewer{index:02d}", 60 * (index + 1))
    view = pages_of(watchtime, guild_a, alice)
    stranger = Interaction(member_of(guild_a, "bob"))

    assert not await view.interaction_check(stranger)  # type: ignore[arg-type]
    assert stranger.response.sent == [
        (render.NOT_YOUR_LEADERBOARD, {"ephemeral": True, "allowed_mentions": NO_MENTIONS})
    ]
    assert view.page == 0


# --- !tracking -----------------------------------------------------------------------------


async def test_manager_turns_tracking_off_and_on(
    guild_a: discord.Guild, manager: discord.Member, watchtime: WatchtimeService
) -> None:
    [off] = await say("!tracking off", manager)
    assert "now **off**" in off.content
    assert not watchtime.tracking_status(guild_a.id).enabled

    [on] = await say("!tracking ON", manager)
    assert "now **on**" in on.content
    assert watchtime.tracking_status(guild_a.id).enabled


async def test_changing_tracking_registers_the_guild_with_its_name(
    guild_a: discord.Guild, manager: discord.Member, guilds: GuildService
) -> None:
    with pytest.raises(LookupError):
        guilds.show(guild_a.id)

    await say("!tracking off", manager)

    assert guilds.show(guild_a.id).guild_id == guild_a.id


@pytest.mark.parametrize("action", ["on", "off"])
async def test_tracking_on_or_off_needs_manage_server(
    action: str, guild_a: discord.Guild, alice: discord.Member, watchtime: WatchtimeService
) -> None:
    [reply] = await say(f"!tracking {action}", alice)

    assert reply.content == f"You need the Manage Server permission to use !tracking {action}."
    assert watchtime.tracking_status(guild_a.id).enabled


async def test_anyone_sees_tracking_status(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, clock: Clock
) -> None:
    viewer = stream.earn(guild_a.id, "carol", 600)
    stream.chat(guild_a.id, viewer)
    last_tick = clock()

    [reply] = await say("!tracking status", alice)

    assert reply.content.splitlines() == [
        "Watchtime tracking is **on**.",
        "Viewers present now: 1",
        "Credited every 60 s to viewers who chatted in the last 60 min",
        f"Last tick: <t:{int(last_tick.timestamp())}:R>",
    ]


async def test_tracking_status_after_off_shows_off(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member
) -> None:
    await say("!tracking off", manager)

    [reply] = await say("!tracking status", alice)

    assert reply.content.startswith("Watchtime tracking is **off**.")


@pytest.mark.parametrize("text", ["!tracking", "!tracking maybe", "!tracking 1"])
async def test_tracking_without_on_off_or_status_shows_the_usage(
    text: str, alice: discord.Member
) -> None:
    [reply] = await say(text, alice)

    assert reply.content == "Usage: !tracking on | off | status"


# --- every command -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "!watchtime carol",
        "!leaderboard",
        "!tracking status",
        "!tracking on",
        "!tracking",
        "!health",
    ],
)
async def test_server_commands_in_direct_messages_are_refused(
    text: str, alice: discord.Member
) -> None:
    dm = await alice.create_dm()

    [reply] = await say(text, alice, channel=dm)

    assert reply.content == "This command only works in a server, not in direct messages."


async def test_unknown_commands_get_no_reply(alice: discord.Member) -> None:
    assert await say("!nosuchcommand", alice) == []


async def test_commands_ignore_case(alice: discord.Member) -> None:
    [reply] = await say("!LeaderBoard", alice)

    assert reply.content == render.EMPTY_LEADERBOARD


async def test_help_lists_only_the_commands_the_caller_may_use(
    alice: discord.Member, manager: discord.Member
) -> None:
    [for_member] = await say("!help", alice)
    [for_manager] = await say("!help", manager)

    for text in (for_member.content, for_manager.content):
        assert "watchtime" in text
        assert "leaderboard" in text
        assert "tracking" in text
    assert "health" not in for_member.content
    assert "health" in for_manager.content


async def test_database_work_never_runs_on_the_event_loop(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    stream: Stream,
    sqlite_engine: Engine,
) -> None:
    stream.earn(guild_a.id, "carol", 600)
    loop_thread = threading.get_ident()
    statement_threads: list[int] = []

    def record_thread(*_args: object) -> None:
        statement_threads.append(threading.get_ident())

    sa.event.listen(sqlite_engine, "before_cursor_execute", record_thread)
    try:
        for text, member in [
            ("!watchtime carol", alice),
            ("!leaderboard", alice),
            ("!tracking status", alice),
            ("!tracking off", manager),
        ]:
            await say(text, member)
    finally:
        sa.event.remove(sqlite_engine, "before_cursor_execute", record_thread)

    assert statement_threads
    assert loop_thread not in statement_threads


# --- names on both platforms -------------------------------------------------------------------


def link_account(
    engine: Engine, clock: Clock, member: discord.Member, platform: Platform, viewer: Viewer
) -> None:
    LinkingService(engine, clock).link(
        guild_id=member.guild.id,
        discord_user_id=member.id,
        platform=platform,
        platform_user_id=viewer.platform_user_id or "",
        username=viewer.username,
    )


async def test_watchtime_finds_a_twitch_name(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    stream.earn(guild_a.id, "kickfan", 1200)
    stream.earn(guild_a.id, "twitchfan", 600, Platform.TWITCH)

    [reply] = await say("!watchtime TwitchFan", alice)

    assert reply.content.startswith("**twitchfan** has watched 10 min, rank #2 of 2")


async def test_a_name_on_both_platforms_shows_both_labelled(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, clock: Clock
) -> None:
    stream.earn(guild_a.id, Viewer("501", "sam"), 1200)
    kick_seen = clock()
    stream.earn(guild_a.id, Viewer("501", "sam"), 600, Platform.TWITCH)
    twitch_seen = clock()

    [reply] = await say("!watchtime sam", alice)

    assert reply.content.splitlines() == [
        "**sam** on Kick has watched 20 min, rank #1 of 2, "
        f"last seen <t:{int(kick_seen.timestamp())}:R>.",
        "**sam** on Twitch has watched 10 min, rank #2 of 2, "
        f"last seen <t:{int(twitch_seen.timestamp())}:R>.",
    ]


async def test_a_platform_before_the_name_shows_that_platforms_viewer_only(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    stream.earn(guild_a.id, Viewer("501", "sam"), 1200)
    stream.earn(guild_a.id, Viewer("501", "sam"), 600, Platform.TWITCH)

    [on_twitch] = await say("!watchtime twitch:@Sam", alice)
    [on_kick] = await say("!watchtime KICK:sam", alice)

    assert on_twitch.content.startswith("**sam** has watched 10 min, rank #2 of 2")
    assert on_kick.content.startswith("**sam** has watched 20 min, rank #1 of 2")


async def test_a_linked_twitch_name_shows_its_member_on_twitch(
    sqlite_engine: Engine,
    clock: Clock,
    guild_a: discord.Guild,
    alice: discord.Member,
    stream: Stream,
) -> None:
    bob = member_of(guild_a, "bob")
    viewer = stream.earn(guild_a.id, "bobtv", 600, Platform.TWITCH)
    link_account(sqlite_engine, clock, bob, Platform.TWITCH, viewer)

    [reply] = await say("!watchtime bobtv", alice)

    assert reply.content.startswith(f"<@{bob.id}> (**bobtv** on Twitch) has watched 10 min")


async def test_the_leaderboard_finds_members_on_the_rows_platform(
    sqlite_engine: Engine,
    clock: Clock,
    guild_a: discord.Guild,
    alice: discord.Member,
    stream: Stream,
) -> None:
    """A Kick and a Twitch account with the same user id are two viewers: the Twitch row is not
    the member linked to the Kick account, and a linked Twitch account shows its member."""
    bob = member_of(guild_a, "bob")
    kick_viewer = stream.earn(guild_a.id, Viewer("777", "alice_kick"), 7200)
    link_account(sqlite_engine, clock, alice, Platform.KICK, kick_viewer)
    stream.earn(guild_a.id, Viewer("777", "stranger"), 3600, Platform.TWITCH)
    twitch_viewer = stream.earn(guild_a.id, Viewer("888", "bobtv"), 600, Platform.TWITCH)
    link_account(sqlite_engine, clock, bob, Platform.TWITCH, twitch_viewer)

    [reply] = await say("!leaderboard", alice)

    assert leaderboard_lines(reply) == [  # Kick and Twitch on one page: each says which
        f"**#1** <@{alice.id}> (Kick) - 2 h 00 min",
        "**#2** stranger (Twitch) - 1 h 00 min",
        f"**#3** <@{bob.id}> (Twitch) - 10 min",
    ]


async def test_a_member_linked_on_both_platforms_sees_both(
    sqlite_engine: Engine,
    clock: Clock,
    guild_a: discord.Guild,
    alice: discord.Member,
    stream: Stream,
) -> None:
    kick = stream.earn(guild_a.id, "alice_kick", 1200)
    link_account(sqlite_engine, clock, alice, Platform.KICK, kick)
    twitch = stream.earn(guild_a.id, "alice_tv", 600, Platform.TWITCH)
    link_account(sqlite_engine, clock, alice, Platform.TWITCH, twitch)

    [reply] = await say("!watchtime", alice)

    lines = reply.content.splitlines()
    assert lines[0].startswith(f"<@{alice.id}> (**alice\\_kick** on Kick) has watched 20 min")
    assert lines[1].startswith(f"<@{alice.id}> (**alice\\_tv** on Twitch) has watched 10 min")


async def test_a_member_linked_on_both_platforms_sees_the_next_role_of_the_account_that_counts(
    sqlite_engine: Engine,
    clock: Clock,
    guild_a: discord.Guild,
    alice: discord.Member,
    stream: Stream,
    roles: RolesService,
) -> None:
    # Role sync counts the account with more watchtime: alice holds Fan through Kick, so no
    # line may tell her Fan is still 50 min away because her Twitch account has 10 min.
    fan = dpytest.backend.make_role("Fan", guild_a)
    regular = dpytest.backend.make_role("Regular", guild_a)
    roles.add_tier(guild_a.id, fan.id, 60)
    roles.add_tier(guild_a.id, regular.id, 300)
    kick = stream.earn(guild_a.id, "alice_kick", 2 * 3600)
    link_account(sqlite_engine, clock, alice, Platform.KICK, kick)
    twitch = stream.earn(guild_a.id, "alice_tv", 600, Platform.TWITCH)
    link_account(sqlite_engine, clock, alice, Platform.TWITCH, twitch)

    [own] = await say("!watchtime", alice)
    [by_twitch_name] = await say("!watchtime twitch:alice_tv", alice)

    next_role = f"Next role: {regular.mention} at 5 h 00 min, 3 h 00 min to go."
    lines = own.content.splitlines()
    assert [line.split(" has watched")[0] for line in lines[:2]] == [
        f"<@{alice.id}> (**alice\\_kick** on Kick)",
        f"<@{alice.id}> (**alice\\_tv** on Twitch)",
    ]
    assert lines[2:] == [next_role]  # once, for the member
    assert by_twitch_name.content.splitlines()[1:] == [next_role]


async def test_an_account_linked_by_someone_not_in_this_server_shows_by_its_name(
    sqlite_engine: Engine,
    clock: Clock,
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    stream: Stream,
) -> None:
    # zed linked their Kick account in another server and never joined this one: a mention
    # would show "@Unknown User" here and tell this server which Discord account zed is.
    outsider_id = 777_000_000_000_000_001
    assert guild_a.get_member(outsider_id) is None
    zed = stream.earn(guild_a.id, "zed", 7200)
    LinkingService(sqlite_engine, clock).link(
        guild_id=guild_b.id,
        discord_user_id=outsider_id,
        platform=Platform.KICK,
        platform_user_id=zed.platform_user_id or "",
        username="zed",
    )

    [board] = await say("!leaderboard", alice)
    [lookup] = await say("!watchtime zed", alice)

    assert leaderboard_lines(board) == ["**#1** zed - 2 h 00 min"]
    assert lookup.content.startswith("**zed** has watched 2 h 00 min, rank #1 of 1")
    assert str(outsider_id) not in board.embeds[0].description + lookup.content


async def test_seconds_short_of_the_next_role_are_a_minute_to_go_not_none(
    guild_a: discord.Guild, alice: discord.Member, roles: RolesService, link
) -> None:
    # 30 s short of the role: "0 min to go" would read as if it were reached, yet no role came.
    regular = dpytest.backend.make_role("Regular", guild_a)
    roles.add_tier(guild_a.id, regular.id, 100)
    link(alice, "alice_kick", 100 * 60 - 30)

    [reply] = await say("!watchtime", alice)

    assert reply.content.splitlines()[1] == (
        f"Next role: {regular.mention} at 1 h 40 min, 1 min to go."
    )


# --- names at their longest and oddest -----------------------------------------------------


async def test_a_page_of_25_viewers_with_the_longest_markdown_names_fits_in_one_embed(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    for index in range(25):
        platform = Platform.TWITCH if index == 0 else Platform.KICK
        stream.earn(guild_a.id, f"{index:02d}{LONGEST_ODD_NAME[2:]}", 60 * (index + 1), platform)

    [reply] = await say("!leaderboard 25", alice)

    embed = reply.embeds[0]
    assert fits_discords_embed_limits(embed)
    lines = leaderboard_lines(reply)
    assert len(lines) == 25
    assert lines[0].startswith("**#1** 24\\_\\*\\_\\*")
    assert lines[0].endswith("\N{HORIZONTAL ELLIPSIS} (Kick) - 25 min")


async def test_a_zalgo_name_keeps_two_marks_a_letter_on_the_leaderboard(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream
) -> None:
    """A tower of combining marks would be drawn over the lines above and below it."""
    stream.earn(guild_a.id, "z" + "\N{COMBINING ACUTE ACCENT}" * 40 + "ed", 600)

    [reply] = await say("!leaderboard", alice)

    assert leaderboard_lines(reply) == [
        "**#1** z\N{COMBINING ACUTE ACCENT}\N{COMBINING ACUTE ACCENT}ed - 10 min"
    ]


# --- chat bots -----------------------------------------------------------------------------


async def test_a_chat_bots_watchtime_from_before_it_was_known_is_left_off_the_board(
    guild_a: discord.Guild, alice: discord.Member, stream: Stream, sqlite_engine: Engine
) -> None:
    """Nightbot earned watchtime until bots were told apart (or came with an import): it
    topped `!leaderboard` for good. A chat bot's row is now left off the board and its count."""
    stream.earn(guild_a.id, "carol", 600)
    add_viewer(sqlite_engine, "9001", "Nightbot")
    set_watchtime(sqlite_engine, "9001", 900_000, guild_a.id)

    [board] = await say("!leaderboard", alice)
    [carol] = await say("!watchtime carol", alice)

    assert leaderboard_lines(board) == ["**#1** carol - 10 min"]
    assert carol.content.startswith("**carol** has watched 10 min, rank #1 of 1,")
