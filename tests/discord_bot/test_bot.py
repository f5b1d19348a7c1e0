"""The bot as a whole: which cogs it loads, how it syncs slash commands, how it starts and stops."""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord.ext import commands

from core.discord_bot.bot import (
    RATE_LIMIT_WAIT_SECONDS,
    build_cogs,
    command_fingerprint,
    create_bot,
    front_end_packages,
    permission_names,
)
from core.discord_bot.channel_posts import post_nonce
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.global_pace import GLOBAL_LIMIT, global_key
from core.discord_bot.heist.outbound import DiscordHeistAnnouncer
from core.discord_bot.running import LOGIN_REJECTED, run_bot
from core.discord_bot.services import BotServices
from core.ratelimits import MemoryWindows
from tests.fakes.discord_api import (
    APPLICATION_ID,
    GOOD_TOKEN,
    SLOW_TOKEN,
    FakeDiscordApi,
    fake_discord_api,
)


@pytest.fixture
async def discord_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordApi]:
    async with fake_discord_api() as api:
        # discord.py has no setting for its API base URL; this class attribute is the only seam.
        monkeypatch.setattr(discord.http.Route, "BASE", api.url)
        yield api


def cog_classes() -> set[type[commands.Cog]]:
    """Every Cog class defined in a feature package below core/discord_bot/."""
    found: set[type[commands.Cog]] = set()
    for package in front_end_packages():
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            found.update(
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, commands.Cog)
                and value.__module__ == module.__name__
            )
    return found


def names_and_aliases(command_list: list[commands.Command]) -> list[str]:
    return [name for command in command_list for name in (command.name, *command.aliases)]


async def test_every_cog_loads_and_no_command_name_or_alias_repeats(
    services_with_kick: BotServices,
) -> None:
    services = services_with_kick
    cogs = build_cogs(services)
    assert {type(cog) for cog in cogs} == cog_classes(), "a cog class is not loaded"

    bot = create_bot(services)
    await bot.load_cogs()

    levels = [list(bot.commands)] + [
        list(group.commands) for group in bot.walk_commands() if isinstance(group, commands.Group)
    ]
    for level in levels:
        repeated = [name for name, n in Counter(names_and_aliases(level)).items() if n > 1]
        assert not repeated, f"command names or aliases used twice: {repeated}"
    slash_names = [command.name for command in bot.tree.get_commands()]
    assert len(slash_names) == len(set(slash_names))
    # Every command is a hybrid command, so each top-level one is also a slash command.
    assert all(
        isinstance(command, commands.HybridCommand | commands.HybridGroup)
        for command in bot.commands
        if command.cog is not None
    )
    assert set(slash_names) == {command.name for command in bot.commands if command.cog}
    assert {"watchtime", "tickets", "kick", "link", "roles", "slotcalls", "shuffle"} <= set(
        slash_names
    )


def test_the_bot_gets_every_service_the_runtime_built(make_runtime) -> None:
    import dataclasses

    runtime = make_runtime()
    services = runtime.bot_services()

    missing = [f.name for f in dataclasses.fields(services) if getattr(services, f.name) is None]
    assert missing == []
    assert services.raffle is runtime.raffle
    assert services.points_wallet is runtime.points_wallet


def test_bot_uses_bang_prefix_any_case_and_the_intents_it_needs(services: BotServices) -> None:
    bot = create_bot(services)

    assert bot.command_prefix == "!"
    assert bot.case_insensitive
    assert bot.intents.message_content
    assert bot.intents.members
    assert bot.allowed_mentions is not None
    assert bot.allowed_mentions.to_dict() == {"parse": []}


async def test_a_channel_rate_limited_for_long_raises_at_once_and_others_still_post(
    discord_api: FakeDiscordApi, services: BotServices
) -> None:
    """discord.py waits out any 429 by default, holding whoever posts (an outbox call, a round
    of announcements) for as long as Discord says; past RATE_LIMIT_WAIT_SECONDS it raises
    RateLimited, nothing sent, and the caller tries again later."""
    busy, quiet = 111, 222
    discord_api.rate_limited_channels[busy] = 600.0
    bot = create_bot(services)
    async with bot:
        await bot.login(GOOD_TOKEN)
        route = discord.http.Route

        async def post(channel_id: int) -> object:
            path = route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
            return await bot.http.request(path, json={"content": "hello"})

        with pytest.raises(discord.RateLimited) as limited:
            await asyncio.wait_for(post(busy), timeout=RATE_LIMIT_WAIT_SECONDS)
        await asyncio.wait_for(post(quiet), timeout=RATE_LIMIT_WAIT_SECONDS)

    assert limited.value.retry_after == 600.0
    assert discord_api.messages == [(quiet, "hello")]


