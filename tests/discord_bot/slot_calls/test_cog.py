"""Slot calls on dpytest's Discord: calls from chat become embeds; moderators run the queue."""

from __future__ import annotations

import re

import discord
import discord.ext.test as dpytest
import pytest

from core.events import Platform
from core.features.linking.service import LinkingService
from core.outbox import store
from tests.discord_bot.fake_discord import say
from tests.discord_bot.slot_calls.conftest import sent_messages
from tests.outbox.test_database_failures import FailingWrites


@pytest.fixture(autouse=True)
def connected(bot, gateway) -> None:
    """The bot as the runtime has it once logged in: attached to the gateway, and ready."""
    bot._ready.set()
    gateway.attach(bot)


def fields(embed: discord.Embed) -> dict[str, str]:
    return {field.name: field.value for field in embed.fields}


# --- settings ------------------------------------------------------------------------------


async def test_a_manager_turns_slot_calls_on_and_off(manager, slot_service, guild_a, guilds):
    [on] = await say("!slotcalls on", manager)
    assert on.content.startswith("Slot calls are now **on**")
    assert "set a channel with !slotcalls channel #channel" in on.content
    assert slot_service.status(guild_a.id).settings.enabled is True
    assert guilds.name_of(guild_a.id) == guild_a.name

    [off] = await say("!SlotCalls OFF", manager)
    assert off.content == (
        "Slot calls are now **off**: !call in chat is refused, and !sr left to other bots."
    )
    assert slot_service.status(guild_a.id).settings.enabled is False


@pytest.mark.parametrize(
    "command",
    [
        "!slotcalls on",
        "!slotcalls channel #general",
        "!slotlist",
        "!pickslot",
        "!clearslots",
        "!callblacklist add troll",
    ],
)
async def test_members_without_manage_server_are_refused(alice, slot_service, guild_a, command):
    [reply] = await say(command, alice)

    assert reply.content.startswith("You need the Manage Server permission to use !")
    assert slot_service.status(guild_a.id).settings.enabled is False
    assert slot_service.blacklist.entries(guild_a.id) == []


async def test_the_channel_is_chosen_and_shown_in_the_status(
    manager, slot_service, guild_a, calls_channel
):
    [reply] = await say(f"!slotcalls channel {calls_channel.mention}", manager)
    assert reply.content == f"Slot calls will be posted in {calls_channel.mention}."
    [status] = await say("!slotcalls status", manager)

    assert f"Channel: {calls_channel.mention}" in status.content
    assert "Slot calls are **off**" in status.content
    assert slot_service.status(guild_a.id).channel_id == calls_channel.id


@pytest.mark.parametrize("where", ["another server's", "deleted"])
async def test_a_channel_that_is_not_in_this_server_is_not_shown_as_where_calls_go(
    where, manager, slot_service, guild_a, guild_b
):
    if where == "deleted":
        gone = dpytest.backend.make_text_channel("old-calls", guild_a)
        slot_service.set_channel(guild_a.id, gone.id)
        dpytest.backend.delete_channel(gone)
    else:  # SLOT_CALLS_CHANNEL_ID names one channel of one server
        slot_service.default_channel_id = guild_b.text_channels[0].id

    [on] = await say("!slotcalls on", manager)
    [status] = await say("!slotcalls status", manager)

    assert on.content == (
        "Slot calls are now **on**: viewers use !call <slot> or !sr <slot> in chat; set a "
        "channel with !slotcalls channel #channel to see them."
    )
    assert "Channel: none in this server" in status.content
    assert "Set a channel with !slotcalls channel #channel to see the calls." in status.content


