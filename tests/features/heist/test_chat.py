"""!heist and !join in stream chat through the real router: each answer, the result in chat
and on Discord. (SQLite: the backends are the service tests' subject.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.events import Platform
from core.features.heist.chat import CHAT_LIMIT, ChatResultLine, HeistChat, result_message
from core.features.heist.ports import CrewMember, HeistResult
from core.outbox import store
from tests.features.chat_commands.doubles import T0
from tests.features.heist.conftest import GUILD, KICK_BROADCASTER, give
from tests.features.heist.test_history import add_heist

WIN, LOSE = 0.0, 0.999


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine


async def test_join_opens_a_heist_and_says_how_long_the_crew_gathers(chat, points):
    give(points, "1", 1000)
    give(points, "2", 1000)
    assert await chat.say("!join 200 low", "1") == (
        "A heist is being planned! You are in with 200 points (low risk). The crew gathers "
        "for 120 s, join with: !join <amount> [low|medium|high]"
    )
    chat.clock.advance(20)
    assert await chat.say("!heist 300 high", "2") == (
        "You are in with 300 points (high risk): 2 in the crew, 100 s left to join."
    )
    assert await chat.say("!heist", "3") == (
        "A heist is being planned: 2 in the crew, 100 s left; join with: "
        "!join <amount> [low|medium|high]"
    )


async def test_heist_status_after_the_window_closed_says_the_crew_is_on_the_job(chat, points):
    """The window closed, the results not in yet: ``!heist`` said "0 s left; join with: ..."
    and the join it invited was refused."""
    give(points, "1", 1000)
    await chat.say("!join 200 low", "1")
    chat.clock.advance(120)
    assert await chat.say("!heist", "3") == (
        "The crew is already on the job (1 in the crew); the results come in a moment."
    )
    assert await chat.say("!join 100", "4") == (
        "The crew is already on the job; the results come in a moment."
    )


@pytest.mark.parametrize("mark", [" \U000e0000", "\u200b", "\ufe0f"])
async def test_a_join_repeated_from_chatterino_or_7tv_is_a_join_not_the_usage(chat, points, mark):
    """Chatterino and 7TV append an invisible " U+E0000" to a message the viewer sends again
    (chat drops an identical one); other invisible marks come with copied text."""
    give(points, "1", 1000)
    answer = await chat.say("!join 200 low" + mark, "1")
    assert answer.startswith("A heist is being planned! You are in with 200 points (low risk)")


@pytest.mark.parametrize(
    ("setup", "line", "answer"),
    [
        (0, "!join", "Usage: !join <amount|all|half> [low|medium|high]"),
        (0, "!join 100 100", "Usage: !join <amount|all|half> [low|medium|high]"),
        (0, "!join low high", "Usage: !join <amount|all|half> [low|medium|high]"),
        (0, "!heist lots", "Usage: !join <amount|all|half> [low|medium|high]"),
        (0, "!join 100", "You have only 0 points; a stake of 100 needs more."),
        (0, "!join all", "You have no points to stake yet."),
        (1000, "!join 1", "The smallest stake is 10 points."),
        (10**6, "!join 20000", "The largest stake is 10,000 points."),
        (1000, "!heist cancel", "Only moderators can cancel a heist."),
    ],
)
async def test_each_refusal_has_its_answer_and_takes_nothing(
    chat, points, engine, setup, line, answer
):
    if setup:
        give(points, "1", setup)
    assert await chat.say(line, "1") == answer
    assert points.balance(GUILD, Platform.KICK, "1") == setup


async def test_refusals_that_depend_on_the_heist(chat, heist_chat, points, draws):
    for user in ("1", "2", "3"):
        give(points, user, 1000)
    assert await chat.say("!heist cancel", "9", badges=("moderator",)) == "No heist is under way."
    await chat.say("!join 100", "1")
    assert await chat.say("!join 200", "1") == "You are already in this heist's crew."
    chat.clock.advance(120)
    assert await chat.say("!join 100", "2") == (
        "The crew is already on the job; the results come in a moment."
    )
    draws.push(LOSE)
    await heist_chat.resolve_due()
    chat.clock.advance(60)
    assert await chat.say("!join 100", "3") == (
        "The crew is lying low: the next heist can start in 4 min."
    )
    assert [points.balance(GUILD, Platform.KICK, u) for u in ("1", "2", "3")] == [900, 1000, 1000]


@pytest.mark.parametrize("again", ["!join all", "!join half high", "!join 1", "!join 20000"])
async def test_a_viewer_in_the_crew_hears_so_whatever_stake_they_type_again(chat, points, again):
    """A second !join all after the first staked everything was answered "You have no points to
    stake yet.", as if the points had vanished: the stake was checked before the crew."""
    give(points, "1", 1000)
    assert (await chat.say("!join all", "1") or "").startswith("A heist is being planned!")
    assert await chat.say(again, "1") == "You are already in this heist's crew."
    assert points.balance(GUILD, Platform.KICK, "1") == 0


