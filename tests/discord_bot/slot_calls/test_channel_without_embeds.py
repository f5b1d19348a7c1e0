"""Slot calls are posted as embeds: when they go to a channel where the bot may not post them
(Embed Links taken away since, or a channel named only by SLOT_CALLS_CHANNEL_ID, never
checked), `!slotcalls on` and `!slotcalls status` say so with what to give, instead of
"they are posted in #channel" while every call is refused."""

from __future__ import annotations

import discord.ext.test as dpytest
import pytest

from core.outbox import store
from tests.discord_bot.fake_discord import embeds_refused_without_embed_links, say
from tests.discord_bot.slot_calls.conftest import sent_messages


@pytest.fixture(autouse=True)
def connected(bot, gateway) -> None:
    bot._ready.set()
    gateway.attach(bot)


async def test_on_and_status_say_the_bot_cannot_post_embeds_there(
    manager, slot_service, guild_a
) -> None:
    calls = dpytest.backend.make_text_channel("slot-calls", guild_a)
    await dpytest.set_permission_overrides(guild_a.default_role, calls, embed_links=False)
    slot_service.default_channel_id = calls.id  # SLOT_CALLS_CHANNEL_ID

    [on] = await say("!slotcalls on", manager)
    [status] = await say("!slotcalls status", manager)

    problem = f"I can't post in {calls.mention}; give me Send Messages and Embed Links there."
    assert on.content == (
        "Slot calls are now **on**: viewers use !call <slot> or !sr <slot> in chat; they go to "
        f"{calls.mention}, but {problem}"
    )
    assert f"Channel: {calls.mention}" in status.content
    assert status.content.splitlines()[-1] == problem


async def test_a_channel_the_bot_can_post_in_is_said_as_before(
    manager, slot_service, guild_a
) -> None:
    calls = dpytest.backend.make_text_channel("slot-calls", guild_a)
    slot_service.default_channel_id = calls.id

    [on] = await say("!slotcalls on", manager)

    assert on.content.endswith(f"they are posted in {calls.mention}.")


async def test_a_call_refused_for_embed_links_ends_refused_once_with_the_fix(
    calls_on, calls_channel, chat, guild_a, sqlite_engine, clock, discord_worker, monkeypatch
) -> None:
    """Discord answers 403 (50013 Missing Permissions): the outbox call ends refused, in words
    the dashboard's "What the bot could not do" and !health list, and is not tried again."""
    embeds_refused_without_embed_links(monkeypatch)
    await dpytest.set_permission_overrides(guild_a.default_role, calls_channel, embed_links=False)

    await chat(guild_a, "!call Book of Dead", sender_id=42, username="slotfan")
    clock.advance(3600)
    await discord_worker.run_once()

    assert sent_messages() == []
    with sqlite_engine.connect() as conn:
        [call] = store.of_guild(conn, guild_a.id)
    assert (call.state, call.attempts) == ("refused", 1)
    assert call.result == (
        "not posted: I may not post in the slot call channel; give me Send Messages and Embed "
        "Links there"
    )


async def test_a_pick_the_calls_channel_refuses_is_said_where_it_was_made(
    calls_on, calls_channel, chat, guild_a, manager, monkeypatch
) -> None:
    """!pickslot in another channel shows the pick in the calls channel too, where viewers
    watch; when Discord refuses it there, the moderator who picked is told, with the fix."""
    other = await guild_a.create_text_channel("mods")
    await chat(guild_a, "!call Book of Dead")
    sent_messages()
    embeds_refused_without_embed_links(monkeypatch)
    await dpytest.set_permission_overrides(guild_a.default_role, calls_channel, embed_links=False)

    await dpytest.message("!pickslot", channel=other, member=manager)

    replies = sent_messages()
    assert [m.channel.name for m in replies] == ["mods", "mods"]
    assert replies[0].embeds[0].title == "Slot picked"
    assert replies[1].content == (
        f"I could not show the pick in {calls_channel.mention}: I can't post in "
        f"{calls_channel.mention}; give me Send Messages and Embed Links there."
    )