async def test_sr_can_be_left_to_a_song_request_bot(manager, slot_service, guild_a, guild_b):
    [on] = await say("!slotcalls on", manager)
    [off] = await say("!slotcalls sr off", manager)
    [status] = await say("!slotcalls status", manager)
    [bad] = await say("!slotcalls sr maybe", manager)

    assert "!call <slot> or !sr <slot>" in on.content
    assert off.content == (
        "!sr is now left to your song request bot: only !call <slot> is a slot call."
    )
    assert "viewers use !call <slot> in chat." in status.content
    assert "!sr: left to your song request bot" in status.content
    assert bad.content.startswith("That doesn't look right.")
    assert slot_service.status(guild_a.id).settings.answer_sr is False
    assert slot_service.status(guild_b.id).settings.answer_sr is True  # its own setting
    [again] = await say("!slotcalls sr on", manager)
    assert again.content == "!sr <slot> in chat is a slot call again, as !call <slot> is."
    assert slot_service.status(guild_a.id).settings.answer_sr is True


async def test_another_servers_channel_is_refused_as_not_found_here(
    manager, slot_service, guild_a, guild_b
):
    [reply] = await say(f"!slotcalls channel {guild_b.text_channels[0].id}", manager)

    assert reply.content == (
        "I can't find that channel in this server. Usage: !slotcalls channel <channel>"
    )
    assert slot_service.status(guild_a.id).channel_id is None


async def test_help_of_slotcalls_channel_says_it_posts_in_the_channel_named(manager):
    [reply] = await say("!help slotcalls channel", manager)

    assert "Post slot calls in the channel you name (Manage Server)." in reply.content


async def test_a_cooldown_typed_with_a_unit_is_refused_not_read_as_seconds(
    manager, slot_service, guild_a
):
    [reply] = await say("!slotcalls cooldown 5 minutes", manager)

    assert reply.content == "That doesn't look right. Usage: !slotcalls cooldown <seconds>"
    assert slot_service.status(guild_a.id).settings.cooldown_seconds != 5


@pytest.mark.parametrize("typed", ["\u0663", "\uff11\uff12", "+5", "1_0"])
async def test_a_cooldown_is_read_in_ascii_digits_as_every_other_number(
    manager, slot_service, guild_a, typed
):
    """int() read an Arabic-Indic 3, a full-width 12, "+5" and "1_0" (as 10): every other
    command refuses them like a word."""
    before = slot_service.status(guild_a.id).settings

    [reply] = await say(f"!slotcalls cooldown {typed}", manager)

    assert reply.content == "That doesn't look right. Usage: !slotcalls cooldown <seconds>"
    assert slot_service.status(guild_a.id).settings == before


@pytest.mark.parametrize("typed", ["9" * 30, "-" + "9" * 30])
async def test_a_cooldown_too_long_to_read_names_the_range(manager, typed):
    [reply] = await say(f"!slotcalls cooldown {typed}", manager)
    assert reply.content == "The cooldown is 0 to 3600 seconds."


async def test_cooldown_and_limit_settings_and_their_refusals(manager, slot_service, guild_a):
    [too_long] = await say("!slotcalls cooldown 99999", manager)
    [cooldown] = await say("!slotcalls cooldown 10", manager)
    [limit] = await say("!slotcalls limit 2", manager)
    [bad_limit] = await say("!slotcalls limit lots", manager)
    [no_limit] = await say("!slotcalls limit off", manager)
    [link] = await say("!slotcalls requirelink on", manager)

    assert too_long.content == "The cooldown is 0 to 3600 seconds."
    assert cooldown.content == "Viewers now wait 10 s between slot calls."
    assert limit.content == "Viewers can now have at most 2 open slot call(s) each."
    assert bad_limit.content.startswith("That doesn't look right. Usage: !slotcalls limit")
    assert no_limit.content == "Viewers can now have any number of open slot calls."
    assert link.content == "Viewers now need a linked account to call slots."
    settings = slot_service.status(guild_a.id).settings
    assert (settings.cooldown_seconds, settings.max_open_per_user, settings.require_link) == (
        10,
        None,
        True,
    )


@pytest.mark.parametrize(
    "limit",
    [
        "\u00b2",
        "1\u2070",
        "-1",
        "2.5",
        "\u0661\u0662",  # other scripts' digits
        "9" * 20,  # past what any setting holds
    ],
)
async def test_a_limit_that_is_not_a_plain_number_is_refused_kindly(
    manager, slot_service, guild_a, limit
):
    [reply] = await say(f"!slotcalls limit {limit}", manager)

    assert reply.content.startswith("That doesn't look right. Usage: !slotcalls limit")
    assert slot_service.status(guild_a.id).settings.max_open_per_user is None