async def test_a_moderator_cancels_and_every_stake_goes_back(chat, points):
    give(points, "1", 1000)
    give(points, "2", 1000)
    await chat.say("!join 100", "1")
    await chat.say("!join 300", "2")
    assert await chat.say("!heist cancel", "9", badges=("moderator",)) == (
        "The heist is called off. Every stake went back: 400 points to 2 viewers."
    )
    assert points.balance(GUILD, Platform.KICK, "1") == 1000
    assert points.balance(GUILD, Platform.KICK, "2") == 1000


async def test_a_twitch_lead_moderator_cancels_too(chat, points):
    """Twitch's lead moderators wear the lead_moderator badge alone, not moderator's."""
    chat.platform = Platform.TWITCH
    give(points, "1", 1000, platform=Platform.TWITCH)
    await chat.say("!join 100", "1")
    assert await chat.say("!heist cancel", "9", badges=("lead_moderator",)) == (
        "The heist is called off. Every stake went back: 100 points to 1 viewer."
    )
    assert points.balance(GUILD, Platform.TWITCH, "1") == 1000


@pytest.mark.parametrize("word", ["cancel", "stats", "settings"])
async def test_a_word_after_a_heist_subcommand_is_answered_with_that_subcommand(chat, points, word):
    """ "!heist cancel now" was answered with !join's usage, as if the moderator had tried to
    join: the reply now names the command they typed, and nothing changes."""
    give(points, "1", 1000)
    await chat.say("!join 100", "1")
    answer = await chat.say(f"!heist {word} now", "9", badges=("moderator",))
    assert answer == f"Type !heist {word} with nothing after it."
    assert points.balance(GUILD, Platform.KICK, "1") == 900
    assert (await chat.say("!heist", "2") or "").startswith("A heist is being planned: 1 in")


async def test_the_result_is_said_in_chat_and_posted_on_discord(
    chat, heist_chat, points, draws, sender, announcer, service, say_queued
):
    service.set_setting(GUILD, "channel", "777")
    service.set_setting(GUILD, "cooldown", "0")
    points.set_name(GUILD, "Pixels")
    for user in ("1", "2", "3"):
        give(points, user, 1000)
    await chat.say("!join 200 low", "1", username="alice")
    await chat.say("!join 100 high", "2", username="bob")
    await chat.say("!join 100 medium", "3", username="carol")
    chat.clock.advance(120)
    draws.push(WIN, WIN, LOSE)
    before = len(sender.sent)
    [result] = await heist_chat.resolve_due()
    assert await heist_chat.post_pending() == 1
    await say_queued()

    [line] = sender.sent[before:]
    assert line.broadcaster_user_id == KICK_BROADCASTER
    assert line.reply_to_message_id is None
    assert line.text == (
        "The vault is open! 2 of 3 got away: @bob (+350), @alice (+300). 1 caught. "
        "Total loot: 650 Pixels."
    )
    [(channel_id, posted)] = announcer.posts
    assert (channel_id, posted.heist_id) == (777, result.heist_id)
    assert [points.balance(GUILD, Platform.KICK, u) for u in ("1", "2", "3")] == [1100, 1250, 900]
    # Said and posted once: the next run has nothing to say or post.
    await heist_chat.resolve_due()
    assert await heist_chat.post_pending() == 0
    await say_queued()
    assert len(announcer.posts) == 1
    assert len(sender.sent) == before + 1
    assert await chat.say("!heist stats", "4") == (
        "1 heists, 3 joins, 400 Pixels staked, 650 paid out; the biggest haul was 350."
    )


async def test_a_result_is_said_even_when_the_process_that_resolved_it_died_next(
    chat, points, draws, sender, service, say_queued, clock
):
    """The line is queued with the resolution itself: a process killed the moment the heist
    resolved (it never got back to the chat side) leaves the line to whichever chat worker
    runs next, said once."""
    give(points, "1", 1000)
    await chat.say("!join 200 low", "1", username="alice")
    clock.advance(120)
    draws.push(WIN)
    before = len(sender.sent)

    [result] = service.resolve_due()  # the service alone, as in a process killed right after

    assert sender.sent[before:] == []
    await say_queued()
    await say_queued()
    assert [line.text for line in sender.sent[before:]] == [
        "The vault is open! 1 of 1 got away: @alice (+300). Total loot: 300 points."
    ]
    assert service.resolve(result.heist_id) is None