async def test_a_post_tried_again_after_a_late_answer_is_one_message(
    discord_api: FakeDiscordApi, services: BotServices
) -> None:
    """A heist result whose answer came later than the round waits (Discord created it) is
    posted again at the next round with the same nonce; Discord answers with the first message
    and creates no second one. Another heist's result is a message of its own."""
    channel_id, guild_id = 111, 1
    bot = create_bot(services)
    async with bot:
        await bot.login(GOOD_TOKEN)
        channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
        poster = DiscordHeistAnnouncer(DiscordGateway())

        async def post(heist_id: int) -> bool:
            nonce = post_nonce("heist", guild_id, heist_id)
            return await poster.post(channel, f"heist {heist_id}", nonce=nonce)

        discord_api.answer_messages.clear()
        late = asyncio.create_task(post(7))
        await discord_api.message_created.wait()  # created; the answer never comes this round
        late.cancel()
        discord_api.answer_messages.set()
        assert await post(7)  # the next round
        assert await post(8)

    assert discord_api.messages == [(channel_id, "heist 7"), (channel_id, "heist 8")]


def test_a_post_nonce_fits_discord_and_names_one_post() -> None:
    nonces = {post_nonce("heist", 2**63 - 1, heist_id) for heist_id in range(1000)}
    assert len(nonces) == 1000
    assert {len(nonce) for nonce in nonces} == {25}
    assert post_nonce("raffle draw", 1, 2) != post_nonce("raffle draw", 2, 1)
    assert post_nonce("heist", 1, 2) == post_nonce("heist", 1, 2)


def test_permission_names_are_the_ones_discord_shows() -> None:
    assert permission_names(["manage_guild"]) == "Manage Server"
    assert permission_names(["manage_roles", "kick_members"]) == "Manage Roles and Kick Members"


async def test_login_syncs_slash_commands_once_until_they_change(
    discord_api: FakeDiscordApi, services: BotServices, tmp_path: Path
) -> None:
    hash_path = tmp_path / "data" / "discord-commands.sha256"

    first = create_bot(services, command_hash_path=hash_path)
    async with first:
        await first.login(GOOD_TOKEN)
    assert len(discord_api.command_uploads) == 1
    assert {c["name"] for c in discord_api.command_uploads[0]} == {
        "watchtime",
        "leaderboard",
        "tracking",
        "health",
        "roles",
        "link",
        "unlink",
        "linked",
        "linkowner",
        "linkrole",
        "linklogs",
        "setup_link_panel",
        "setup_link_button",
    }
    unsynced = create_bot(services)
    await unsynced.load_cogs()
    assert hash_path.read_text().strip() == command_fingerprint(unsynced.tree, APPLICATION_ID)

    second = create_bot(services, command_hash_path=hash_path)
    async with second:
        await second.login(GOOD_TOKEN)
    assert len(discord_api.command_uploads) == 1, "an unchanged command set was synced again"

    hash_path.write_text("a hash from an older command set\n")
    third = create_bot(services, command_hash_path=hash_path)
    async with third:
        await third.login(GOOD_TOKEN)
    assert len(discord_api.command_uploads) == 2


async def test_without_a_hash_path_every_start_syncs_once(
    discord_api: FakeDiscordApi, services: BotServices
) -> None:
    for _ in range(2):
        bot = create_bot(services)
        async with bot:
            await bot.login(GOOD_TOKEN)

    assert len(discord_api.command_uploads) == 2


async def test_the_bots_requests_count_in_its_tokens_global_window(
    discord_api: FakeDiscordApi, services: BotServices
) -> None:
    windows = MemoryWindows()
    bot = create_bot(services, windows=windows)
    async with bot:
        await bot.login(GOOD_TOKEN)  # who it is, its application, the command sync

    held = windows.slots_held()
    assert list(held) == [global_key(GOOD_TOKEN)]
    assert held[global_key(GOOD_TOKEN)][0] == GLOBAL_LIMIT.seconds
    assert len(held[global_key(GOOD_TOKEN)][1]) == 3
    assert GOOD_TOKEN not in global_key(GOOD_TOKEN)


async def test_rejected_token_logs_one_plain_line_and_returns(
    discord_api: FakeDiscordApi, services: BotServices, caplog: pytest.LogCaptureFixture
) -> None:
    token = "wrong.secret.token"
    caplog.set_level(logging.DEBUG)

    await asyncio.wait_for(run_bot(create_bot(services), token, asyncio.Event()), 10)

    assert discord_api.login_attempts == 1
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    problems = [p for p in problems if "voice will NOT be supported" not in p]
    assert problems == [LOGIN_REJECTED]
    assert all(token not in record.getMessage() for record in caplog.records)
    assert all(record.exc_info is None for record in caplog.records if "core" in record.name)


async def test_setting_stop_closes_the_bot_even_mid_login(
    discord_api: FakeDiscordApi, services: BotServices, caplog: pytest.LogCaptureFixture
) -> None:
    bot = create_bot(services)
    stop = asyncio.Event()
    running = asyncio.create_task(run_bot(bot, SLOW_TOKEN, stop))
    await asyncio.wait_for(discord_api.login_started.wait(), 10)

    stop.set()
    await asyncio.wait_for(running, 10)

    assert bot.is_closed()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