async def test_slotcalls_alone_shows_its_usage(manager):
    [reply] = await say("!slotcalls", manager)
    assert reply.content.startswith("Usage: !slotcalls on | off | status | channel #channel")


# --- calls become embeds ---------------------------------------------------------------------


async def test_a_call_from_chat_is_posted_as_an_embed_and_answered_in_chat(
    calls_on, chat, guild_a, calls_channel, chat_sender, payloads
):
    await chat(guild_a, "!call Book of Dead", sender_id=42, username="slotfan")

    [message] = sent_messages()
    assert message.channel.id == calls_channel.id
    [embed] = message.embeds
    assert (embed.title, embed.description) == ("Slot call #1", "**Book of Dead**")
    assert fields(embed)["Called by"] == "slotfan (Kick)"
    assert fields(embed)["In the queue"] == "#1"
    assert "<t:" in fields(embed)["When"]
    assert payloads[-1]["allowed_mentions"] == {"parse": []}
    assert chat_sender.texts == ["Slot call added: Book of Dead (#1 in the queue)."]


async def test_a_post_that_went_out_is_never_posted_again_when_recording_it_failed(
    calls_on, chat, guild_a, sqlite_engine, clock, discord_worker
):
    """The post reached Discord, then the database refused to note it was posted: the call
    ends uncertain (a second try would post it twice)."""
    failing = FailingWrites(sqlite_engine, lambda sql: sql.startswith("UPDATE slot_calls SET"))
    failing.times = 1

    await chat(guild_a, "!call Book of Dead", sender_id=42, username="slotfan")
    clock.advance(3600)
    await discord_worker.run_once()

    assert failing.failed
    assert len(sent_messages()) == 1
    with sqlite_engine.connect() as conn:
        [call] = store.of_guild(conn, guild_a.id)
    assert call.state == "uncertain"
    assert str(call.result).startswith("failed after its request went out")


async def test_a_linked_viewer_is_shown_with_their_discord_member(
    calls_on, chat, guild_a, alice, sqlite_engine, clock
):
    LinkingService(sqlite_engine, clock).link(
        guild_id=guild_a.id,
        discord_user_id=alice.id,
        platform=Platform.KICK,
        platform_user_id="42",
        username="alice_on_kick",
    )

    await chat(guild_a, "!call Book of Dead", sender_id=42, username="alice_on_kick")

    [message] = sent_messages()
    assert fields(message.embeds[0])["Called by"] == f"alice\\_on\\_kick (Kick)\n{alice.mention}"


async def test_an_injection_attempt_comes_out_inert(calls_on, chat, guild_a, chat_sender, payloads):
    slot = "Win @everyone **FREE** ||spins|| <@123456789012345678> `x` \u200bhere\u202e\u2066 [a](http://x)"
    await chat(guild_a, f"!call {slot}", sender_id=13, username="__evil__")

    [message] = sent_messages()
    [embed] = message.embeds
    assert embed.description == (
        "**Win @\u200beveryone \\*\\*FREE\\*\\* \\|\\|spins\\|\\| \\<@\u200b123456789012345678> "
        "\\`x\\` here \\[a](http\\://x)**"
    )
    assert fields(embed)["Called by"] == "\\_\\_evil\\_\\_ (Kick)"
    for text in [embed.description, *fields(embed).values()]:
        assert not {"\u202e", "\u2066"} & set(text)
        assert "\u200b" not in text.replace("@\u200b", "")  # only discord.py's mention breaker
    assert message.mentions == []
    assert not message.mention_everyone
    assert all(payload["allowed_mentions"] == {"parse": []} for payload in payloads)
    [reply] = chat_sender.texts
    assert not reply.startswith(("!", "/"))


