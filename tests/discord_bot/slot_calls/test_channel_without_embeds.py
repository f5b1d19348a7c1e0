"""Slot calls are posted as embeds: when they go to a channel where the bot may not post them
(Embed Links taken away since, or a channel named only by SLOT_CALLS_CHANNEL_ID, never
checked), `!slotcalls on` and `!slotcalls status` say so with what to give, instead of
"they are posted in #channel" while every call is refused."""

from __future__ import annotations

import discord.ext.test as dpytest
import pytest

from tests.discord_bot.fake_discord import say


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
