"""Helpers for the linking tests: the admin's setup, follow a start link through the web app and
the fake Kick, deliver what the web side published, and restart the bot over the same database.

The browser part is real HTTP to the fake Kick on 127.0.0.1; the web app runs in Flask's test
client (in a thread: the callback view runs its own event loop, as in a web server thread).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import discord
import discord.ext.test as dpytest
import httpx
from discord.ext import commands
from werkzeug.test import TestResponse

from core.discord_bot.bot import create_bot
from core.discord_bot.linking.outbound import role_problem
from core.discord_bot.render import inert
from core.discord_bot.services import BotServices
from core.platforms.http import tls_context
from core.runtime import Runtime
from tests.discord_bot.fake_discord import say
from tests.fakes.kick_runtime import BOT_URL, runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.support.delivery import deliver_queued

LINK_START = f"{BOT_URL}/auth/kick?"
LINK_SECRET = "linking-test-secret-a-key-of-32-characters-or-more"
LINK_EMOJI = "\N{LINK SYMBOL}"
# The viewer who consents on the fake Kick (the ``viewer_kick`` fixture).
VIEWER_KICK_ID = 5001
VIEWER_KICK_NAME = "viewer_one"
LINKED_DM = f"Your Discord account is now linked to **{inert(VIEWER_KICK_NAME)}** on Kick."


def build_runtime(data_dir: str, kick: FakeKick, clock, *, kick_app: bool = True) -> Runtime:  # type: ignore[no-untyped-def]
    """A real Runtime on SQLite that talks to ``kick`` and tells time by ``clock``."""
    no_app = {} if kick_app else {"KICK_CLIENT_ID": "", "KICK_CLIENT_SECRET": ""}
    return runtime_on_fake_kick(kick, data_dir, clock, FLASK_SECRET_KEY=LINK_SECRET, **no_app)


def runtime_services(runtime: Runtime) -> BotServices:
    """Every service the bot can get, from ``runtime``."""
    return runtime.bot_services()


async def bot_may_manage_roles(guild: discord.Guild) -> None:
    """Give the bot a role with Manage Roles; roles made after it rank below it."""
    role = dpytest.backend.make_role(
        "StreamKeeper",
        guild,
        permissions=discord.Permissions(manage_roles=True, manage_messages=True).value,
    )
    await dpytest.add_role(guild.me, role)


async def linked_role_and_log(guild: discord.Guild, manager: discord.Member) -> discord.Role:
    """The admin's setup: a linked role the bot may give, and the link log in the channel."""
    await bot_may_manage_roles(guild)
    role = dpytest.backend.make_role("Linked", guild)
    assert role_problem(role) is None
    await say(f"!linkrole {role.mention}", manager)
    await say("!linklogs on", manager)
    return role


async def post_panel(manager: discord.Member) -> discord.Message:
    sent = await say("!setup_link_panel", manager)
    [panel] = [m for m in sent if m.embeds and m.embeds[0].title == "Link your Kick account"]
    return panel


def is_dm(message: discord.Message) -> bool:
    return isinstance(message.channel, discord.DMChannel)


def is_dm_to(message: discord.Message, member: discord.abc.User) -> bool:
    # dpytest's copy of the sent message's DM channel has no recipient; the member's has.
    return member.dm_channel is not None and message.channel.id == member.dm_channel.id


def split_replies(
    replies: list[discord.Message],
) -> tuple[list[discord.Message], list[discord.Message]]:
    """(messages in a server's channel, direct messages)."""
    return [m for m in replies if not is_dm(m)], [m for m in replies if is_dm(m)]


def link_in(text: str) -> str:
    [link] = [word for word in text.split() if word.startswith(LINK_START)]
    return link


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def open_link(runtime: Runtime, link: str) -> TestResponse:
    """Open the start link in the web app: its start page, or a page saying why not."""
    web = runtime.create_web_app().test_client()
    return await asyncio.to_thread(web.get, local(link))