async def test_channel_timestamp_command_and_emoji_markup_from_chat_is_shown_literally(
    calls_on, chat, guild_a, calls_channel
):
    # None of these ping, so escape_mentions leaves them alone, but Discord would still render
    # them: a link to a channel, a live clock, a clickable slash command, a server's emoji.
    slot = f"<#{calls_channel.id}> <t:1700000000:R> </pickslot:123> <a:spin:456>"
    await chat(guild_a, f"!call {slot}", sender_id=14, username="tricky")

    [message] = sent_messages()
    [embed] = message.embeds
    assert embed.description == (
        f"**\\<#{calls_channel.id}> \\<t:1700000000:R> \\</pickslot:123> \\<a:spin:456>**"
    )
    assert message.channel_mentions == []


async def test_an_address_typed_in_a_call_is_no_link_in_the_moderators_post(
    calls_on, chat, guild_a, calls_channel
):
    await chat(guild_a, "!call https://discord.gg/free-spins HTTP://x.example", sender_id=15)

    [message] = sent_messages()
    [embed] = message.embeds
    # Discord links an unbroken scheme and "://" only; the post reads the same to a moderator.
    assert not re.search(r"https?://", embed.description, re.IGNORECASE)
    assert embed.description == "**https\\://discord.gg/free-spins HTTP\\://x.example**"


async def test_two_guilds_on_one_kick_channel_each_get_their_call_in_their_own_channel(
    slot_service, chat, guild_a, guild_b, chat_sender
):
    channel_a, channel_b = guild_a.text_channels[0], guild_b.text_channels[0]
    for guild, channel in [(guild_a, channel_a), (guild_b, channel_b)]:
        slot_service.set_enabled(guild.id, True)
        slot_service.set_channel(guild.id, channel.id)

    await chat(guild_a, "!call Book of Dead", sender_id=1)
    await chat(guild_b, "!call Sugar Rush", sender_id=2)

    posted = {(m.channel.id, m.embeds[0].description) for m in sent_messages()}
    assert posted == {(channel_a.id, "**Book of Dead**"), (channel_b.id, "**Sugar Rush**")}
    assert [c.slot_name for c in slot_service.open_calls(guild_a.id, 10)] == ["Book of Dead"]
    assert [c.slot_name for c in slot_service.open_calls(guild_b.id, 10)] == ["Sugar Rush"]


async def test_a_channel_of_another_server_is_never_posted_to(
    slot_service, chat, guild_a, guild_b, chat_sender, caplog
):
    slot_service.set_enabled(guild_b.id, True)
    slot_service.set_channel(guild_b.id, guild_a.text_channels[0].id)  # say, the default's

    await chat(guild_b, "!call Book of Dead")

    assert sent_messages() == []
    assert "not found in that server: deleted, another server's" in caplog.text
    assert slot_service.count_open(guild_b.id) == 1  # kept, and listed by !slotlist


async def test_calls_refused_in_chat_post_nothing(slot_service, chat, guild_a, chat_sender):
    await chat(guild_a, "!call Book of Dead")  # calls are off

    assert sent_messages() == []
    assert chat_sender.texts == ["Slot calls are off right now."]


# --- the queue -------------------------------------------------------------------------------


async def test_slotlist_pages_through_the_open_calls(calls_on, chat, guild_a, manager):
    calls_on.set_channel(guild_a.id, None)  # no channel: nothing is posted while filling it
    for index in range(1, 13):
        await chat(guild_a, f"!call Slot {index}", sender_id=index, username=f"viewer{index}")

    [first] = await say("!slotlist", manager)
    [second] = await say("!slotlist 2", manager)
    [third] = await say("!slotlist 3", manager)

    page_one = first.embeds[0]
    assert page_one.title == "Open slot calls (12)"
    assert page_one.description.splitlines()[0] == "**#1** Slot 1 - viewer1"
    assert len(page_one.description.splitlines()) == 10
    assert page_one.footer.text == "Page 1 of 2 · !slotlist 2 for the next page"
    assert second.embeds[0].description.splitlines() == [
        "**#11** Slot 11 - viewer11",
        "**#12** Slot 12 - viewer12",
    ]
    assert second.embeds[0].footer.text == "Page 2 of 2"
    assert third.content == "There is no page 3: 12 open calls fill 2 page(s)."


