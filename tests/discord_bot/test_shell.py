"""The bot shell as members meet it: help that lists what the caller may use, the intents the
bot asks Discord for, and friendly replies to wrong input."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.services import BotServices
from tests.discord_bot.fake_discord import say

MEMBER_COMMANDS = {"link", "unlink", "watchtime", "leaderboard", "tracking", "help"}
ADMIN_COMMANDS = {"linkrole", "linklogs", "setup_link_panel", "setup_link_button"}


async def listed_commands(member: discord.Member) -> set[str]:
    """The command names ``!help`` shows ``member`` (DefaultHelpCommand indents each one)."""
    text = "\n".join(message.content for message in await say("!help", member))
    return {
        line.split()[0]
        for line in text.splitlines()
        if line.startswith("  ") and line.strip() and not line.strip().startswith("!")
    }


async def test_help_lists_member_commands_and_hides_admin_ones_from_members(
    alice: discord.Member,
) -> None:
    listed = await listed_commands(alice)

    assert listed >= MEMBER_COMMANDS
    assert not listed & ADMIN_COMMANDS


async def test_help_lists_admin_commands_for_a_server_manager(manager: discord.Member) -> None:
    listed = await listed_commands(manager)

    assert listed >= MEMBER_COMMANDS | ADMIN_COMMANDS


async def test_help_for_one_command_shows_its_usage(alice: discord.Member) -> None:
    [reply] = await say("!help link", alice)

    assert "!link" in reply.content
    assert "Get your personal link to connect your Kick or Twitch account" in reply.content
    assert "kick or twitch (default: this server's platform)" in reply.content
    assert "No description given" not in reply.content


@pytest.mark.parametrize("text", ["!help", "!help Watchtime"])
async def test_help_in_a_dm_says_the_commands_work_in_a_server(
    text: str, alice: discord.Member
) -> None:
    """Every command is a server's: a list of them in a DM was empty ("help: Shows this
    message"), which told a viewer nothing."""
    [reply] = await say(text, alice, channel=await alice.create_dm())

    assert reply.content == (
        "My commands work in a server, not in direct messages: type !help in one of its "
        "channels to see those you may use there."
    )


async def test_help_for_one_command_in_a_dm_says_to_use_it_in_a_server(
    alice: discord.Member,
) -> None:
    [reply] = await say("!help watchtime", alice, channel=await alice.create_dm())

    assert reply.content == (
        "!watchtime only works in a server, not in direct messages: use it in one of its "
        "channels (!help there lists what you may use)."
    )


async def test_help_describes_every_argument_of_every_command(manager: discord.Member) -> None:
    """Each argument in the words its slash command shows ("No description given" was every
    hybrid command's), optional ones marked so."""
    bot = dpytest.get_config().client
    undescribed = []
    for command in bot.walk_commands():
        if command.hidden or not command.clean_params:
            continue
        text = "\n".join(m.content for m in await say(f"!help {command.qualified_name}", manager))
        if "No description given" in text or "(default: )" in text:
            undescribed.append(command.qualified_name)
    assert undescribed == []
    [reply] = await say("!help watchtime", manager)
    assert "viewer A @member, or a Kick or Twitch name (yourself when left out) (optional)" in (
        reply.content
    )


async def test_help_names_each_arguments_default_once(manager: discord.Member) -> None:
    bot = dpytest.get_config().client
    twice = []
    for command in bot.walk_commands():
        if command.hidden or not command.clean_params:
            continue
        text = "\n".join(m.content for m in await say(f"!help {command.qualified_name}", manager))
        twice += [line.strip() for line in text.splitlines() if line.count("(default:") > 1]
    assert twice == []
    [reply] = await say("!help setup_link_panel", manager)
    assert "emoji The emoji members react with (default: \N{LINK SYMBOL})\n" in reply.content


def test_the_bot_asks_only_for_the_intents_it_uses(services: BotServices) -> None:
    intents = create_bot(services).intents

    wanted = {
        "guilds",
        "members",
        "guild_messages",
        "dm_messages",
        "message_content",
        "guild_reactions",
        "expressions",  # emojis_and_stickers
    }
    assert {name for name, on in intents if on} == wanted


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("!leaderboard lots", "That doesn't look right. Usage: !leaderboard [count=10]"),
        ("!leaderboard 99", "Pick a number from 1 to 25. Usage: !leaderboard [count=10]"),
        ("!linkrole", "You need the Manage Server permission to use !linkrole."),
    ],
)
async def test_wrong_input_and_missing_permissions_get_a_plain_reply(
    text: str, reply: str, alice: discord.Member
) -> None:
    [answer] = await say(text, alice)

    assert answer.content == reply