async def test_a_heist_whose_line_cannot_be_queued_stays_open_with_every_stake(
    chat, points, draws, service, clock
):
    def broken(conn, result) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    give(points, "1", 1000)
    await chat.say("!join 200 low", "1")
    clock.advance(120)
    draws.push(WIN)
    service.result_line = broken

    with pytest.raises(RuntimeError, match="went away"):
        service.resolve_due()

    assert service.status(GUILD, Platform.KICK) is not None  # still open: nothing was paid
    assert points.balance(GUILD, Platform.KICK, "1") == 800
    service.result_line = None
    draws.push(WIN)
    [result] = service.resolve_due()
    assert points.balance(GUILD, Platform.KICK, "1") == 1100
    assert result.total_payout == 300


async def test_no_line_is_queued_for_a_chat_the_bot_cannot_talk_in(
    chat, points, draws, sender, service, say_queued, clock, engine
):
    give(points, "1", 1000)
    await chat.say("!join 200 low", "1")
    clock.advance(120)
    draws.push(LOSE)
    service.result_line = ChatResultLine(lambda platform: platform != Platform.KICK)
    before = len(sender.sent)

    [result] = service.resolve_due()

    assert result.total_payout == 0
    with engine.connect() as conn:
        assert [call.kind for call in store.of_guild(conn, GUILD)] == []
    await say_queued()
    assert sender.sent[before:] == []


async def resolve_one(chat, heist_chat, points, draws, service) -> None:  # type: ignore[no-untyped-def]
    """A heist of one, resolved (lost), its result to be posted in channel 777."""
    service.set_setting(GUILD, "channel", "777")
    give(points, "1", 1000)
    await chat.say("!join 100", "1")
    chat.clock.advance(120)
    draws.push(LOSE)
    await heist_chat.resolve_due()


async def test_a_result_discord_missed_is_posted_when_it_is_back(
    chat, heist_chat, points, draws, announcer, service
):
    announcer.fail = RuntimeError("Discord is not connected")
    await resolve_one(chat, heist_chat, points, draws, service)
    assert await heist_chat.post_pending() == 0
    assert announcer.posts == []
    announcer.fail = None
    assert await heist_chat.post_pending() == 1
    assert await heist_chat.post_pending() == 0
    assert len(announcer.posts) == 1


async def test_one_guild_discord_refuses_holds_back_only_that_guilds_results(
    chat, heist_chat, points, draws, announcer, service, engine, clock
):
    other = GUILD + 1
    await resolve_one(chat, heist_chat, points, draws, service)  # GUILD's, posted first
    service.set_setting(other, "channel", "778")
    with engine.begin() as conn:
        add_heist(conn, other, "resolved", clock.now, [(100, True, 150)])
    broken = announcer.announce_result

    async def refuse_one_guild(channel_id: int, result: HeistResult) -> str | None:
        if result.guild_id == GUILD:
            raise RuntimeError("503 Service Unavailable")
        return await broken(channel_id, result)

    announcer.announce_result = refuse_one_guild

    assert await heist_chat.post_pending() == 1
    assert [result.guild_id for _channel, result in announcer.posts] == [other]
    announcer.announce_result = broken
    assert await heist_chat.post_pending() == 1  # GUILD's, once Discord takes it
    assert await heist_chat.post_pending() == 0


async def test_a_twitch_subscriber_without_a_known_tier_is_looked_up(chat, points, tiers):
    give(points, "55", 1000, Platform.TWITCH)
    answer = await chat.say(
        "!join 200 low", "55", platform=Platform.TWITCH, badges=("subscriber",), badge_version="3"
    )
    assert answer is not None
    assert answer.startswith("A heist is being planned!")
    assert tiers.lookups == [(GUILD, Platform.TWITCH, ["55"])]


def _crew(winners: int, losers: int) -> tuple[CrewMember, ...]:
    won = [
        CrewMember(f"robber_with_a_long_name_{n:04d}", str(n), 100, "high", None, True, 1000 - n)
        for n in range(winners)
    ]
    lost = [CrewMember(f"caught{n}", f"l{n}", 100, "low", None, False, 0) for n in range(losers)]
    return tuple(won + lost)


@pytest.mark.parametrize(("winners", "losers"), [(1, 0), (5, 5), (40, 10), (500, 500), (0, 30)])
def test_a_result_fits_one_chat_message_and_names_the_top_winners(winners, losers):
    result = HeistResult(1, GUILD, Platform.KICK, KICK_BROADCASTER, T0 + timedelta(minutes=2),
                         "points", _crew(winners, losers))  # fmt: skip
    text = result_message(result)
    assert len(text) <= CHAT_LIMIT
    if winners:
        assert f"{winners} of {winners + losers} got away" in text
        assert "@robber_with_a_long_name_\N{HORIZONTAL ELLIPSIS} (+1,000)" in text  # the top one
        if winners > 10:
            assert "more." in text
    else:
        assert "caught the whole crew" in text