async def test_slotlist_shows_all_ten_calls_of_a_page_however_long_their_names(
    calls_on, chat, guild_a, manager
):
    calls_on.set_channel(guild_a.id, None)
    for index in range(1, 11):  # names of 200 characters, each doubled by escaping
        name, who = f"S{index:02d}" + "_" * 197, f"v{index}" + "*" * 90
        await chat(guild_a, f"!call {name}", sender_id=index, username=who)

    [reply] = await say("!slotlist", manager)

    lines = reply.embeds[0].description.splitlines()
    assert [line.split()[0] for line in lines] == [f"**#{n}**" for n in range(1, 11)]
    assert lines[9].startswith("**#10** S10\\_\\_")
    assert lines[9].endswith("\N{HORIZONTAL ELLIPSIS}")  # cut short, yet there


async def test_slotlist_of_an_empty_queue_says_so(manager):
    [reply] = await say("!slotlist", manager)
    assert reply.content == "No open slot calls."


async def test_pickslot_announces_the_pick_in_discord_and_in_chat(
    calls_on, chat, guild_a, manager, chat_sender
):
    await chat(guild_a, "!call Book of Dead", sender_id=42, username="slotfan")
    sent_messages()
    chat_sender.sent.clear()

    [reply] = await say("!pickslot", manager)

    embed = reply.embeds[0]
    assert (embed.title, embed.description) == ("Slot picked", "**Book of Dead**")
    assert fields(embed)["Called by"] == "slotfan (Kick)"
    assert embed.footer.text == "Picked at random from 1 open call; 0 left"
    [line] = chat_sender.sent
    assert line.text == "Picked slot: Book of Dead, called by @slotfan!"
    assert line.guild_id == guild_a.id
    assert calls_on.count_open(guild_a.id) == 0
    [picked_again] = await say("!pickslot", manager)
    assert picked_again.content == "There are no open slot calls to pick from."


async def test_a_pick_made_elsewhere_is_shown_in_the_calls_channel_too(
    calls_on, chat, guild_a, manager, bot
):
    other = await guild_a.create_text_channel("mods")
    await chat(guild_a, "!call Book of Dead")
    sent_messages()

    await dpytest.message("!pickslot", channel=other, member=manager)

    shown_in = sorted(m.channel.name for m in sent_messages())
    assert shown_in == sorted(["mods", guild_a.text_channels[0].name])


async def test_clearslots_closes_the_open_calls(calls_on, chat, guild_a, manager):
    await chat(guild_a, "!call Book of Dead", sender_id=1)
    await chat(guild_a, "!call Sugar Rush", sender_id=2)
    sent_messages()

    [cleared] = await say("!clearslots", manager)
    [again] = await say("!clearslots", manager)

    assert cleared.content == "Cleared 2 open slot calls."
    assert again.content == "There were no open slot calls to clear."
    assert calls_on.count_open(guild_a.id) == 0


# --- blacklist -------------------------------------------------------------------------------


async def test_the_call_blacklist_is_managed_from_discord(
    calls_on, chat, guild_a, manager, chat_sender
):
    [added] = await say("!callblacklist add @Troll_99 spams **calls**", manager)
    [listed] = await say("!callblacklist list", manager)
    await chat(guild_a, "!call Book of Dead", sender_id=66, username="troll_99")

    assert added.content == "Troll\\_99 can no longer call slots (their calls are ignored quietly)."
    assert listed.content.splitlines() == [  # nobody called so has chatted: both platforms
        "**Slot call blacklist**",
        "- Troll\\_99 (Kick): spams \\*\\*calls\\*\\*",
        "- Troll\\_99 (Twitch): spams \\*\\*calls\\*\\*",
    ]
    assert sent_messages() == []
    assert chat_sender.sent == []

    [removed] = await say("!callblacklist remove troll_99", manager)
    [not_there] = await say("!callblacklist remove troll_99", manager)
    [empty] = await say("!callblacklist list", manager)
    [usage] = await say("!callblacklist", manager)

    assert removed.content == "troll\\_99 can call slots again."
    assert not_there.content == "troll\\_99 is not on the slot call blacklist."
    assert empty.content == "Nobody is on the slot call blacklist."
    assert usage.content.startswith("Usage: !callblacklist add <name> [reason]")


