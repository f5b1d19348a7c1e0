"""The documented command lists against the bot: every ``!command`` README and the docs pages
name exists (a Discord command, or a stream chat command where they speak of chat), each is run
by whom they say (everyone, or Manage Server: decided by the command's real discord.py checks,
on dpytest's Discord, for a plain member and a manager), every subcommand they name exists (a
misspelt one would otherwise pass as its group), and every Discord command is documented.

The cogs are those the bot loads from a real Runtime, as the guard test in test_bot.py loads
them; the parsing is in ``readme_commands.py``."""

from __future__ import annotations

import re

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from discord.ext.commands.view import StringView

from core.discord_bot.services import BotServices
from core.runtime import Runtime
from tests.discord_bot.fake_discord import say
from tests.discord_bot.readme_commands import (
    EVERYONE,
    MANAGER,
    ROOT,
    Mention,
    command_docs,
    readme_mentions,
)

Command = commands.Command  # type: ignore[type-arg]


@pytest.fixture
def runtime(make_runtime) -> Runtime:  # type: ignore[no-untyped-def]
    return make_runtime()


@pytest.fixture
def services(runtime: Runtime) -> BotServices:
    """Every cog the bot can load (the guard test's set), not the smaller set of conftest."""
    return runtime.bot_services()


def resolve(bot: commands.Bot, mention: Mention) -> list[Command]:
    """The Discord commands ``mention`` names (``!kick setup|sync`` is two); [] for none."""
    words = mention.words
    command = bot.get_command(words[0].lower())
    if command is None:
        return []
    if isinstance(command, commands.Group) and len(words) > 1:
        options = words[1].split("|")
        subcommands = [command.get_command(option.lower()) for option in options]
        if all(sub is not None for sub in subcommands):
            return subcommands  # type: ignore[return-value]
    return [command]


async def may_run(bot: commands.Bot, command: Command, member: discord.Member) -> bool:
    """Whether ``member`` passes the checks of ``command`` and of every group above it (in
    their server's channel), as ``!help`` decides what to list; nothing is run."""
    # Not a command itself, so dispatching it (dpytest does) runs nothing.
    message = dpytest.backend.make_message("(checks only)", member, member.guild.text_channels[0])
    ctx = commands.Context(message=message, bot=bot, view=StringView(""), prefix="!")
    for each in (*reversed(command.parents), command):
        try:
            if not await each.can_run(ctx):
                return False
        except commands.CommandError:
            return False
    return True


def is_argument_form(bot: commands.Bot, mention: Mention, mentions: list[Mention]) -> bool:
    """``!unlink @member`` (Manage Server) of a command the docs also list for everyone
    (``!unlink``): the permission depends on the argument, so the command checks it when it
    runs (its own tests cover that), not in a check this test can read."""
    paths = {c.qualified_name for c in resolve(bot, mention)}
    depth = max(len(path.split()) for path in paths)
    if len(mention.words) <= depth:
        return False
    return any(
        other.who == EVERYONE and {c.qualified_name for c in resolve(bot, other)} & paths
        for other in mentions
    )


async def test_every_command_readme_names_exists_with_the_permission_it_states(
    bot: commands.Bot, alice: discord.Member, manager: discord.Member, runtime: Runtime
) -> None:
    chat = set(runtime.chat_commands.names)
    mentions = readme_mentions(command_docs())
    assert len(mentions) > 80  # the parser found the pages' lists
    problems = []
    for mention in mentions:
        name = mention.words[0].lower()
        if mention.chat:
            if name not in chat:
                problems.append(f"{mention.text!r}: no chat command {name!r} ({mention.where})")
            continue
        found = resolve(bot, mention)
        if not found:
            if name not in chat:
                problems.append(f"{mention.text!r}: no such command ({mention.where})")
            continue
        if mention.who is None:
            continue
        for command in found:
            member_may = await may_run(bot, command, alice)
            manager_may = await may_run(bot, command, manager)
            actual = EVERYONE if member_may else MANAGER if manager_may else "nobody"
            if (actual, mention.who) == (EVERYONE, MANAGER) and is_argument_form(
                bot, mention, mentions
            ):
                continue
            if actual != mention.who:
                problems.append(
                    f"!{command.qualified_name}: the docs say {mention.who}, the command's checks "
                    f"say {actual} ({mention.where[:120]})"
                )
    assert not problems, "\n".join(problems)


