"""!call and !sr in stream chat: what is stored and posted, and each refusal's answer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.bus.base import NotReady
from core.events import Platform, Viewer
from core.features.linking.service import LinkingService
from core.features.slot_calls.chat import pick_announcement
from core.features.slot_calls.posts import SlotCallPosts
from core.features.viewers.repository import remember_viewers
from core.outbox import DISCORD
from core.outbox.worker import OutboxWorker
from core.ratelimits import MemoryWindows
from core.storage.tables import outbox
from tests.features.slot_calls.conftest import CALLS_CHANNEL, GUILD, MODERATOR, OTHER_GUILD
from tests.features.viewers.guild_support import chatted_in
from tests.support.events import chat_message


class DiscordAway(NotReady):
    """As the Discord gateway raises while the bot is not connected."""


@pytest.fixture
def calls_on(service):
    service.set_enabled(GUILD, True)
    return service


async def test_an_accepted_call_is_stored_posted_and_answered(calls_on, chat, sender, poster):
    event = await chat.say("!call Book of Dead", sender_id=42, username="slotfan")

    [(channel_id, call, position)] = poster.posts
    assert (channel_id, position) == (CALLS_CHANNEL, 1)
    assert (call.guild_id, call.slot_name, call.username, call.platform_user_id) == (
        GUILD,
        "Book of Dead",
        "slotfan",
        "42",
    )
    assert call.called_at == event.occurred_at
    [line] = sender.sent
    assert line.text == "Slot call added: Book of Dead (#1 in the queue)."
    assert line.reply_to_message_id == event.event_id
    [stored] = calls_on.open_calls(GUILD, 10)
    assert stored.posted_at is not None


async def test_sr_is_the_same_command_and_calls_queue_up_in_order(calls_on, chat, sender, poster):
    await chat.say("!call Book of Dead", sender_id=1)
    await chat.say("!SR Gates of Olympus", sender_id=2)
    await chat.say("!Call   Sweet   Bonanza  ", sender_id=3)

    assert [(call.slot_name, position) for _, call, position in poster.posts] == [
        ("Book of Dead", 1),
        ("Gates of Olympus", 2),
        ("Sweet Bonanza", 3),
    ]
    assert sender.texts[-1] == "Slot call added: Sweet Bonanza (#3 in the queue)."


async def test_the_same_chat_message_twice_makes_one_call_and_one_answer(
    calls_on, chat, sender, poster
):
    event = chat.message("!call Book of Dead")

    await chat.deliver(event)
    await chat.router.handle(GUILD, event)  # a redelivery the router remembers
    await chat.router.flush()
    chat.router.windows = MemoryWindows()  # a restarted process (no Redis) forgets
    await chat.deliver(event)

    assert len(poster.posts) == 1
    assert len(sender.sent) == 1
    assert calls_on.count_open(GUILD) == 1


async def test_calls_while_they_are_off_are_refused(service, chat, sender, poster):
    await chat.say("!call Book of Dead")
    service.set_enabled(GUILD, True)
    service.set_enabled(GUILD, False)
    await chat.say("!call Book of Dead", sender_id=2)

    assert sender.texts == ["Slot calls are off right now."] * 2
    assert poster.posts == []


async def test_sr_while_calls_are_off_is_not_answered(service, chat, sender, poster):
    """Song request bots (Nightbot, StreamElements) take !sr too: with slot calls off, a song
    request is none of ours, so it gets no "Slot calls are off"."""
    await chat.say("!sr Never Gonna Give You Up", sender_id=2)

    assert sender.texts == []
    assert poster.posts == []
    assert service.count_open(GUILD) == 0


async def test_sr_left_to_a_song_request_bot_makes_no_call_and_no_answer(
    calls_on, chat, sender, poster
):
    calls_on.set_answer_sr(GUILD, False)
    await chat.say("!sr Never Gonna Give You Up", sender_id=1)
    await chat.say("!call Book of Dead", sender_id=2)
    calls_on.set_answer_sr(OTHER_GUILD, False)  # another server's setting changes nothing here
    calls_on.set_answer_sr(GUILD, True)
    await chat.say("!sr Gates of Olympus", sender_id=3)

    assert [call.slot_name for _, call, _ in poster.posts] == ["Book of Dead", "Gates of Olympus"]
    assert sender.texts == [
        "Slot call added: Book of Dead (#1 in the queue).",
        "Slot call added: Gates of Olympus (#2 in the queue).",
    ]


@pytest.mark.parametrize("content", ["!call", "!call    ", "!sr \u200b\u200d", "!call !!!"])
async def test_a_call_without_a_slot_name_asks_for_one(calls_on, chat, sender, poster, content):
    await chat.say(content)

    assert sender.texts == ["Please name a slot: !call <slot>"]
    assert poster.posts == []


async def test_a_slot_name_over_200_characters_is_refused(calls_on, chat, sender, poster):
    await chat.say("!call " + "x" * 201)
    await chat.say("!call " + "y" * 200, sender_id=7)

    assert sender.texts[0] == "That slot name is too long (200 characters at most)."
    assert [len(call.slot_name) for _, call, _ in poster.posts] == [200]


async def test_a_viewer_waits_30_seconds_between_calls_by_default(
    calls_on, chat, sender, poster, clock
):
    await chat.say("!call Book of Dead")  # at t+1
    clock.advance(10)
    await chat.say("!call Gates of Olympus")  # at t+12: 19 s left
    await chat.say("!call Sugar Rush", sender_id=5)  # another viewer is not held
    clock.advance(16)
    await chat.say("!call Gates of Olympus")  # at t+30 -> 1 s left
    await chat.say("!call Gates of Olympus")  # at t+31

    assert sender.texts[1] == "Please wait 19 s before your next slot call."
    assert sender.texts[3] == "Please wait 1 s before your next slot call."
    assert [call.slot_name for _, call, _ in poster.posts] == [
        "Book of Dead",
        "Sugar Rush",
        "Gates of Olympus",
    ]


async def test_the_cooldown_can_be_changed_or_turned_off(calls_on, chat, sender, poster):
    calls_on.set_cooldown(GUILD, 0)

    await chat.say("!call Book of Dead")
    await chat.say("!call Gates of Olympus")

    assert len(poster.posts) == 2


async def test_open_calls_per_viewer_are_unlimited_until_a_limit_is_set(
    calls_on, chat, sender, poster
):
    calls_on.set_cooldown(GUILD, 0)
    for slot in ["A1", "A2", "A3"]:
        await chat.say(f"!call {slot}")
    calls_on.set_max_open(GUILD, 3)

    await chat.say("!call A4")
    await chat.say("!call B1", sender_id=8)

    assert sender.texts[3] == "You already have 3 open slot calls; wait until one is picked."
    assert [call.slot_name for _, call, _ in poster.posts] == ["A1", "A2", "A3", "B1"]


async def test_a_limit_counts_only_open_calls(calls_on, chat, sender, poster):
    calls_on.set_cooldown(GUILD, 0)
    calls_on.set_max_open(GUILD, 1)
    await chat.say("!call A1")
    await chat.say("!call A2")
    calls_on.pick(GUILD, MODERATOR)
    await chat.say("!call A3")

    assert sender.texts[1] == "You already have 1 open slot call; wait until one is picked."
    assert [call.slot_name for _, call, _ in poster.posts] == ["A1", "A3"]


@pytest.mark.parametrize(
    "again", ["book of dead", "BOOK OF DEAD", "Book  of   Dead", "bookofdead", "Book\u200bof Dead"]
)
async def test_a_slot_already_in_the_queue_is_refused_whatever_its_case_or_spaces(
    calls_on, chat, sender, poster, again
):
    await chat.say("!call Sugar Rush", sender_id=1)
    await chat.say("!call Book of Dead", sender_id=2)

    await chat.say(f"!call {again}", sender_id=3)

    assert sender.texts[-1] == "Already in the queue: Book of Dead (#2)."
    assert len(poster.posts) == 2


async def test_a_picked_slot_can_be_called_again(calls_on, chat, sender, poster):
    await chat.say("!call Book of Dead", sender_id=1)
    calls_on.pick(GUILD, MODERATOR)

    await chat.say("!call Book of Dead", sender_id=2)

    assert sender.texts[-1] == "Slot call added: Book of Dead (#1 in the queue)."


async def test_blacklisted_viewers_are_ignored_without_an_answer(calls_on, chat, sender, poster):
    calls_on.blacklist.add(GUILD, "@Troll", added_by=MODERATOR, reason="spam")

    await chat.say("!call Book of Dead", sender_id=66, username="troll")
    await chat.say("!call Book of Dead", sender_id=67, username="nice")

    assert len(sender.sent) == 1
    assert [call.username for _, call, _ in poster.posts] == ["nice"]


async def test_a_blacklisted_viewer_gets_no_answer_while_calls_are_off_either(
    service, chat, sender, poster
):
    service.blacklist.add(GUILD, "troll", added_by=MODERATOR)  # calls are off

    await chat.say("!call Book of Dead", sender_id=66, username="troll")
    await chat.say("!call Book of Dead", sender_id=67, username="nice")

    assert sender.texts == ["Slot calls are off right now."]  # nice's answer alone
    assert poster.posts == []


async def test_a_blacklisted_viewer_stays_out_after_renaming(calls_on, chat, viewer_seen):
    viewer_seen(66, "troll")
    calls_on.blacklist.add(GUILD, "troll", added_by=MODERATOR)

    await chat.say("!call Book of Dead", sender_id=66, username="troll_renamed")

    assert calls_on.count_open(GUILD) == 0


async def test_a_viewer_blacklisted_before_they_chatted_stays_out_after_renaming(
    calls_on, chat, sender, poster
):
    calls_on.blacklist.add(GUILD, "troll", added_by=MODERATOR)  # nobody called so has chatted

    await chat.say("!call Book of Dead", sender_id=66, username="troll")  # ignored: it is them
    await chat.say("!call Book of Dead", sender_id=66, username="troll_renamed")

    assert (calls_on.count_open(GUILD), sender.sent, poster.posts) == (0, [], [])


async def test_a_twitch_viewer_is_blacklisted_on_twitch_only(calls_on, chat, poster, engine, clock):
    with engine.begin() as conn:
        remember_viewers(conn, Platform.TWITCH, [Viewer("t66", "troll")], clock())
    chatted_in(engine, GUILD, Platform.TWITCH, "t66")
    calls_on.blacklist.add(GUILD, "troll", added_by=MODERATOR)  # seen on Twitch alone

    renamed = chat_message(
        "!call Book of Dead", platform=Platform.TWITCH, user_id="t66", username="troll_2",
        at=clock.now, badges=[],
    )  # fmt: skip
    await chat.deliver(renamed)
    await chat.say("!call Sugar Rush", sender_id=66, username="troll")  # Kick's troll: not them

    assert [call.username for _, call, _ in poster.posts] == ["troll"]
    assert [call.platform for _, call, _ in poster.posts] == [Platform.KICK]


async def test_link_first_refuses_viewers_without_a_linked_account(
    calls_on, chat, sender, poster, engine, clock, guilds
):
    guilds.ensure_guild(GUILD, "Slot Fans")
    calls_on.set_require_link(GUILD, True)
    LinkingService(engine, clock).link(
        guild_id=GUILD,
        discord_user_id=31337,
        platform=Platform.KICK,
        platform_user_id="42",
        username="linked_fan",
    )

    await chat.say("!call Book of Dead", sender_id=41, username="stranger")
    await chat.say("!call Book of Dead", sender_id=42, username="linked_fan")

    assert sender.texts[0] == (
        "Please link your Kick account first: !link kick in Slot Fans's Discord."
    )
    [(_, call, _)] = poster.posts
    assert (call.username, call.discord_user_id) == ("linked_fan", 31337)


async def test_a_linked_viewer_is_posted_with_their_member_even_when_links_are_optional(
    calls_on, chat, poster, engine, clock
):
    LinkingService(engine, clock).link(
        guild_id=OTHER_GUILD,  # links are the Discord user's, wherever they linked
        discord_user_id=31337,
        platform=Platform.KICK,
        platform_user_id="42",
        username="linked_fan",
    )

    await chat.say("!call Book of Dead", sender_id=42, username="linked_fan")

    assert poster.posts[0][1].discord_user_id == 31337


async def test_a_reply_never_echoes_what_could_trigger_another_bot(calls_on, chat, sender, poster):
    await chat.say("!call !ban streamer", sender_id=1)
    await chat.say("!call /timeout someone 600", sender_id=2)
    await chat.say("!call \uff01points all", sender_id=3)  # a full-width exclamation mark

    assert sender.texts == [
        "Slot call added: ban streamer (#1 in the queue).",
        "Slot call added: timeout someone 600 (#2 in the queue).",
        "Slot call added: points all (#3 in the queue).",
    ]
    for text in sender.texts:
        assert not text.startswith(("!", "/"))


async def test_a_reply_never_makes_the_bot_mention_someone_a_viewer_named(calls_on, chat, sender):
    await chat.say("!call Book of Dead @victim", sender_id=1)
    await chat.say("!call book of dead @VICTIM", sender_id=2)  # in the queue: named again

    assert sender.texts == [
        "Slot call added: Book of Dead victim (#1 in the queue).",
        "Already in the queue: Book of Dead victim (#1).",
    ]


async def test_without_a_channel_the_call_is_kept_and_answered_but_not_posted(
    engine, clock, poster, sender, guilds, caplog
):
    from core.features.chat_commands.router import ChatCommandRouter
    from core.features.slot_calls.chat import SlotCallChat
    from core.features.slot_calls.service import SlotCallService
    from tests.features.chat_commands.doubles import replier_for
    from tests.features.slot_calls.conftest import Chat

    service = SlotCallService(engine, clock, default_channel_id=None)
    service.set_enabled(GUILD, True)
    slot_chat = SlotCallChat(service, replier_for(sender), guilds.name_of)
    worker = OutboxWorker(engine, DISCORD, SlotCallPosts(service, poster).kinds(), clock)
    chat = Chat(ChatCommandRouter(slot_chat.commands(), replier_for(sender)), clock, worker)
    caplog.set_level(logging.INFO)

    await chat.say("!call Book of Dead")

    assert poster.posts == []
    assert discord_calls(engine) == []  # nothing to post, nothing queued
    assert sender.texts == ["Slot call added: Book of Dead (#1 in the queue)."]
    assert "no slot call channel is set" in caplog.text


async def test_a_failed_post_keeps_the_call_and_still_answers(calls_on, chat, sender, poster):
    poster.fail = RuntimeError("the Discord bot is not connected yet")

    await chat.say("!call Book of Dead")

    assert sender.texts == ["Slot call added: Book of Dead (#1 in the queue)."]
    [call] = calls_on.open_calls(GUILD, 10)
    assert call.posted_at is None


async def test_two_guilds_on_one_channel_keep_their_own_queues_and_channels(
    service, chat, sender, poster
):
    service.set_enabled(GUILD, True)
    service.set_enabled(OTHER_GUILD, True)
    service.set_channel(OTHER_GUILD, 7002)
    event = chat.message("!call Book of Dead")

    await chat.deliver(event, GUILD)
    await chat.deliver(event, OTHER_GUILD)

    assert sorted((channel, call.guild_id) for channel, call, _ in poster.posts) == [
        (CALLS_CHANNEL, GUILD),
        (7002, OTHER_GUILD),
    ]
    assert [len(service.open_calls(g, 10)) for g in (GUILD, OTHER_GUILD)] == [1, 1]


def test_a_pick_is_announced_with_the_callers_name() -> None:
    from core.features.slot_calls.repository import SlotCall
    from core.features.slot_calls.service import Pick

    call = SlotCall(
        1, GUILD, Platform.KICK, "1", "42", "slotfan", None, "/Book of Dead", "picked",
        datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert pick_announcement(Pick(call, 3, None)) == (
        "Picked slot: Book of Dead, called by @slotfan!"
    )


async def test_a_call_discord_missed_is_posted_by_the_workers_retry_once(
    calls_on, chat, discord_worker, poster, clock, engine
):
    poster.fail = DiscordAway("the Discord bot is not connected yet")
    await chat.say("!call Book of Dead", sender_id=1)
    await chat.say("!call Sugar Rush", sender_id=2)

    # The first was tried once and waits, with Discord's words; the second waits behind it,
    # untried (the guild's posts go out in order): the chat answered at once.
    assert [(state, result) for _, state, result in discord_calls(engine)] == [
        ("pending", "the Discord bot is not connected yet"),
        ("pending", None),
    ]
    assert await discord_worker.run_once() == 0  # not due yet: the worker backs off
    clock.advance(60)
    assert await discord_worker.run_once() == 2  # Discord still away
    poster.fail = None
    clock.advance(600)
    assert await discord_worker.run_once() == 2
    clock.advance(600)
    assert await discord_worker.run_once() == 0

    assert [(call.slot_name, position) for _, call, position in poster.posts] == [
        ("Book of Dead", 1),
        ("Sugar Rush", 2),
    ]
    assert all(call.posted_at is not None for call in calls_on.open_calls(GUILD, 10))
    assert [state for _, state, _ in discord_calls(engine)] == ["done", "done"]


async def test_a_call_picked_before_discord_came_back_is_not_posted(
    calls_on, chat, discord_worker, poster, clock, engine
):
    poster.fail = DiscordAway("the Discord bot is not connected yet")
    await chat.say("!call Book of Dead")
    calls_on.pick(GUILD, MODERATOR)
    poster.fail = None

    clock.advance(600)
    assert await discord_worker.run_once() == 1

    assert poster.posts == []
    [(_, state, result)] = discord_calls(engine)
    assert (state, result) == ("done", "not posted: posted before, or picked or cleared meanwhile")


async def test_a_call_posted_late_shows_its_place_in_the_queue_when_posted(
    calls_on, chat, discord_worker, poster, clock
):
    poster.fail = DiscordAway("the Discord bot is not connected yet")
    await chat.say("!call Book of Dead", sender_id=1)
    await chat.say("!call Sugar Rush", sender_id=2)
    await chat.say("!call Gates of Olympus", sender_id=3)
    [first, *_] = calls_on.open_calls(GUILD, 10)
    calls_on.skip(GUILD, first.id, MODERATOR)  # the queue moves on while Discord is away
    poster.fail = None

    clock.advance(600)
    await discord_worker.run_once()

    assert [(call.slot_name, position) for _, call, position in poster.posts] == [
        ("Sugar Rush", 1),
        ("Gates of Olympus", 2),
    ]


async def test_a_post_discord_refuses_ends_refused_with_why(calls_on, chat, poster, engine):
    why = "not posted: the slot call thread is locked. Open it again, or set one with ..."
    poster.refuse = why  # the channel is gone, or closed to the bot

    await chat.say("!call Book of Dead")

    [(_, state, result)] = discord_calls(engine)
    assert state == "refused"
    assert result == why  # the poster's own words, not a generic "see the log"
    [call] = calls_on.open_calls(GUILD, 10)
    assert call.posted_at is None  # still in the queue, listed by !slotlist


async def test_the_post_is_queued_with_the_call_in_one_transaction(
    calls_on, chat, poster, engine, monkeypatch
):
    # A process killed between storing the call and queueing its post would lose the post:
    # they are one transaction, so a failure queueing it stores no call either.
    from core.features.slot_calls import service as service_module

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service_module, "queue_post", broken)
    with pytest.raises(RuntimeError):
        calls_on.request(GUILD, chat.message("!call Book of Dead"), "Book of Dead")

    assert calls_on.open_calls(GUILD, 10) == []
    assert discord_calls(engine) == []


def discord_calls(engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.effect_key, outbox.c.state, outbox.c.result)
            .where(outbox.c.service == DISCORD)
            .order_by(outbox.c.id)
        )
        return [tuple(row) for row in rows]


async def test_a_viewer_flooding_calls_gets_one_refusal_not_one_per_message(
    calls_on, chat, sender, poster, clock
):
    await chat.say("!call Book of Dead", sender_id=7)  # accepted at t+1
    for _ in range(20):  # a second apart: each meets the cooldown
        await chat.say("!call Gates of Olympus", sender_id=7)
    await chat.say("!call", sender_id=8)  # another viewer's refusal is still answered
    clock.advance(10)
    await chat.say("!call Gates of Olympus", sender_id=7)  # at t+33: through the cooldown

    assert sender.texts == [
        "Slot call added: Book of Dead (#1 in the queue).",
        "Please wait 29 s before your next slot call.",
        "Please wait 19 s before your next slot call.",
        "Please name a slot: !call <slot>",
        "Slot call added: Gates of Olympus (#2 in the queue).",
    ]
    assert [call.slot_name for _, call, _ in poster.posts] == ["Book of Dead", "Gates of Olympus"]


async def test_a_refusal_run_again_after_a_kill_is_still_answered(calls_on, chat, slot_chat):
    """A process killed after running a refused !call, before its answer was queued: the
    process that runs it again answers it (the chat outbox says one answer per message)."""
    from core.features.chat_commands.router import ChatInvocation, Permission

    await chat.say("!call Book of Dead", sender_id=7)
    event = chat.message("!call Gates of Olympus", sender_id=7)
    invocation = ChatInvocation(GUILD, event, "call", "Gates of Olympus", Permission.EVERYONE)

    first = await slot_chat.call(invocation)
    again = await slot_chat.call(invocation)  # the same message, run again

    assert first == again == "Please wait 29 s before your next slot call."
