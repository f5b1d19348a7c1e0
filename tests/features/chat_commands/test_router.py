"""The chat command router on normalized messages from Kick's example payloads."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import secrets
import threading

import pytest
import redis

from core.events import ChatMessageSent, Platform
from core.features.chat_commands.router import (
    ChatCommand,
    ChatCommandRouter,
    ChatInvocation,
    ParsedCommand,
    Permission,
    parse_command,
    permission_of,
)
from core.platforms.twitch.notifications import parse_notification
from core.ratelimits import RedisWindows
from tests.conftest import FIXTURES
from tests.features.chat_commands.doubles import (
    BROADCASTER,
    T0,
    RecordingSender,
    pusher_chat,
    replier_for,
    webhook_chat,
)
from tests.support.clock import Ticker
from tests.support.waiting import eventually

GUILD = 111
OTHER_GUILD = 222


class Recorder:
    """A handler that records its invocations and answers with a fixed reply."""

    def __init__(self, reply: str | None = "ok") -> None:
        self.calls: list[ChatInvocation] = []
        self.reply = reply

    async def __call__(self, invocation: ChatInvocation) -> str | None:
        self.calls.append(invocation)
        return self.reply


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def clock() -> Ticker:
    return Ticker(1000.0)


def make_router(sender: RecordingSender, clock: Ticker, *commands: ChatCommand, **options):
    return ChatCommandRouter(commands, replier_for(sender), clock=clock, **options)


@pytest.mark.parametrize(
    ("content", "parsed"),
    [
        ("!call Book of Dead", ParsedCommand("call", "Book of Dead")),
        ("   !CALL    Book  ", ParsedCommand("call", "Book")),
        ("!Sr\tGates of Olympus", ParsedCommand("sr", "Gates of Olympus")),
        ("!watchtime", ParsedCommand("watchtime", "")),
        ("! call Book", None),
        ("!", None),
        ("hello !call Book", None),
        ("call Book", None),
        ("", None),
        ("/call Book", None),
    ],
)
def test_parsing_finds_the_name_after_the_bang_in_any_case(content, parsed) -> None:
    assert parse_command(content) == parsed


@pytest.mark.parametrize(
    ("content", "parsed"),
    [
        ("!points \U000e0000", ParsedCommand("points", "")),  # Chatterino's / 7TV's repeat mark
        ("!join 100 \U000e0000", ParsedCommand("join", "100")),
        ("!call Book\u200b of Dead\ufe0f", ParsedCommand("call", "Book of Dead")),
        ("\u200b!wa\u2060tchtime", ParsedCommand("watchtime", "")),
        ("\uff01Points", ParsedCommand("points", "")),  # a full-width "!" is folded
        ("!\U000e0000", None),
        ("\U000e0000 hello", None),
    ],
)
def test_invisible_characters_are_neither_the_name_nor_an_argument(content, parsed) -> None:
    assert parse_command(content) == parsed


@pytest.mark.parametrize(
    ("content", "parsed"),
    [
        ("!join 500 high [emote:37226:KEKW]", ParsedCommand("join", "500 high")),
        ("!join [emote:37226:KEKW] all", ParsedCommand("join", "all")),
        ("!points[emote:4148074:HYPERCLAP]", ParsedCommand("points", "")),
        ("!call Book of Dead [emote:1:x][emote:2:y]", ParsedCommand("call", "Book of Dead")),
        ("![emote:37226:KEKW]", None),
        ("[emote:37226:KEKW] !call Book", None),  # as "hello !call Book": not a command
    ],
)
def test_kick_emotes_are_neither_the_name_nor_an_argument(content, parsed) -> None:
    # Kick writes an emote as [emote:<id>:<name>]; "!join 500 high" and an emote is a join.
    assert parse_command(content) == parsed


async def test_a_command_from_a_kick_webhook_is_answered_as_a_reply_to_the_sender(sender, clock):
    handler = Recorder("hello there")
    router = make_router(sender, clock, ChatCommand("hello", handler))
    event = webhook_chat("!Hello world", message_id="unique_message_id_123")

    await router.handle(GUILD, event)
    await router.flush()

    [invocation] = handler.calls
    assert (invocation.guild_id, invocation.command, invocation.arguments) == (
        GUILD,
        "hello",
        "world",
    )
    assert invocation.viewer.platform_user_id == "987654321"
    [line] = sender.sent
    assert (line.guild_id, line.broadcaster_user_id, line.text, line.reply_to_message_id) == (
        GUILD,
        BROADCASTER,
        "hello there",
        "unique_message_id_123",
    )


async def test_aliases_in_any_case_reach_the_same_command(sender, clock):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("call", handler, aliases=("sr",)))

    for content in ["!call a", "!SR b", "!sR c", "!Call d"]:
        await router.handle(GUILD, webhook_chat(content))
    await router.flush()

    assert [(c.command, c.arguments) for c in handler.calls] == [
        ("call", "a"),
        ("call", "b"),
        ("call", "c"),
        ("call", "d"),
    ]


async def test_chat_that_is_not_a_known_command_runs_nothing_and_says_nothing(sender, clock):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("call", handler))

    for content in ["hello", "!callx Book", "!unknown", "say !call Book", "!", "! call Book"]:
        await router.handle(GUILD, webhook_chat(content))
    await router.flush()

    assert handler.calls == []
    assert sender.sent == []


@pytest.mark.parametrize(
    ("badges", "level"),
    [
        ([], Permission.EVERYONE),
        (["sub_gifter", "og", "verified"], Permission.EVERYONE),
        (["subscriber"], Permission.SUBSCRIBER),
        (["founder"], Permission.SUBSCRIBER),
        (["vip", "subscriber"], Permission.VIP),
        (["Moderator", "sub_gifter", "subscriber"], Permission.MODERATOR),
        (["broadcaster"], Permission.BROADCASTER),
    ],
)
def test_badges_give_permission_levels(badges, level) -> None:
    assert permission_of(webhook_chat("!x", badges=badges)) == level


def test_the_fixtures_badges_read_as_moderator_and_vip() -> None:
    assert permission_of(webhook_chat("!x")) == Permission.MODERATOR  # Kick's webhook example
    assert permission_of(pusher_chat("!x")) == Permission.VIP  # Kick's Pusher example


def test_the_channel_owner_is_the_broadcaster_even_without_a_badge() -> None:
    event = webhook_chat("!x", sender_id=int(BROADCASTER), badges=[])
    assert permission_of(event) == Permission.BROADCASTER


@pytest.mark.parametrize(
    ("needed", "badges", "runs"),
    [
        (Permission.EVERYONE, [], True),
        (Permission.SUBSCRIBER, [], False),
        (Permission.SUBSCRIBER, ["subscriber"], True),
        (Permission.VIP, ["subscriber"], False),
        (Permission.VIP, ["vip"], True),
        (Permission.MODERATOR, ["vip", "subscriber"], False),
        (Permission.MODERATOR, ["moderator"], True),
        (Permission.BROADCASTER, ["moderator"], False),
        (Permission.BROADCASTER, ["broadcaster"], True),
    ],
)
async def test_a_command_runs_only_for_the_level_it_needs(sender, clock, needed, badges, runs):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("mod", handler, permission=needed))

    await router.handle(GUILD, webhook_chat("!mod", badges=badges))
    await router.flush()

    assert bool(handler.calls) is runs
    assert len(sender.sent) == (1 if runs else 0)  # a refusal is silent


async def test_a_viewer_waits_out_their_own_cooldown(sender, clock):
    handler = Recorder()
    command = ChatCommand("wt", handler, user_cooldown_seconds=15)
    router = make_router(sender, clock, command)

    await router.handle(GUILD, webhook_chat("!wt", badges=[]))
    await router.handle(GUILD, webhook_chat("!wt", badges=[]))  # same viewer, at once
    await router.handle(GUILD, webhook_chat("!wt", badges=[], sender_id=5, username="other"))
    clock.advance(14.9)
    await router.handle(GUILD, webhook_chat("!wt", badges=[]))
    clock.advance(0.1)
    await router.handle(GUILD, webhook_chat("!wt", badges=[]))
    await router.flush()

    assert [c.viewer.username for c in handler.calls] == ["sender_name", "other", "sender_name"]


async def test_a_shared_cooldown_holds_everyone_in_that_guild_only(sender, clock):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("link", handler, cooldown_seconds=5))

    await router.handle(GUILD, webhook_chat("!link", badges=[]))
    await router.handle(
        GUILD, webhook_chat("!link", badges=[], sender_id=5, username="other")
    )  # held
    await router.handle(OTHER_GUILD, webhook_chat("!link", badges=[], sender_id=5))
    clock.advance(5)
    await router.handle(GUILD, webhook_chat("!link", badges=[], sender_id=5, username="other"))
    await router.flush()

    assert sorted((c.guild_id, c.viewer.username) for c in handler.calls) == [
        (GUILD, "other"),
        (GUILD, "sender_name"),
        (OTHER_GUILD, "sender_name"),
    ]


async def test_a_shared_cooldown_on_kick_does_not_silence_the_command_on_twitch(sender, clock):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("link", handler, cooldown_seconds=60))
    on_kick = webhook_chat("!link", badges=[])
    on_twitch = dataclasses.replace(
        webhook_chat("!link", badges=[], sender_id=5, username="other"), platform=Platform.TWITCH
    )

    await router.handle(GUILD, on_kick)
    await router.handle(GUILD, on_twitch)
    await router.handle(GUILD, webhook_chat("!link", badges=[], sender_id=6, username="third"))
    await router.flush()

    assert [(c.platform, c.viewer.username) for c in handler.calls] == [
        (Platform.KICK, "sender_name"),
        (Platform.TWITCH, "other"),
    ]


async def test_a_chat_cooling_down_does_not_start_the_viewers_own_cooldown(sender, clock):
    handler = Recorder()
    command = ChatCommand("link", handler, cooldown_seconds=5, user_cooldown_seconds=30)
    router = make_router(sender, clock, command)

    await router.handle(GUILD, webhook_chat("!link", badges=[]))
    await router.handle(GUILD, webhook_chat("!link", badges=[], sender_id=5, username="other"))
    clock.advance(5)  # the chat's cooldown is over; "other" was never answered
    await router.handle(GUILD, webhook_chat("!link", badges=[], sender_id=5, username="other"))
    await router.flush()

    assert [c.viewer.username for c in handler.calls] == ["sender_name", "other"]


async def test_cooldowns_and_answers_hold_across_bot_processes(sender, redis_url):
    """With Redis, each message goes to whichever process reads it first: the viewer's
    second !wt on process B is still cooling down from process A, and a message A answered
    and B is handed again (A's consumer died before acknowledging it) is not answered twice."""
    handler = Recorder()
    command = ChatCommand("wt", handler, user_cooldown_seconds=15)
    clients = [redis.Redis.from_url(redis_url, socket_timeout=5) for _ in range(2)]
    a, b = (
        ChatCommandRouter([command], replier_for(sender), windows=RedisWindows(client))
        for client in clients
    )
    guild = GUILD * 1000 + secrets.randbelow(10**6)  # this test's own keys on the shared Redis
    first = webhook_chat("!wt", badges=[])

    await a.handle(guild, first)
    await b.handle(guild, first)  # redelivered to another process
    await b.handle(guild, webhook_chat("!wt", badges=[]))  # typed again, read by B
    await b.handle(guild, webhook_chat("!wt", badges=[], sender_id=5, username="other"))
    await a.flush()
    await b.flush()
    for client in clients:
        client.close()

    assert [c.viewer.username for c in handler.calls] == ["sender_name", "other"]


class DiesWhileKeeping:
    """Process A's pending store: A is stopped (or killed) while its row is being written."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def keep(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.entered.set()
        self.release.wait(60)
        raise RuntimeError("the process died here")


class Keeps:
    """Process B's pending store: the message was never kept, so B keeps it."""

    def keep(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return 1

    def done(self, ids) -> None:  # type: ignore[no-untyped-def]
        pass


async def test_a_message_redelivered_after_its_first_process_died_mid_accept_is_answered(
    sender, redis_url
):
    """With Redis the "answered" mark is shared. Process A dies while keeping the command
    (before the bus heard the message was handled, and with no row left to take over): the
    bus hands the message to B, which answers it, as nobody else ever will."""
    handler = Recorder("You have watched 1 h.")
    command = ChatCommand("wt", handler, user_cooldown_seconds=15)
    clients = [redis.Redis.from_url(redis_url, socket_timeout=5) for _ in range(2)]
    guild = GUILD * 1000 + secrets.randbelow(10**6)  # this test's own keys on the shared Redis
    dying = DiesWhileKeeping()
    a = ChatCommandRouter(
        [command], replier_for(sender), windows=RedisWindows(clients[0]), pending=dying
    )
    b = ChatCommandRouter(
        [command], replier_for(sender), windows=RedisWindows(clients[1]), pending=Keeps()
    )
    message = webhook_chat("!wt", badges=[])
    try:
        accepting = asyncio.ensure_future(a.handle(guild, message))
        assert await asyncio.to_thread(dying.entered.wait, 60)
        accepting.cancel()  # A stops or dies inside keep()
        with pytest.raises(asyncio.CancelledError):
            await accepting

        await b.handle(guild, message)  # the bus delivers it again, to B
        await b.flush()
    finally:
        dying.release.set()
        for client in clients:
            client.close()

    assert [c.viewer.username for c in handler.calls] == ["sender_name"]
    assert sender.texts == ["You have watched 1 h."]


async def test_moderators_and_the_broadcaster_skip_cooldowns(sender, clock):
    handler = Recorder()
    command = ChatCommand("wt", handler, cooldown_seconds=60, user_cooldown_seconds=60)
    router = make_router(sender, clock, command)

    for _ in range(3):
        await router.handle(GUILD, webhook_chat("!wt", badges=["moderator"]))
        await router.handle(GUILD, webhook_chat("!wt", sender_id=int(BROADCASTER), badges=[]))
    await router.flush()

    assert len(handler.calls) == 6


async def test_handle_queues_the_command_and_returns_without_waiting_for_it(sender, clock):
    release = asyncio.Event()

    async def slow(invocation: ChatInvocation) -> str:
        await release.wait()
        return "done"

    router = make_router(sender, clock, ChatCommand("slow", slow))

    await asyncio.wait_for(router.handle(GUILD, webhook_chat("!slow")), timeout=5)
    assert sender.sent == []
    release.set()
    await router.flush()
    assert sender.texts == ["done"]


async def test_a_slow_command_in_one_guild_never_delays_another_guild(sender, clock):
    release = asyncio.Event()

    async def slow(invocation: ChatInvocation) -> str:
        await release.wait()
        return "slow done"

    router = make_router(
        sender, clock, ChatCommand("slow", slow), ChatCommand("quick", Recorder("quick done"))
    )

    await router.handle(GUILD, webhook_chat("!slow"))
    await router.handle(OTHER_GUILD, webhook_chat("!quick"))
    await eventually(lambda: bool(sender.sent), within=30)

    assert [line.guild_id for line in sender.sent] == [OTHER_GUILD]
    release.set()
    await router.flush()
    assert sorted(line.guild_id for line in sender.sent) == [GUILD, OTHER_GUILD]


async def test_a_command_past_its_time_limit_is_dropped_and_the_guild_carries_on(
    sender, clock, caplog
):
    async def stuck(invocation: ChatInvocation) -> str:
        await asyncio.Event().wait()
        return "never"

    router = make_router(
        sender,
        clock,
        ChatCommand("stuck", stuck),
        ChatCommand("quick", Recorder("quick done")),
        timeout_seconds=0.05,
    )

    await router.handle(GUILD, webhook_chat("!stuck"))
    await router.handle(GUILD, webhook_chat("!quick"))
    await asyncio.wait_for(router.flush(), timeout=5)

    assert sender.texts == ["quick done"]
    assert "!stuck took longer than" in caplog.text


async def test_a_failing_command_logs_says_nothing_and_the_next_one_runs(sender, clock, caplog):
    async def broken(invocation: ChatInvocation) -> str:
        raise RuntimeError("boom")

    router = make_router(
        sender, clock, ChatCommand("broken", broken), ChatCommand("ok", Recorder("fine"))
    )

    with caplog.at_level(logging.ERROR):
        await router.handle(GUILD, webhook_chat("!broken"))
        await router.handle(GUILD, webhook_chat("!ok"))
        await router.flush()

    assert sender.texts == ["fine"]
    assert "!broken failed" in caplog.text


async def test_the_same_message_delivered_twice_is_answered_once(sender, clock):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("wt", handler))
    event = webhook_chat("!wt")

    await router.handle(GUILD, event)
    await router.handle(GUILD, event)
    await router.handle(OTHER_GUILD, event)  # another guild tracking the channel answers too
    await router.flush()

    assert [c.guild_id for c in handler.calls] == [GUILD, OTHER_GUILD]


async def test_a_guild_with_too_many_waiting_commands_drops_the_extra_ones(sender, clock):
    release = asyncio.Event()
    handler = Recorder()

    async def slow(invocation: ChatInvocation) -> None:
        await release.wait()

    router = make_router(
        sender, clock, ChatCommand("slow", slow), ChatCommand("x", handler), max_waiting_per_guild=3
    )
    await router.handle(GUILD, webhook_chat("!slow"))
    await asyncio.sleep(0)  # the worker takes the slow one; three more may wait
    for _ in range(5):
        await router.handle(GUILD, webhook_chat("!x"))
    release.set()
    await router.flush()

    assert len(handler.calls) == 3


async def test_a_reply_never_starts_like_a_command(sender, clock):
    router = make_router(sender, clock, ChatCommand("echo", Recorder("!ban someone \u200b/now")))

    await router.handle(GUILD, webhook_chat("!echo"))
    await router.flush()

    assert sender.texts == ["ban someone /now"]


async def test_a_platform_the_bot_cannot_talk_in_gets_no_reply(clock, caplog):
    from core.events import Platform
    from core.features.chat_commands.replies import ChatReplier

    handler = Recorder()
    router = ChatCommandRouter(
        [ChatCommand("wt", handler)], ChatReplier(lambda p: None), clock=clock
    )
    caplog.set_level(logging.INFO)

    await router.handle(GUILD, webhook_chat("!wt"))
    await router.flush()

    assert len(handler.calls) == 1
    assert f"cannot talk in {Platform.KICK} chat" in caplog.text


@pytest.mark.parametrize("name", ["call", "sr", "CALL", "two words", ""])
def test_names_must_be_unique_lowercase_words(name) -> None:
    router = ChatCommandRouter(
        [ChatCommand("call", Recorder(), aliases=("sr",))], replier_for(RecordingSender())
    )
    with pytest.raises(ValueError, match="chat command name"):
        router.add(ChatCommand(name, Recorder()))


async def test_ten_thousand_chat_messages_that_are_not_commands_make_no_database_query(
    make_runtime,
):
    import sqlalchemy as sa

    runtime = make_runtime()
    router = runtime.chat_commands  # every command the runtime has, on its services
    sender = RecordingSender()
    router.replies = replier_for(sender)  # answers stay here instead of going to Kick
    queries: list[str] = []
    sa.event.listen(runtime.engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    chatter = [
        "hello chat",
        "!unknown command",
        "nice win [emote:37226:KEKW]",
        "what about !call Book of Dead",
        "!",
        "! call Book of Dead",
        "!callBook",
        "/call Book of Dead",
    ]

    for index in range(10_000):
        await router.handle(GUILD, webhook_chat(chatter[index % len(chatter)]))
    await router.flush()

    assert queries == []
    assert sender.sent == []
    await router.handle(GUILD, webhook_chat("!watchtime"))  # a command does use the database
    await router.flush()
    assert queries != []
    assert len(sender.sent) == 1


def twitch_reply(text: str, parent_name: str = "StreamKeeper") -> ChatMessageSent:
    """A Twitch chat message sent with the Reply button: Twitch starts its text with
    "@<parent's name> " (its own chat hides that mention, so the viewer never typed it)."""
    body = json.loads((FIXTURES / "twitch" / "channel.chat.message.json").read_text())
    event = copy.deepcopy(body["event"])
    typed = f"@{parent_name} {text}"
    event.update(
        message={"text": typed, "fragments": [{"type": "text", "text": typed}]},
        badges=[],
        reply={
            "parent_message_id": "b1a2c3d4-0000-4000-8000-000000000001",
            "parent_message_body": "Usage: !join <amount|all|half> [low|medium|high]",
            "parent_user_id": "2914196",
            "parent_user_name": parent_name,
            "parent_user_login": parent_name.lower(),
            "thread_message_id": "b1a2c3d4-0000-4000-8000-000000000001",
            "thread_user_id": "2914196",
            "thread_user_name": parent_name,
            "thread_user_login": parent_name.lower(),
        },
    )
    parsed = parse_notification(
        "channel.chat.message", {**body, "event": event}, message_id="d-1", delivered_at=T0
    )
    assert isinstance(parsed, ChatMessageSent)
    return parsed


@pytest.mark.parametrize("parent_name", ["StreamKeeper", "stream_keeper_bot", "日本語の名前"])
async def test_a_command_typed_as_a_twitch_reply_is_answered(sender, clock, parent_name):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("join", handler))

    await router.handle(GUILD, twitch_reply("!join 100 high", parent_name))
    await router.flush()

    assert [c.arguments for c in handler.calls] == ["100 high"]
    assert sender.texts == ["ok"]


async def test_a_reply_that_is_not_a_command_stays_chat(sender, clock):
    handler = Recorder()
    router = make_router(sender, clock, ChatCommand("join", handler))

    await router.handle(GUILD, twitch_reply("thanks, !join later"))
    await router.handle(GUILD, twitch_reply("@someone !join 100"))  # a mention they typed
    await router.flush()

    assert handler.calls == []