async def test_every_discord_command_is_in_the_readme(bot: commands.Bot) -> None:
    named = {
        name
        for mention in readme_mentions(command_docs())
        if not mention.chat
        for command in resolve(bot, mention)
        for name in (command.qualified_name, *(parent.name for parent in command.parents))
    }
    missing = sorted(
        command.name for command in bot.commands if command.name not in named | {"help"}
    )
    assert not missing, f"in !help but not in the docs: {missing}"


async def test_help_hides_what_a_member_cannot_run_and_shows_it_to_a_manager(
    bot: commands.Bot, alice: discord.Member, manager: discord.Member
) -> None:
    member_help = "\n".join(m.content for m in await say("!help", alice))
    manager_help = "\n".join(m.content for m in await say("!help", manager))
    listed = {line.split()[0] for line in member_help.splitlines() if line.startswith("  ")}
    assert "heistset" not in listed
    managed = {line.split()[0] for line in manager_help.splitlines() if line.startswith("  ")}
    assert "heistset" in managed
    for name in listed:
        command = bot.get_command(name)
        assert command is not None, name
        assert await may_run(bot, command, alice), f"!help shows {name} to a member"

    [asked] = await say("!help heistset", alice)
    assert asked.content == "You can't use !heistset here."
    [shown] = await say("!help heistset", manager)
    assert "Change a heist setting" in shown.content or "!heistset" in shown.content


async def test_every_subcommand_the_docs_name_exists(bot: commands.Bot) -> None:
    """``!roles sync``, ``!vip rule add``, ``!linklogs on|off|status``: each word after a group
    that takes no argument of its own is one of its subcommands (an argument such as
    ``!points <name>`` or ``!points @member`` is not a word of this kind)."""
    problems, checked = [], 0
    for mention in readme_mentions(command_docs()):
        if mention.chat:
            continue
        command = bot.get_command(mention.words[0].lower())
        for word in mention.words[1:]:
            if not isinstance(command, commands.Group):
                break
            options = word.replace("\\|", "|").split("|")
            if not all(re.fullmatch(r"[a-z_]+", option) for option in options):
                break
            subcommands = [command.get_command(option) for option in options]
            if command.clean_params and not all(subcommands):
                break  # an argument of the group itself (``!points alice``)
            checked += 1
            missing = [o for o, sub in zip(options, subcommands, strict=True) if sub is None]
            if missing:
                problems.append(f"{mention.text!r}: !{command.qualified_name} has no {missing}")
                break
            command = subcommands[0]
    assert checked > 50  # the docs' subcommands were read
    assert not problems, "\n".join(problems)


async def test_the_commands_page_names_every_discord_command(bot: commands.Bot) -> None:
    """docs/commands.md is where a streamer looks a command up: each one is named there, with
    the page that has it in full."""
    page = (ROOT / "docs" / "commands.md").read_text()
    named = {words.split()[0].lower() for words in re.findall(r"`!([^`]+)`", page)}
    missing = sorted(f"!{c.name}" for c in bot.commands if c.name not in named | {"help"})
    assert not missing, f"not on docs/commands.md: {missing}"


def test_the_commands_page_names_every_stream_chat_command(runtime: Runtime) -> None:
    """Its "In chat" table has each chat command and alias (``!wt``, ``!sr``) of the bot."""
    page = (ROOT / "docs" / "commands.md").read_text()
    table = page.split("| In chat |", 1)[1].split("\n\n", 1)[0]
    named = {words.split()[0].lower() for words in re.findall(r"`!([^`]+)`", table)}
    missing = sorted(f"!{name}" for name in runtime.chat_commands.names if name not in named)
    assert len(runtime.chat_commands.names) >= 8  # watchtime, wt, tickets, link, call, ...
    assert not missing, f"not in docs/commands.md's chat table: {missing}"