async def sign_in(runtime: Runtime, link: str) -> TestResponse:
    """The member opens the link and presses its button, consents on the fake Kick (unless it
    was told to deny) and comes back to the callback, all in one browser; returns the page
    they see."""
    web = runtime.create_web_app().test_client()
    opened = await asyncio.to_thread(web.get, local(link))
    if opened.status_code != 200:
        return opened
    started = await asyncio.to_thread(web.post, local(link))
    if started.status_code != 303:
        return started
    async with httpx.AsyncClient(trust_env=False, verify=tls_context()) as http:
        consent = await http.get(started.headers["Location"], follow_redirects=False)
    assert consent.status_code == 302
    callback = consent.headers["location"]
    assert callback.startswith(f"{BOT_URL}/auth/kick/callback?")
    return await asyncio.to_thread(web.get, local(callback))


async def deliver_published(runtime: Runtime) -> None:
    """Hand what the web side queued on the bus to the bot's handlers, as the pipeline would."""
    await deliver_queued(runtime)
    await dpytest.run_all_events()


async def drain() -> list[discord.Message]:
    """Everything the bot sent since the last look."""
    await dpytest.run_all_events()
    sent = []
    while not dpytest.sent_queue.empty():
        sent.append(dpytest.get_message())
    return sent


async def restart(runtime: Runtime) -> tuple[commands.Bot, dpytest.RunnerConfig]:
    """A new bot process over the same database, connected to the same Discord."""
    before = dpytest.get_config()
    new_bot = create_bot(runtime_services(runtime))
    await new_bot._async_setup_hook()
    await new_bot.load_cogs()
    config = restart_discord(new_bot, before)
    runtime.discord.detach()
    runtime.discord.attach(new_bot)
    new_bot._ready.set()
    return new_bot, config


def restart_discord(new_bot: commands.Bot, before: dpytest.RunnerConfig) -> dpytest.RunnerConfig:
    """Connect a new bot process to the same Discord: the servers, their text channels, roles
    (with their positions) and members (with their roles) keep their ids. No message is in the
    new bot's cache."""
    worlds = [
        (
            guild,
            [
                (role.id, role.name, role.permissions.value, role.position)
                for role in guild.roles[1:]
            ],
            [(channel.id, channel.name) for channel in guild.text_channels],
            [
                (
                    m.id,
                    m.name,
                    m.discriminator,
                    m.id == before.client.user.id,
                    [r.id for r in m.roles[1:]],
                )
                for m in guild.members
            ],
        )
        for guild in before.guilds
    ]
    dpytest.configure(new_bot, guilds=[], text_channels=0, voice_channels=0, members=0)
    config = dpytest.get_config()
    backend = dpytest.backend
    users: dict[int, discord.abc.User] = {new_bot.user.id: backend.get_state().user}
    for old, roles, channels, members in worlds:
        guild = backend.make_guild(old.name, id_num=old.id)
        config.guilds.append(guild)
        for role_id, name, permissions, position in roles:
            backend.make_role(name, guild, id_num=role_id, permissions=permissions)
            guild.get_role(role_id).position = position  # type: ignore[union-attr]
        for channel_id, channel_name in channels:
            channel = backend.make_text_channel(channel_name, guild, id_num=channel_id)
            config.channels.append(channel)
        for member_id, member_name, discriminator, is_bot, role_ids in members:
            if is_bot:
                member_id = new_bot.user.id
            elif member_id not in users:
                users[member_id] = backend.make_user(member_name, discriminator, id_num=member_id)
            member_roles = [guild.get_role(role_id) for role_id in role_ids]
            member = backend.make_member(users[member_id], guild, roles=member_roles)
            if not is_bot:
                config.members.append(member)
    return config


async def react_to_restored_panel(member: discord.Member, panel_id: int) -> None:
    """After a restart, ``member`` reacts with the link emoji to the panel the bot posted before
    in the first text channel of their server (the restored Discord still holds that message)."""
    channel = member.guild.text_channels[0]
    bot_user = dpytest.get_config().client.user
    message = dpytest.backend.make_message("", bot_user, channel, id_num=panel_id)
    # A restarted bot has no message cache: reactions reach it only as raw events.
    channel.guild._state._messages.clear()  # type: ignore[attr-defined]
    await dpytest.add_reaction(member, message, LINK_EMOJI)
