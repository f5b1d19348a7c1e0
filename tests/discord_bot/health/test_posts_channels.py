"""!health says, for each channel this server's posts go to (slot calls, the link log, ...),
whether the bot can post there as those posts need: a channel where it lost Embed Links, or one
set only by SLOT_CALLS_CHANNEL_ID and never checked, shows as failing with what to give, before
the posts there are refused one by one."""

from __future__ import annotations

import dataclasses

import discord
import discord.ext.test as dpytest
import pytest
from sqlalchemy.engine import Engine

from core.discord_bot.render import GREEN, RED
from core.discord_bot.services import BotServices
from core.features.linking.service import LinkingService
from core.features.slot_calls.service import SlotCallService
from tests.discord_bot.fake_discord import allow_unknown_channel_mentions, make_thread, say
from tests.support.clock import Clock

GONE = 987654321098765432  # no channel of the server


@pytest.fixture
def slot_calls(sqlite_engine: Engine, clock: Clock) -> SlotCallService:
    return SlotCallService(sqlite_engine, clock)


@pytest.fixture
def services(services: BotServices, slot_calls: SlotCallService) -> BotServices:
    return dataclasses.replace(services, slot_calls=slot_calls)


def lines_of(replies: list[discord.Message]) -> list[str]:
    return [line for reply in replies for line in reply.content.splitlines()]


async def test_a_channel_without_embed_links_fails_with_the_fix(
    guild_a: discord.Guild,
    manager: discord.Member,
    slot_calls: SlotCallService,
    linking: LinkingService,
) -> None:
    calls = dpytest.backend.make_text_channel("slot-calls", guild_a)
    logs = dpytest.backend.make_text_channel("link-log", guild_a)
    await dpytest.set_permission_overrides(guild_a.default_role, calls, embed_links=False)
    slot_calls.set_enabled(guild_a.id, True)
    slot_calls.set_channel(guild_a.id, calls.id)
    linking.set_log_channel(guild_a.id, logs.id)

    lines = lines_of(await say("!health", manager))

    assert (
        f"{RED} FAIL slot call channel: I can't post in {calls.mention}; give me Send Messages "
        "and Embed Links there. Or set another with !slotcalls channel #channel"
    ) in lines
    assert f"{GREEN} ok   link log channel: {logs.mention}: I can post there" in lines


async def test_a_deleted_channel_and_a_locked_thread_fail_with_the_fix(
    guild_a: discord.Guild,
    manager: discord.Member,
    slot_calls: SlotCallService,
    linking: LinkingService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allow_unknown_channel_mentions(monkeypatch)
    parent = guild_a.text_channels[0]
    await dpytest.set_permission_overrides(
        guild_a.default_role, parent, send_messages_in_threads=True
    )
    locked = make_thread(parent, "Link log", locked=True)
    slot_calls.set_enabled(guild_a.id, True)
    slot_calls.set_channel(guild_a.id, GONE)
    linking.set_log_channel(guild_a.id, locked.id)

    lines = lines_of(await say("!health", manager))

    assert (
        f"{RED} FAIL slot call channel: I can't find it ({GONE}): deleted, or a thread that was "
        "archived. Set another with !slotcalls channel #channel"
    ) in lines
    assert (
        f"{RED} FAIL link log channel: I can't post in {locked.mention}: the thread is locked. "
        "Open it again, or pick another channel. Or turn the log on in another channel with "
        "!linklogs on"
    ) in lines


async def test_slot_calls_off_or_no_channel_adds_no_line(
    guild_a: discord.Guild, manager: discord.Member, slot_calls: SlotCallService
) -> None:
    slot_calls.set_channel(guild_a.id, GONE)  # slot calls are off

    lines = lines_of(await say("!health", manager))

    assert not [line for line in lines if "channel:" in line]