async def test_blacklisting_a_viewer_says_their_open_calls_were_closed(
    calls_on, chat, guild_a, manager
):
    await chat(guild_a, "!call Rude Slot", sender_id=66, username="troll_99")
    await chat(guild_a, "!call Ruder Slot", sender_id=66, username="troll_99")
    await chat(guild_a, "!call Book of Dead", sender_id=67, username="nice")
    sent_messages()  # the three posts

    [added] = await say("!callblacklist add troll_99 spam", manager)
    [listed] = await say("!slotlist", manager)

    assert added.content == (
        "troll\\_99 can no longer call slots (their calls are ignored quietly)."
        " Their 2 open slot calls were closed, so none can be picked."
    )
    assert listed.embeds[0].title == "Open slot calls (1)"


async def test_a_long_blacklist_says_how_many_entries_it_could_not_show(calls_on, guild_a, manager):
    for index in range(1, 41):
        calls_on.blacklist.add(guild_a.id, f"viewer{index}", added_by=1, reason="spam " * 30)

    [listed] = await say("!callblacklist list", manager)

    lines = listed.content.splitlines()
    assert len(listed.content) <= 2000
    assert lines[0] == "**Slot call blacklist**"
    shown = lines[1:-1]
    assert all(line.startswith("- viewer") for line in shown)  # whole entries, none cut off
    # A name not seen yet: one entry per platform.
    total = len(calls_on.blacklist.entries(guild_a.id))
    assert lines[-1] == f"...and {total - len(shown)} more."


async def test_blacklist_replies_name_the_viewer_as_stored_and_stay_within_discords_limit(
    calls_on, manager
):
    long_name = "_" * 1500  # escaped, it would be 3000 characters: Discord refuses over 2000
    [hidden] = await say("!callblacklist add bad\u200buser", manager)
    [long] = await say(f"!callblacklist add {long_name}", manager)
    [removed] = await say("!callblacklist remove bad\u2060user", manager)

    assert hidden.content == "baduser can no longer call slots (their calls are ignored quietly)."
    assert removed.content == "baduser can call slots again."
    assert long.content == (
        "Name the viewer to blacklist: a Kick or Twitch name of up to 64 characters."
    )


@pytest.mark.parametrize("typed", ["\u200b", "kick:", "twitch:@", "x" * 65])
async def test_removing_what_names_no_viewer_says_what_to_type(calls_on, manager, typed):
    """It answered " is not on the slot call blacklist." (a blank name), where !callblacklist
    add says what a name is."""
    [reply] = await say(f"!callblacklist remove {typed}", manager)
    assert reply.content == (
        "Name the viewer to take off the blacklist: a Kick or Twitch name of up to 64 characters."
    )


async def test_a_blacklist_reason_past_200_characters_is_refused_not_cut(calls_on, manager):
    [refused] = await say(f"!callblacklist add troll {'r' * 201}", manager)
    assert refused.content == "Keep the reason under 200 characters."
    assert calls_on.blacklist.entries(manager.guild.id) == []


@pytest.mark.parametrize(("limit", "stored"), [("0" * 4_400 + "5", 5), ("0" * 4_400, None)])
async def test_a_limit_behind_thousands_of_zeros_is_read(
    manager, slot_service, guild_a, limit, stored
):
    """A slash command's option holds up to 6,000 characters; int() refuses 4,300 digits."""
    await say("!slotcalls limit 3", manager)
    await say(f"!slotcalls limit {limit}", manager)

    assert slot_service.status(guild_a.id).settings.max_open_per_user == stored
