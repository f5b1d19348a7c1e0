"""!kick setup, !kick sync and !kick status on dpytest's fake Discord, backed by a real Runtime
that talks to a fake Kick on 127.0.0.1; plus the pure text they show.

DMs are real dpytest DMs: the bot's DM to a member lands in dpytest's sent queue like any other
message, in a ``discord.DMChannel``, so a test tells channel replies from DMs by their channel.
Closed DMs are the one thing dpytest cannot do; that test makes ``Member.send`` raise the
``discord.Forbidden`` Discord answers with.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import discord
import discord.ext.test as dpytest
import httpx
import pytest

from core.discord_bot.bot import build_cogs
from core.discord_bot.connections.kick import render as render_kick
from core.discord_bot.connections.kick.cog import KickCog
from core.discord_bot.services import BotServices
from core.events import Platform
from core.features.connections.kick.setup import CHATROOM_HINT, KickSetupResult, KickStatus
from core.features.connections.kick.subscriptions import (
    NEEDS_REAUTH_PROBLEM,
    OTHER_ACCOUNT_PROBLEM,
    WANTED_EVENTS,
    SyncReport,
)
from core.features.connections.status import ConnectionStatus
from core.features.guilds.repository import TrackedChannel
from core.platforms.http import tls_context
from core.platforms.kick.pusher import PusherState
from core.runtime import Runtime
from tests.discord_bot.fake_discord import say
from tests.fakes.kick_server import CLIENT_ID, CLIENT_SECRET, FakeKick

BOT_URL = "http://bot.test"
LINK_START = f"{BOT_URL}/auth/kick/streamer?"
STREAMER_ID = 1001
NO_APP = (
    "This bot has no Kick app yet: set KICK_CLIENT_ID and KICK_CLIENT_SECRET "
    "(from kick.com/settings/developer) and restart it."
)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def fake_kick() -> Iterator[FakeKick]:
    with FakeKick(username="streamer", user_id=STREAMER_ID) as fake:
        yield fake


def kick_settings(fake: FakeKick, **extra: str) -> dict[str, str]:
    return {
        "KICK_API_BASE_URL": fake.url,
        "KICK_OAUTH_BASE_URL": fake.url,
        "KICK_SITE_BASE_URL": fake.url,
        "KICK_CLIENT_ID": CLIENT_ID,
        "KICK_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_BASE_URL": BOT_URL,
        "KICK_PUSHER_ENABLED": "false",
        **extra,
    }


@pytest.fixture
def kick_app() -> bool:
    """Whether the bot has a Kick app (KICK_CLIENT_ID/SECRET); parametrize a test to change it."""
    return True


@pytest.fixture
def runtime(make_runtime: Any, fake_kick: FakeKick, kick_app: bool) -> Runtime:
    """A real Runtime (SQLite under tmp_path, system clock) that talks to the fake Kick."""
    no_app = {} if kick_app else {"KICK_CLIENT_ID": "", "KICK_CLIENT_SECRET": ""}
    return make_runtime(**kick_settings(fake_kick, **no_app))


@pytest.fixture
def services(runtime: Runtime) -> BotServices:
    return BotServices(
        watchtime=runtime.watchtime,
        guilds=runtime.guilds,
        health=runtime.health,
        kick_setup=runtime.kick_setup,
    )


def is_dm(message: discord.Message) -> bool:
    return isinstance(message.channel, discord.DMChannel)


def is_dm_to(message: discord.Message, member: discord.Member) -> bool:
    # dpytest's copy of the sent message's DM channel has no recipient; the member's has.
    return member.dm_channel is not None and message.channel.id == member.dm_channel.id


def split_replies(
    replies: list[discord.Message],
) -> tuple[list[discord.Message], list[discord.Message]]:
    """(messages in the server's channel, direct messages)."""
    return [m for m in replies if not is_dm(m)], [m for m in replies if is_dm(m)]


def link_in(text: str) -> str:
    [link] = [word for word in text.split() if word.startswith(LINK_START)]
    return link


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def set_up(manager: discord.Member, text: str = "!kick setup streamer") -> str:
    """Run ``text``; check the channel reply and the DM; return the DM'd link."""
    in_channel, dms = split_replies(await say(text, manager))
    [reply] = in_channel
    [dm] = dms
    assert "I sent you a link by DM" in reply.content
    assert is_dm_to(dm, manager)
    link = link_in(dm.content)
    assert link not in reply.content
    return link


async def connect_streamer(runtime: Runtime, link: str) -> None:
    """The streamer opens the DM'd link, presses its button and consents on the fake Kick, in
    one browser: the real round trip."""
    web = runtime.create_web_app().test_client()
    # The callback view runs its own event loop (asyncio.run), so the Flask calls go to a thread.
    opened = await asyncio.to_thread(web.get, local(link))
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = await asyncio.to_thread(web.post, local(link))
    assert started.status_code == 303, started.get_data(as_text=True)
    async with httpx.AsyncClient(trust_env=False, verify=tls_context()) as http:
        consent = await http.get(started.headers["Location"], follow_redirects=False)
    assert consent.status_code == 302
    callback = consent.headers["location"]
    assert callback.startswith(f"{BOT_URL}/auth/kick/callback?")
    answer = await asyncio.to_thread(web.get, local(callback))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "Kick channel connected" in answer.get_data(as_text=True)


def expire_streamer_tokens(fake: FakeKick) -> None:
    """Kick forgets the streamer's access tokens; the runtime still holds one it thinks is live."""
    for value, token in list(fake.tokens.items()):
        if (token.kind, token.token_type) == ("access", "user"):
            fake.expire_token(value)


def status_line(reply: discord.Message, label: str) -> str:
    [line] = [line for line in reply.content.splitlines() if f" {label}:" in line]
    return line


# --- !kick setup ---------------------------------------------------------------------------


async def test_setup_stores_the_channel_and_dms_the_link_only(
    guild_a: discord.Guild, manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    in_channel, dms = split_replies(await say("!kick setup streamer", manager))

    [reply] = in_channel
    assert reply.content == (
        "Kick channel streamer (broadcaster id 1001) is set up. "
        "I sent you a link by DM to connect the streamer account."
    )
    [dm] = dms
    assert is_dm_to(dm, manager)
    link = link_in(dm.content)
    assert link.startswith(LINK_START)
    assert f"user={manager.id}" in link
    assert f"guild={guild_a.id}" in link
    assert "/auth/kick/streamer" not in reply.content
    channel = runtime.guilds.kick_channel_of(guild_a.id)
    assert channel is not None
    fake = fake_kick.channels["streamer"]
    assert (channel.channel_slug, channel.broadcaster_user_id) == ("streamer", "1001")
    assert (channel.channel_id, channel.chatroom_id) == (fake.channel_id, fake.chatroom_id)
    assert runtime.guilds.show(guild_a.id).guild_id == guild_a.id


@pytest.mark.parametrize("typed", ["@Streamer", "https://kick.com/streamer", "kick.com/STREAMER/"])
async def test_setup_takes_a_name_an_at_name_or_a_kick_url(
    typed: str, guild_a: discord.Guild, manager: discord.Member, runtime: Runtime
) -> None:
    await set_up(manager, f"!kick setup {typed}")

    channel = runtime.guilds.kick_channel_of(guild_a.id)
    assert channel is not None
    assert channel.channel_slug == "streamer"


async def test_setup_of_an_unknown_channel_is_friendly(
    guild_a: discord.Guild, manager: discord.Member, runtime: Runtime
) -> None:
    replies = await say("!kick setup nosuchchannel", manager)

    [reply] = replies
    assert reply.content == (
        "Kick has no channel called 'nosuchchannel'. Check the name in its URL."
    )
    assert runtime.guilds.kick_channel_of(guild_a.id) is None


@pytest.mark.parametrize("typed", ["_" * 990, "a" * 26, "https://kick.com/" + "b" * 40, "str@mer"])
async def test_setup_of_what_cannot_be_a_kick_name_says_what_one_is(
    typed: str, guild_a: discord.Guild, manager: discord.Member, runtime: Runtime
) -> None:
    [reply] = await say(f"!kick setup {typed}", manager)

    assert reply.content == (
        "A Kick channel is the name in its kick.com link: letters, digits, - and \\_, at most "
        "25 (e.g. !kick setup streamer)."
    )
    assert runtime.guilds.kick_channel_of(guild_a.id) is None


async def test_setup_when_kick_does_not_answer_says_to_try_again(
    guild_a: discord.Guild, manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    fake_kick.fail_next("/public/v1/channels", 503, times=10, retry_after=0)

    [reply] = await say("!kick setup streamer", manager)

    assert reply.content.startswith("Kick did not answer the channel lookup")
    assert reply.content.endswith("Try again soon.")
    assert runtime.guilds.kick_channel_of(guild_a.id) is None


async def test_setup_without_a_name_shows_how(manager: discord.Member) -> None:
    [reply] = await say("!kick setup @", manager)

    assert reply.content == (
        "That doesn't look like a Kick channel. Give its name, @name or kick.com link: "
        "!kick setup <channel> [chatroom id]"
    )


async def test_setup_with_a_chatroom_id_kick_cannot_confirm_refuses_it(
    guild_a: discord.Guild, manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    fake_kick.site_blocked = True

    [reply] = await say("!kick setup streamer 31047538", manager)

    assert reply.content.startswith(
        "Kick's site did not answer, so I cannot check the chatroom id 31047538 of streamer."
    )
    assert runtime.guilds.kick_channel_of(guild_a.id) is None


async def test_setup_without_the_chatroom_id_explains_how_to_add_it(
    manager: discord.Member, fake_kick: FakeKick
) -> None:
    fake_kick.site_blocked = True

    in_channel, dms = split_replies(await say("!kick setup streamer", manager))

    [reply] = in_channel
    assert len(dms) == 1
    first, hint = reply.content.splitlines()
    assert first.endswith("I sent you a link by DM to connect the streamer account.")
    assert "Pusher needs it (webhooks work without it)" in hint
    assert CHATROOM_HINT.replace("<channel>", "streamer") in hint


@pytest.mark.parametrize("chatroom", ["0", "-4", "lots", "123 456", "9" * 19, "9" * 1990])
async def test_setup_with_a_bad_chatroom_id_shows_the_usage(
    chatroom: str, guild_a: discord.Guild, manager: discord.Member, runtime: Runtime
) -> None:
    [reply] = await say(f"!kick setup streamer {chatroom}", manager)

    assert reply.content == ("That doesn't look right. Usage: !kick setup <channel> [chatroom_id]")
    assert runtime.guilds.kick_channel_of(guild_a.id) is None


async def test_setup_with_closed_dms_says_so_and_never_posts_the_link(
    guild_a: discord.Guild,
    manager: discord.Member,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def dms_closed(self: discord.Member, *args: object, **kwargs: object) -> None:
        response = dpytest.backend.FakeRequest(403, "Forbidden")
        raise discord.Forbidden(response, "Cannot send messages to this user")

    monkeypatch.setattr(discord.Member, "send", dms_closed)

    [reply] = await say("!kick setup streamer", manager)

    assert reply.content == (
        "Kick channel streamer (broadcaster id 1001) is set up, but I couldn't DM you the link "
        "to connect the streamer account: your direct messages are closed to me. Use the slash "
        "command /kick setup instead; it shows the link to you alone."
    )
    assert "http" not in reply.content
    assert runtime.guilds.kick_channel_of(guild_a.id) is not None


@pytest.mark.parametrize("kick_app", [False])
async def test_setup_without_a_kick_app_gives_the_setup_failed_message(
    guild_a: discord.Guild, manager: discord.Member, runtime: Runtime
) -> None:
    [reply] = await say("!kick setup streamer", manager)

    assert reply.content == discord.utils.escape_markdown(NO_APP)
    assert runtime.guilds.kick_channel_of(guild_a.id) is None

    [status] = await say("!kick status", manager)
    assert status_line(status, "Kick app").startswith("\N{CROSS MARK} Kick app: not configured")


@pytest.mark.parametrize(
    "text", ["!kick setup streamer", "!kick sync", "!kick status", "!check_kick_config", "!kick"]
)
async def test_every_kick_command_needs_manage_server(
    text: str, guild_a: discord.Guild, alice: discord.Member, runtime: Runtime
) -> None:
    [reply] = await say(text, alice)

    command = text.split(" streamer")[0]
    assert reply.content == f"You need the Manage Server permission to use {command}."
    assert runtime.guilds.kick_channel_of(guild_a.id) is None


@pytest.mark.parametrize("text", ["!kick", "!kick nonsense"])
async def test_kick_alone_shows_the_usage(text: str, manager: discord.Member) -> None:
    [reply] = await say(text, manager)

    assert reply.content == (
        "Usage: !kick setup <channel> [chatroom id] | !kick sync | !kick status"
    )


async def test_setup_without_a_channel_names_what_is_missing(manager: discord.Member) -> None:
    [reply] = await say("!kick setup", manager)

    assert reply.content == "Missing channel. Usage: !kick setup <channel> [chatroom_id]"


@pytest.mark.parametrize("text", ["!kick setup streamer", "!kick status", "!check_kick_config"])
async def test_kick_commands_in_direct_messages_are_refused(
    text: str, manager: discord.Member
) -> None:
    dm = await manager.create_dm()

    [reply] = await say(text, manager, channel=dm)

    assert reply.content == "This command only works in a server, not in direct messages."


# --- the slash path ------------------------------------------------------------------------


class FakeSlashContext:
    """Just enough of a Context for ``/kick setup``: dpytest cannot send interactions."""

    def __init__(self, guild: discord.Guild, *, author_id: int) -> None:
        self.guild = guild
        self.interaction = object()
        self.clean_prefix = "/"
        self.author = SimpleNamespace(id=author_id, send=self._dm)
        self.deferred: list[dict[str, Any]] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.dms: list[str] = []

    async def defer(self, **kwargs: Any) -> None:
        self.deferred.append(kwargs)

    async def send(self, content: str, **kwargs: Any) -> None:
        kwargs.pop("allowed_mentions", None)
        self.sent.append((content, kwargs))

    async def _dm(self, content: str, **kwargs: Any) -> None:
        self.dms.append(content)


async def test_slash_setup_answers_ephemerally_with_the_link_and_sends_no_dm(
    guild_a: discord.Guild, runtime: Runtime
) -> None:
    cog = KickCog(runtime.kick_setup)
    ctx = FakeSlashContext(guild_a, author_id=4242)

    await cog.kick_setup.callback(cog, ctx, "streamer")  # type: ignore[arg-type]

    assert ctx.deferred == [{"ephemeral": True}]
    [(content, options)] = ctx.sent
    assert options["ephemeral"] is True
    link = link_in(content)
    assert "user=4242" in link
    [button] = options["view"].children
    assert (button.url, button.style) == (link, discord.ButtonStyle.link)
    assert ctx.dms == []
    assert runtime.guilds.kick_channel_of(guild_a.id) is not None


# --- !kick status and !kick sync through a real connection ---------------------------------


async def test_status_before_anything_is_set_up(manager: discord.Member) -> None:
    [reply] = await say("!kick status", manager)

    assert reply.content.splitlines()[:5] == [
        "**Kick connection**",
        "\N{WHITE HEAVY CHECK MARK} Kick app: configured",
        "\N{CROSS MARK} Channel: not set up: run !kick setup <channel>",
        "\N{CROSS MARK} Chatroom id (needed for Pusher): set up the channel first",
        "\N{CROSS MARK} Streamer account: not connected: run !kick setup <channel> and open the "
        "link I send you",
    ]


async def test_status_before_the_streamer_connects_says_not_connected(
    manager: discord.Member, fake_kick: FakeKick
) -> None:
    await set_up(manager)

    [reply] = await say("!kick status", manager)

    chatroom = fake_kick.channels["streamer"].chatroom_id
    assert status_line(reply, "Channel").endswith("Channel: streamer (broadcaster id 1001)")
    assert status_line(reply, "Chatroom id (needed for Pusher)").endswith(f": {chatroom}")
    assert "not connected" in status_line(reply, "Streamer account")
    subscriptions = status_line(reply, "Webhook subscriptions")
    assert "0/10 live" in subscriptions
    for name in WANTED_EVENTS:
        assert discord.utils.escape_markdown(name) in subscriptions
    assert subscriptions.endswith("connect the streamer account first")
    assert "no events yet" in status_line(reply, "Last events")


async def test_connected_streamer_sync_subscribes_everything_and_status_shows_it(
    manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    await connect_streamer(runtime, await set_up(manager))

    [before] = await say("!kick status", manager)
    assert "run !kick sync" in status_line(before, "Webhook subscriptions")

    [synced] = await say("!kick sync", manager)

    assert synced.content == (
        "\N{WHITE HEAVY CHECK MARK} Webhook subscriptions: 10 created, 0 kept, 0 failed "
        "(10/10 live)."
    )
    assert len(fake_kick.subscriptions) == 10
    assert {s["broadcaster_user_id"] for s in fake_kick.subscriptions.values()} == {STREAMER_ID}

    [again] = await say("!kick sync", manager)
    assert "0 created, 10 kept, 0 failed" in again.content
    assert len(fake_kick.subscriptions) == 10

    [status] = await say("!check_kick_config", manager)
    assert status_line(status, "Webhook subscriptions") == (
        "\N{WHITE HEAVY CHECK MARK} Webhook subscriptions: 10/10 live"
    )
    connection = status_line(status, "Streamer account")
    assert connection.startswith(
        "\N{WHITE HEAVY CHECK MARK} Streamer account: connected as streamer, token expires <t:"
    )
    assert status_line(status, "Pusher") == (
        "\N{WHITE HEAVY CHECK MARK} Pusher: off (webhooks carry the events)"
    )
    [kick_status] = await say("!kick status", manager)
    assert kick_status.content == status.content


async def test_a_revoked_connection_needs_reauthorization(
    manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    await connect_streamer(runtime, await set_up(manager))
    await say("!kick sync", manager)
    fake_kick.revoke_refresh_tokens()
    expire_streamer_tokens(fake_kick)

    [synced] = await say("!kick sync", manager)

    assert synced.content == (
        "\N{CROSS MARK} The Kick connection needs re-authorization: Kick no longer accepts the "
        "streamer's sign-in. Run !kick setup <channel> again and open the new link."
    )
    [status] = await say("!kick status", manager)
    assert status_line(status, "Streamer account") == (
        "\N{CROSS MARK} Streamer account: needs re-authorization: run !kick setup streamer "
        "again and open the new link"
    )


async def test_setup_of_another_channel_disconnects_the_old_streamer_and_says_what_to_do(
    manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    """!kick setup other, after streamer was connected and subscribed: streamer's grant is
    given back and forgotten, so nothing subscribes streamer's channel again (it used to get
    ten subscriptions every round while other got none and status said "connected")."""
    await connect_streamer(runtime, await set_up(manager))
    await say("!kick sync", manager)
    fake_kick.add_channel("other", 2002)

    in_channel, dms = split_replies(await say("!kick setup other", manager))

    [reply] = in_channel
    assert reply.content == (
        "Kick channel other (broadcaster id 2002) is set up. I sent you a link by DM to connect "
        "the streamer account.\n"
        "\N{WARNING SIGN}\N{VARIATION SELECTOR-16} I disconnected the Kick account streamer, "
        "connected for the channel before. The streamer's tokens were given back to Kick and "
        "forgotten. No events come from other until its owner opens the link and signs in to "
        "Kick as other."
    )
    streamers = [t for t in fake_kick.tokens.values() if t.user_id == STREAMER_ID]
    assert {t.kind for t in streamers} == {"access", "refresh"}
    assert all(t.revoked for t in streamers)
    [status] = await say("!kick status", manager)
    assert status_line(status, "Streamer account") == (
        "\N{CROSS MARK} Streamer account: not connected: run !kick setup other and open the link "
        "I send you"
    )
    assert status_line(status, "Webhook subscriptions").endswith(
        "connect the streamer account first"
    )

    [synced] = await say("!kick sync", manager)

    assert synced.content == (
        "\N{CROSS MARK} The streamer account is not connected yet: run !kick setup <channel> "
        "and open the link I send you."
    )
    assert fake_kick.subscriptions == {}  # streamer's, which no server follows, are removed
    fake_kick.consenting_user_id = 2002
    [dm] = dms
    await connect_streamer(runtime, link_in(dm.content))
    [synced] = await say("!kick sync", manager)
    assert "10 created, 0 kept, 0 failed" in synced.content
    assert {s["broadcaster_user_id"] for s in fake_kick.subscriptions.values()} == {2002}


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        ({"error": True}, "Kick refused it"),
        ({"error": 1}, "Kick refused it"),
        ({"error": True, "message": "event not allowed for app"}, "event not allowed for app"),
        ({"error": {"message": "slow down"}}, "slow down"),
        ({"error": "invalid event name or version"}, "invalid event name or version"),
    ],
)
async def test_sync_says_in_plain_words_why_kick_refused_each_event(
    refusal: dict[str, Any],
    said: str,
    manager: discord.Member,
    runtime: Runtime,
    fake_kick: FakeKick,
) -> None:
    """Kick's ``error`` is its words when it is text; ``true`` (or a number) is no reason to
    show a streamer: the result's ``message`` then, else "Kick refused it"."""
    await connect_streamer(runtime, await set_up(manager))
    fake_kick.subscription_refusal = refusal

    [reply] = await say("!kick sync", manager)

    lines = reply.content.splitlines()
    assert "0 created, 0 kept, 10 failed (0/10 live)" in lines[0]
    failed = [line for line in lines if line.startswith("- ")]
    assert len(failed) == 10
    assert all(line.endswith(f": {said}") for line in failed), failed


async def test_sync_before_the_streamer_connects_says_what_to_do(manager: discord.Member) -> None:
    await set_up(manager)

    [reply] = await say("!kick sync", manager)

    assert reply.content == (
        "\N{CROSS MARK} The streamer account is not connected yet: run !kick setup <channel> "
        "and open the link I send you."
    )


async def test_sync_when_kick_fails_says_so(
    manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    await connect_streamer(runtime, await set_up(manager))
    fake_kick.fail_next("/public/v1/events/subscriptions", 500, times=20, retry_after=0)

    [reply] = await say("!kick sync", manager)

    assert reply.content.startswith(
        "\N{CROSS MARK} Couldn't sync the webhook subscriptions: Kick answered 500"
    )
    assert fake_kick.subscriptions == {}


async def test_sync_when_kick_cannot_refresh_the_token_says_its_sign_in_did_not_answer(
    manager: discord.Member, runtime: Runtime, fake_kick: FakeKick
) -> None:
    await connect_streamer(runtime, await set_up(manager))
    expire_streamer_tokens(fake_kick)
    fake_kick.fail_next("/oauth/token", 500, times=20)

    [reply] = await say("!kick sync", manager)

    assert reply.content == (
        "\N{CROSS MARK} Couldn't sync the webhook subscriptions: Kick's sign-in service did not "
        "answer when the streamer's token was renewed (500); the bot tries again by itself"
    )
    [status] = await say("!kick status", manager)
    assert "connected as streamer" in status_line(status, "Streamer account")


async def test_help_lists_the_kick_commands_for_managers_only(
    alice: discord.Member, manager: discord.Member
) -> None:
    [for_member] = await say("!help", alice)
    [for_manager] = await say("!help", manager)

    assert "kick" not in for_member.content
    assert "check_kick_config" in for_manager.content
    assert "kick" in for_manager.content


def test_the_kick_cog_loads_only_with_kick_setup(services: BotServices) -> None:
    assert any(isinstance(cog, KickCog) for cog in build_cogs(services))
    without = dataclasses.replace(services, kick_setup=None)
    assert not any(isinstance(cog, KickCog) for cog in build_cogs(without))


async def test_slash_commands_of_the_kick_cog_need_manage_server(bot: Any) -> None:
    commands = {command.name: command for command in bot.tree.get_commands()}

    for name in ("kick", "check_kick_config"):
        payload = commands[name].to_dict(bot.tree)
        permissions = int(payload["default_member_permissions"])
        assert permissions == discord.Permissions(manage_guild=True).value
        assert payload["dm_permission"] is False
    subcommands = {
        option["name"]: option for option in commands["kick"].to_dict(bot.tree)["options"]
    }
    assert set(subcommands) == {"setup", "sync", "status"}
    setup_options = {o["name"]: o for o in subcommands["setup"]["options"]}
    assert setup_options["channel"]["required"] is True
    assert setup_options["chatroom_id"]["required"] is False
    assert setup_options["chatroom_id"]["type"] == discord.AppCommandOptionType.integer.value


# --- the text, without Discord -------------------------------------------------------------


T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
CHANNEL = TrackedChannel(7, Platform.KICK, "some_streamer", "1001", 51001, 91001)
CONNECTED = ConnectionStatus(
    7, True, False, "**boss**@everyone", "1001", T0 + timedelta(minutes=40), ()
)
NOT_CONNECTED = ConnectionStatus(7, False, False, None, None, None, ())


def kick_status(**changes: Any) -> KickStatus:
    values: dict[str, Any] = {
        "channel": CHANNEL,
        "connection": CONNECTED,
        "subscribed": WANTED_EVENTS,
        "missing": (),
        "pusher": None,
        "last_events": {},
        "client_configured": True,
    }
    return KickStatus(**{**values, **changes})


def lines_of(status: KickStatus) -> list[str]:
    return render_kick.kick_status(status, "!").splitlines()


def test_status_escapes_kick_names_and_shows_times_as_discord_timestamps() -> None:
    lines = lines_of(kick_status())

    assert lines[2] == "\N{WHITE HEAVY CHECK MARK} Channel: some\\_streamer (broadcaster id 1001)"
    expires = int((T0 + timedelta(minutes=40)).timestamp())
    assert lines[4] == (
        "\N{WHITE HEAVY CHECK MARK} Streamer account: connected as \\*\\*boss\\*\\*@\u200beveryone"
        f", token expires <t:{expires}:R> (renewed automatically)"
    )


def test_status_without_a_kick_app_names_the_settings() -> None:
    [line] = [line for line in lines_of(kick_status(client_configured=False)) if "Kick app" in line]

    assert line == (
        "\N{CROSS MARK} Kick app: not configured: set KICK_CLIENT_ID and KICK_CLIENT_SECRET "
        "(from kick.com/settings/developer) and restart the bot"
    )


def test_status_without_a_chatroom_id_gives_the_hint() -> None:
    channel = dataclasses.replace(CHANNEL, chatroom_id=None)
    lines = lines_of(kick_status(channel=channel, missing=WANTED_EVENTS[:2]))

    assert lines[3].startswith("\N{WARNING SIGN}\N{VARIATION SELECTOR-16} Chatroom id")
    assert "run !kick setup some_streamer again once Kick's site answers me" in lines[3]
    assert (
        lines[6]
        == "\N{WARNING SIGN}\N{VARIATION SELECTOR-16} Pusher: off: it needs the chatroom id"
    )


def test_status_names_missing_subscriptions_and_how_to_fix_them() -> None:
    missing = ("channel.followed", "kicks.gifted")
    line = lines_of(kick_status(missing=missing))[5]

    assert line == (
        "\N{WARNING SIGN}\N{VARIATION SELECTOR-16} Webhook subscriptions: 8/10 live; missing "
        "channel.followed, kicks.gifted: run !kick sync"
    )


def test_status_with_a_connection_to_another_account_warns() -> None:
    other = dataclasses.replace(CONNECTED, broadcaster_user_id="999", username="someone")

    line = lines_of(kick_status(connection=other))[4]

    assert line.startswith("\N{WARNING SIGN}\N{VARIATION SELECTOR-16} Streamer account: connected")
    assert "sign in to Kick as some\\_streamer" in line


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (PusherState("connected"), "\N{WHITE HEAVY CHECK MARK} Pusher: connected"),
        (
            PusherState("backing_off", reconnects=3, last_error="closed 4201 **x**"),
            "\N{WARNING SIGN}\N{VARIATION SELECTOR-16} Pusher: backing off before reconnecting "
            "(last error: closed 4201 \\*\\*x\\*\\*), 3 reconnects",
        ),
        (
            PusherState("refused", last_error="app key refused"),
            "\N{CROSS MARK} Pusher: refused: app key refused; tried again after a wait "
            "(5 minutes, growing to an hour); restart the bot to try at once after fixing it",
        ),
    ],
)
def test_status_shows_the_pusher_state(state: PusherState, expected: str) -> None:
    assert lines_of(kick_status(pusher=state))[6] == expected


def test_status_lists_the_last_event_of_each_kind_newest_first() -> None:
    last = {"chat_message_sent": T0, "followed": T0 + timedelta(minutes=5)}

    lines = lines_of(kick_status(last_events=last))

    assert lines[7:] == [
        "\N{WHITE HEAVY CHECK MARK} Last events (since the bot started):",
        f"- followed: <t:{int((T0 + timedelta(minutes=5)).timestamp())}:R>",
        f"- chat message sent: <t:{int(T0.timestamp())}:R>",
    ]


def test_sync_report_lists_failures_and_counts() -> None:
    report = SyncReport(7, "1001", kept=["a"], created=["b"], failed={"kicks.gifted": "nope *x*"})

    lines = render_kick.sync_report(report, "!").splitlines()

    assert lines[0] == (
        "\N{WARNING SIGN}\N{VARIATION SELECTOR-16} Webhook subscriptions: 1 created, 1 kept, "
        "1 failed (2/10 live)."
    )
    assert lines[1] == "- kicks.gifted: nope \\*x\\*"


def test_sync_report_of_a_revoked_connection_asks_for_setup_again() -> None:
    report = SyncReport(7, "1001", problem=NEEDS_REAUTH_PROBLEM)

    assert "needs re-authorization" in render_kick.sync_report(report, "/")
    assert "/kick setup <channel>" in render_kick.sync_report(report, "/")


def test_sync_report_of_another_account_than_the_channels_asks_for_its_owner() -> None:
    report = SyncReport(7, "1001", problem=OTHER_ACCOUNT_PROBLEM)

    assert render_kick.sync_report(report, "!") == (
        "\N{CROSS MARK} The connected Kick account does not own this server's channel, so I "
        "subscribed nothing: run !kick setup <channel> again and have the channel's owner open "
        "the new link."
    )


def setup_result(*, chatroom_found: bool = True) -> KickSetupResult:
    link = f"{LINK_START}guild=7&user=42&expires={int(T0.timestamp())}&sig=abc"
    return KickSetupResult(CHANNEL, link, chatroom_found=chatroom_found)


def test_the_channel_reply_never_holds_the_link() -> None:
    result = setup_result(chatroom_found=False)

    for text in (render_kick.setup_done(result), render_kick.setup_done_dms_closed(result)):
        assert result.connect_link not in text
        assert "/auth/" not in text


async def test_the_dm_holds_the_link_its_expiry_and_an_escaped_server_name() -> None:
    result = setup_result()

    text = render_kick.connect_link_dm(result, "**Guild** @everyone")

    assert text.endswith(f"\n{result.connect_link}")
    assert f"<t:{int(T0.timestamp())}:R>" in text
    assert "\\*\\*Guild\\*\\* @\u200beveryone" in text
    [button] = render_kick.connect_link_view(result.connect_link).children
    assert isinstance(button, discord.ui.Button)
    assert (button.url, button.label) == (result.connect_link, "Connect the Kick account")


def test_setup_failed_messages_repeat_typed_text_inertly() -> None:
    assert render_kick.setup_failed("Kick has no channel called '@everyone'.") == (
        "Kick has no channel called '@\u200beveryone'."
    )
