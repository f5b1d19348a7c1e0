"""Fuzz: whole Discord commands of the watchtime, roles and linking families, typed by a server
manager on dpytest's fake Discord, with hostile arguments (numbers out of range, Unicode, the
roles, channels and members of another server, @everyone, words where none are taken).

Property: every command gets an answer (never silence), the answer is a plain one (never "Something
went wrong", never an error other than a ``CommandError`` the bot answered), it fits in one
Discord message, and the roles and channels of the other server are never saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord  # noqa: TID251 - this target is the Discord front end's commands
import discord.ext.test as dpytest  # noqa: TID251
import discord.ext.test.factories as dpytest_factories  # noqa: TID251
import pytest
from discord.ext import commands  # noqa: TID251
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from core.discord_bot.bot import SOMETHING_WENT_WRONG, create_bot
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.linking.outbound import DiscordLinks
from core.discord_bot.render import MESSAGE_LIMIT
from core.discord_bot.roles.outbound import DiscordMemberRoles
from core.discord_bot.services import BotServices
from core.events import system_clock
from core.features.guilds.service import GuildService
from core.features.linking.effects import LinkEffects
from core.features.linking.service import LinkingService
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync
from core.features.watchtime.service import WatchtimeService
from tests.discord_bot.conftest import SETTINGS
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

COMMANDS = [
    "watchtime",
    "leaderboard",
    "tracking",
    "tracking on",
    "tracking status",
    "roles",
    "roles list",
    "roles add",
    "roles update",
    "roles remove",
    "roles enable",
    "roles disable",
    "roles mode",
    "roles dm",
    "roles members",
    "roles sync",
    "linkrole",
    "linked",
    "linkowner",
    "unlink",
    "linklogs status",
]


WORDS = ["on", "off", "all", "highest", "60", "0", "-1", "1.5", "10", "hours", "Regulars",
         "@everyone", "kick", "twitch", "9" * 30, "\u00b2", "\uff16\uff10"]  # fmt: skip


class Server:
    """Guild A, where the manager types, and the ids of things that are not theirs."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        config = dpytest.get_config()
        self.guild, self.other = config.guilds
        self.manager = discord.utils.get(self.guild.members, name="bob")
        assert self.manager is not None
        self.foreign_ids = {role.id for role in self.other.roles if not role.is_default()} | {
            channel.id for channel in self.other.channels
        }


def wrap_dpytest_ids() -> None:
    """dpytest numbers its ids with an ever-growing counter where Discord's snowflakes keep 12
    bits: past 4,096 ids in one process they outgrow 63 bits (SQLite, discord.py's role
    arrays). Wrap it as Discord does; the millisecond part keeps the ids unique."""
    dpytest_factories.generated_ids %= 4096


@pytest.fixture
async def server(sqlite_engine: Engine) -> AsyncIterator[Server]:
    wrap_dpytest_ids()
    gateway = DiscordGateway()
    roles = RolesService(sqlite_engine, system_clock)
    role_sync = RoleSync(roles, DiscordMemberRoles(gateway), clock=system_clock, pause_seconds=0)
    linking = LinkingService(sqlite_engine, system_clock)
    services = BotServices(
        watchtime=WatchtimeService(sqlite_engine, SETTINGS, system_clock),
        guilds=GuildService(sqlite_engine, system_clock),
        roles=roles,
        role_sync=role_sync,
        linking=linking,
        link_effects=LinkEffects(linking, DiscordLinks(gateway), role_sync=role_sync),
    )
    bot = create_bot(services)
    await bot._async_setup_hook()
    await bot.load_cogs()
    dpytest.configure(bot, guilds=["Guild A", "Guild B"], text_channels=1, voice_channels=0,
                      members=["alice", "bob"])  # fmt: skip
    bot._ready.set()
    gateway.attach(bot)
    guild_a, guild_b = dpytest.get_config().guilds
    bob = discord.utils.get(guild_a.members, name="bob")
    admin = dpytest.backend.make_role(
        "Admin", guild_a, permissions=discord.Permissions(manage_guild=True).value
    )
    await dpytest.add_role(bob, admin)
    dpytest.backend.make_role("Regulars", guild_a)
    dpytest.backend.make_role("Theirs", guild_b)
    yield Server(bot)
    await dpytest.empty_queue()


def arguments(server: Server) -> st.SearchStrategy[str]:
    guild, other = server.guild, server.other
    roles = [role.id for role in (*guild.roles, *other.roles)] + [123456789012345678]
    channels = [channel.id for channel in (*guild.channels, *other.channels)]
    members = [member.id for member in (*guild.members, *other.members)]
    # Another server's channel or member only as a bare id: dpytest cannot build a message
    # that mentions them (Discord shows such a mention as text; the id is what matters).
    mention = st.one_of(
        st.sampled_from([*roles, *channels, *members]).map(str),
        st.sampled_from(roles).map("<@&{}>".format),
        st.sampled_from([channel.id for channel in guild.channels]).map("<#{}>".format),
        st.sampled_from([member.id for member in guild.members]).map("<@{}>".format),
    )
    word = st.one_of(
        mention,
        st.sampled_from(WORDS),
        st.sampled_from([str(value) for value in NASTY]),
        st.text(max_size=40),
    )  # fmt: skip
    # Discord delivers message text as UTF-8: a lone surrogate (U+D800) never reaches a command.
    return st.lists(word.filter(is_utf8), max_size=4).map(" ".join)


def is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def test_commands_answer_every_argument_in_plain_words(server: Server) -> None:
    target = "discord-commands"
    loop = asyncio.get_running_loop()
    roles: RolesService = server.bot.services.roles  # type: ignore[attr-defined]
    linking: LinkingService = server.bot.services.linking  # type: ignore[attr-defined]

    async def type_command(text: str) -> tuple[list[str], BaseException | None]:
        error: BaseException | None = None
        wrap_dpytest_ids()
        try:
            await dpytest.message(
                text, channel=server.guild.text_channels[0], member=server.manager
            )
        except commands.CommandError:
            pass  # dpytest raises what the bot's error handler already answered
        except Exception as exc:
            error = exc
        replies = []
        while not dpytest.sent_queue.empty():
            message = dpytest.get_message()
            replies.append(
                message.content or "\n".join(e.description or "" for e in message.embeds)
            )
        return replies, error

    @given(st.sampled_from(COMMANDS), arguments(server))
    def check(command: str, argument: str) -> None:
        text = f"!{command} {argument}"[:MESSAGE_LIMIT]
        replies, error = asyncio.run_coroutine_threadsafe(type_command(text), loop).result(60)
        try:
            assert error is None, f"{text!r} raised {error!r}"
            assert replies, f"{text!r} got no answer"
            for reply in replies:
                assert SOMETHING_WENT_WRONG not in reply, text
                assert len(reply) <= MESSAGE_LIMIT
            saved = {tier.role_id for tier in roles.tiers(server.guild.id)}
            settings = linking.settings(server.guild.id)
            saved |= {settings.linked_role_id or 0, settings.log_channel_id or 0}
            assert not saved & server.foreign_ids, f"{text!r} saved another server's id"
        except AssertionError:
            record(target, "error")
            raise
        record(target, command.split()[0])

    await asyncio.to_thread(check)