async def test_a_result_is_posted_by_the_process_whose_discord_shard_has_the_guild(
    chat, heist_chat, points, draws, announcer, service
):
    # With several bot processes each Discord client sees only its shard's guilds: the others
    # leave the guild's result unposted (and unmarked) for the process that sees it.
    await resolve_one(chat, heist_chat, points, draws, service)
    elsewhere = HeistChat(service, heist_chat.replies, announcer, lambda guild_id: False)

    assert await elsewhere.post_pending() == 0
    assert announcer.posts == []
    assert await heist_chat.post_pending() == 1
    assert len(announcer.posts) == 1


@pytest.mark.parametrize(
    ("tier", "is_prime", "shown"),
    [
        ("3", False, "Tier 3 - 1.5x rewards"),
        ("1", False, "Tier 1 - 1.2x rewards"),
        ("1", True, "Prime - 1.15x rewards"),
    ],
)
async def test_a_subscriber_hears_their_tier_and_bonus_when_they_join(
    chat, points, tiers, tier, is_prime, shown
):
    give(points, "1", 1000, Platform.TWITCH)
    give(points, "2", 1000, Platform.TWITCH)
    tiers.set("1", "2")
    assert await chat.say("!join 200 low", "1", platform=Platform.TWITCH) == (
        "A heist is being planned! You are in with 200 points (low risk), Tier 2 - 1.3x "
        "rewards. The crew gathers for 120 s, join with: !join <amount> [low|medium|high]"
    )
    tiers.set("2", tier, is_prime=is_prime)
    assert await chat.say("!join 100", "2", platform=Platform.TWITCH) == (
        f"You are in with 100 points (medium risk), {shown}: 2 in the crew, 120 s left to join."
    )


async def test_the_join_reply_says_the_bonus_the_settings_give_now(chat, points, tiers, service):
    give(points, "1", 1000, Platform.TWITCH)
    tiers.set("1", "3")
    service.set_setting(GUILD, "tier_3_on", "off")
    reply = await chat.say("!join 200 low", "1", platform=Platform.TWITCH)
    assert reply is not None
    assert "(low risk), Tier 3 - 1x rewards." in reply


async def test_no_tier_known_means_no_tier_in_the_reply(chat, points):
    give(points, "1", 1000)
    reply = await chat.say("!join 200 low", "1")
    assert reply is not None
    assert "Tier" not in reply
    assert "Prime" not in reply


async def test_a_heist_that_fails_to_resolve_holds_up_no_other_guilds_heist(
    points, draws, service, clock
):
    other = GUILD + 1
    for guild in (GUILD, other):
        points.give(guild, Platform.KICK, "1", 1000, actor="test")
        service.join(guild, Platform.KICK, KICK_BROADCASTER, "1", "viewer", "200 low")
    clock.advance(120)
    queue_line = service.result_line

    def broken_in_one_guild(conn, result) -> None:  # type: ignore[no-untyped-def]
        if result.guild_id == GUILD:
            raise RuntimeError("the database went away")
        queue_line(conn, result)

    service.result_line = broken_in_one_guild
    draws.push(WIN, WIN)

    [result] = service.resolve_due()

    assert result.guild_id == other
    assert points.balance(other, Platform.KICK, "1") == 1100
    assert service.status(GUILD, Platform.KICK) is not None  # still open, tried again next time
    assert points.balance(GUILD, Platform.KICK, "1") == 800


async def test_heist_status_while_the_crew_lies_low_says_when_the_next_can_start(
    chat, heist_chat, points, draws
):
    """After a heist, ``!heist`` said "No heist is under way; start one, join with: ..." and
    the join it invited was refused for the cooldown."""
    give(points, "1", 1000)
    await chat.say("!join 100", "1")
    chat.clock.advance(120)
    draws.push(LOSE)
    await heist_chat.resolve_due()
    chat.clock.advance(60)
    assert await chat.say("!heist", "2") == (
        "The crew is lying low: the next heist can start in 4 min."
    )
    chat.clock.advance(240)
    assert await chat.say("!heist", "2") == (
        "No heist is under way; start one, join with: !join <amount> [low|medium|high]"
    )


async def test_half_below_the_smallest_stake_says_what_half_is(chat, points):
    """``!join half`` with 15 points was answered "You have only 15 points; the smallest stake
    is 10.": 15 is more than 10, so the viewer could not tell why they were refused."""
    give(points, "1", 15)
    assert await chat.say("!join half", "1") == (
        "Half of your 15 points is 7; the smallest stake is 10."
    )
    assert await chat.say("!join all", "1") == (
        "A heist is being planned! You are in with 15 points (medium risk). The crew gathers "
        "for 120 s, join with: !join <amount> [low|medium|high]"
    )
