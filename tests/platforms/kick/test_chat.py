from __future__ import annotations

import asyncio
import inspect
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from core.features.chat_commands.ports import ChatSender
from core.features.connections.kick.service import NeedsReauthorization
from core.metrics import Counter, Metrics
from core.outbox import deadline
from core.platforms.http import FateUnknown, TryLater, tls_context
from core.platforms.kick import chat
from core.platforms.kick.api import KickApi
from core.platforms.kick.chat import KickChatSender
from core.ratelimits import MemoryWindows
from tests.fakes.kick_server import FakeKick, SentChatMessage

CHAT_PATH = "/public/v1/chat"
STREAMER_ID = 1001
OTHER_STREAMER_ID = 1002
BOT_USER_ID = 3003
GUILD = 1
OTHER_GUILD = 2
CHANNELS = {GUILD: STREAMER_ID, OTHER_GUILD: OTHER_STREAMER_ID}
LOGGER = "core.platforms.kick.chat"


class FakeTime:
    """A monotonic clock that only moves when the sender sleeps; the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class FakeStreamerCall:
    """Stands in for ``KickConnections.call_as_streamer`` with tokens the fake Kick issued."""

    def __init__(self, tokens: dict[int, str]) -> None:
        self.tokens = tokens
        self.gates: dict[int, asyncio.Event] = {}
        self.errors: dict[int, Exception] = {}
        self.finished: asyncio.Queue[int] = asyncio.Queue()  # guild ids of completed calls

    async def __call__(self, guild_id: int, call: Callable[[str], Awaitable[str]]) -> str:
        if guild_id in self.gates:
            await self.gates[guild_id].wait()
        if guild_id in self.errors:
            raise self.errors[guild_id]
        message_id = await call(self.tokens[guild_id])
        self.finished.put_nowait(guild_id)
        return message_id


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(user_id=STREAMER_ID, username="streamer") as fake:
        fake.add_channel("other", OTHER_STREAMER_ID)
        fake.add_user(BOT_USER_ID, "keeperbot")
        yield fake


@pytest.fixture
def streamer_call(kick: FakeKick) -> FakeStreamerCall:
    return FakeStreamerCall({g: kick.issue_user_token(u) for g, u in CHANNELS.items()})


@pytest.fixture
def bot_token(kick: FakeKick) -> str:
    return kick.issue_user_token(BOT_USER_ID)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def failures() -> Counter:
    return Metrics().chat_failed


@pytest.fixture
async def api(kick: FakeKick) -> AsyncIterator[KickApi]:
    # No retries inside the client, so the sender's own retries are what the tests see.
    async with (
        httpx.AsyncClient(trust_env=False, verify=tls_context()) as http,
        KickApi(kick.url, http=http, max_retries=0) as client,
    ):
        yield client


@pytest.fixture
async def make_sender(
    api: KickApi, streamer_call: FakeStreamerCall, fake_time: FakeTime, failures: Counter
) -> AsyncIterator[Callable[..., KickChatSender]]:
    made: list[KickChatSender] = []

    def make(**overrides: Any) -> KickChatSender:
        options: dict[str, Any] = {
            "streamer_call": streamer_call,
            "bot_user_token": None,
            "failures": failures,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            **overrides,
        }
        sender = KickChatSender(options.pop("api", api), **options)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        await sender.close()


async def say(
    sender: ChatSender, text: str, guild_id: int = GUILD, reply_to: str | None = None
) -> None:
    await sender.send(
        guild_id=guild_id,
        broadcaster_user_id=str(CHANNELS[guild_id]),
        text=text,
        reply_to_message_id=reply_to,
    )


def messages(kick: FakeKick, broadcaster_user_id: int | None = None) -> list[SentChatMessage]:
    return [
        m
        for m in kick.chat_messages
        if broadcaster_user_id is None or m.broadcaster_user_id == broadcaster_user_id
    ]


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# Delivery


async def test_reply_goes_out_as_the_bot_with_the_reply_id(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], failures: Counter
) -> None:
    sender = make_sender()

    await say(sender, "pong", reply_to="msg-1")
    await sender.flush()

    (message,) = kick.chat_messages
    assert (message.type, message.content, message.reply_to_message_id) == ("bot", "pong", "msg-1")
    assert (message.broadcaster_user_id, message.sender_user_id) == (STREAMER_ID, STREAMER_ID)
    assert failures.total() == 0


async def test_long_message_goes_out_in_order_with_the_reply_id_on_the_first_part(
    kick: FakeKick, make_sender: Callable[..., KickChatSender]
) -> None:
    text = " ".join(f"{i:09d}" for i in range(120)) + "!"
    assert len(text) == 1200
    sender = make_sender()

    await say(sender, text, reply_to="msg-1")
    await sender.flush()

    sent = kick.chat_messages
    assert len(sent) == 3
    assert all(len(m.content) <= 500 and m.type == "bot" for m in sent)
    assert " ".join(m.content for m in sent) == text
    assert [m.reply_to_message_id for m in sent] == ["msg-1", None, None]


async def test_send_only_queues(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], streamer_call: FakeStreamerCall
) -> None:
    streamer_call.gates[GUILD] = asyncio.Event()  # Kick never answers for this guild
    sender = make_sender()

    await asyncio.wait_for(say(sender, "queued"), timeout=30)  # a hang if it waited for Kick

    assert kick.chat_messages == []
    streamer_call.gates[GUILD].set()
    await sender.flush()
    assert [m.content for m in kick.chat_messages] == ["queued"]


async def test_a_stuck_channel_does_not_delay_another(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], streamer_call: FakeStreamerCall
) -> None:
    gate = streamer_call.gates[GUILD] = asyncio.Event()
    sender = make_sender()

    await say(sender, "slow one", GUILD)
    await say(sender, "fast one", OTHER_GUILD)
    await say(sender, "fast two", OTHER_GUILD)
    async with asyncio.timeout(5):
        assert [await streamer_call.finished.get() for _ in range(2)] == [OTHER_GUILD] * 2

    assert messages(kick, STREAMER_ID) == []
    gate.set()
    await sender.flush()
    assert [m.content for m in messages(kick, STREAMER_ID)] == ["slow one"]
    assert [m.content for m in messages(kick, OTHER_STREAMER_ID)] == ["fast one", "fast two"]


async def test_each_channel_gets_at_most_one_message_per_interval_in_order(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], fake_time: FakeTime
) -> None:
    sender = make_sender(min_interval_seconds=1.5)

    for text in ("one", "two", "three"):
        await say(sender, text, GUILD)
    await say(sender, "elsewhere", OTHER_GUILD)
    await sender.flush()

    assert [m.content for m in messages(kick, STREAMER_ID)] == ["one", "two", "three"]
    assert [m.content for m in messages(kick, OTHER_STREAMER_ID)] == ["elsewhere"]
    assert fake_time.sleeps == [1.5, 1.5]  # only between the first channel's messages


async def test_no_wait_when_the_interval_has_passed(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], fake_time: FakeTime
) -> None:
    sender = make_sender(min_interval_seconds=1.0)

    await say(sender, "one")
    await sender.flush()
    fake_time.now += 0.25
    await say(sender, "two")
    await sender.flush()
    fake_time.now += 5
    await say(sender, "three")
    await sender.flush()

    assert fake_time.sleeps == [0.75]
    assert len(kick.chat_messages) == 3


async def test_two_senders_on_shared_windows_pace_a_channel_together(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], fake_time: FakeTime
) -> None:
    """Two bot processes' senders, one window per channel (Redis's in a split deployment)."""
    windows = MemoryWindows(fake_time.clock, fake_time.sleep)
    first, second = make_sender(windows=windows), make_sender(windows=windows)

    await say(first, "one")
    await first.flush()
    await say(second, "two")
    await second.flush()
    await say(second, "elsewhere", OTHER_GUILD)
    await second.flush()

    assert [m.content for m in messages(kick, STREAMER_ID)] == ["one", "two"]
    assert fake_time.sleeps == [1.0]  # the second sender waited for the first's post


@pytest.mark.parametrize(("retry_after", "expected_wait"), [(None, 2.0), (3, 3.0)])
async def test_rate_limited_then_sent(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    fake_time: FakeTime,
    failures: Counter,
    retry_after: float | None,
    expected_wait: float,
) -> None:
    kick.fail_next(CHAT_PATH, 429, retry_after=retry_after)
    sender = make_sender()

    await say(sender, "hello")
    await sender.flush()

    assert [m.content for m in kick.chat_messages] == ["hello"]
    assert fake_time.sleeps == [expected_wait]
    assert failures.total() == 0


async def test_rate_limited_every_time_gives_up_without_falling_back(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    fake_time: FakeTime,
    failures: Counter,
    bot_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kick.fail_next(CHAT_PATH, 429, times=10)
    sender = make_sender(bot_user_token=bot_token, max_attempts=3)

    await say(sender, "hello")
    await sender.flush()

    assert kick.chat_messages == []
    assert [r.json["type"] for r in kick.requests_to(CHAT_PATH)] == ["bot"] * 3
    assert fake_time.sleeps == [2.0, 4.0]
    assert failures.value(platform="kick", reason="rate_limited") == 1
    assert len(warnings_logged(caplog)) == 1


async def test_a_wait_longer_than_the_outbox_call_has_left_is_handed_back_to_try_later(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Inside an outbox call of 5 s, Kick's "retry after 10 s" is not waited for (the worker
    would cut the call off and call the line's fate unknown): nothing went out, so the sender
    says so, and the worker tries it again later."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    kick.fail_next(CHAT_PATH, 429, retry_after=10)
    sender = make_sender()
    line = {"guild_id": GUILD, "broadcaster_user_id": str(STREAMER_ID), "text": "hello"}

    with deadline.within(5):
        stopped = await sender.deliver_now(**line)

    assert isinstance(stopped, TryLater)
    assert stopped.startswith("rate_limited")
    assert fake_time.sleeps == []
    assert kick.chat_messages == []
    assert warnings_logged(caplog) == []  # not given up: it waits for a later try
    assert "waits for a later try" in caplog.text
    assert await sender.deliver_now(**line) is None  # the worker's next try
    assert [m.content for m in kick.chat_messages] == ["hello"]


async def test_retry_after_too_long_gives_up_at_once(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], failures: Counter
) -> None:
    kick.fail_next(CHAT_PATH, 429, retry_after=45)
    sender = make_sender()

    await say(sender, "hello")
    await sender.flush()

    assert len(kick.requests_to(CHAT_PATH)) == 1
    assert failures.value(platform="kick", reason="rate_limited") == 1


async def test_unreachable_kick_is_retried_then_given_up(
    make_sender: Callable[..., KickChatSender], fake_time: FakeTime, failures: Counter
) -> None:
    async with httpx.AsyncClient(trust_env=False, verify=tls_context()) as http:
        dead_api = KickApi(dead_url(), http=http, max_retries=0)
        sender = make_sender(api=dead_api, max_attempts=3)

        await say(sender, "hello")
        await sender.flush()

    assert fake_time.sleeps == [2.0, 4.0]
    assert failures.value(platform="kick", reason="unreachable") == 1


@pytest.mark.parametrize("with_bot_user", [False, True])
async def test_a_post_kick_got_but_never_answered_is_not_posted_again_and_its_fate_is_unknown(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    bot_token: str,
    failures: Counter,
    with_bot_user: bool,
) -> None:
    kick.disconnect_next(CHAT_PATH, method="POST")  # Kick posts it, then the answer is lost
    sender = make_sender(bot_user_token=bot_token if with_bot_user else None, max_attempts=3)

    stopped = await sender.deliver_now(
        guild_id=GUILD, broadcaster_user_id=str(STREAMER_ID), text="hello"
    )

    assert isinstance(stopped, FateUnknown)
    assert stopped.startswith("no_answer: Kick API unreachable: POST /public/v1/chat")
    assert [m.content for m in messages(kick)] == ["hello"]  # once, neither retried nor as user
    assert len(kick.requests_to(CHAT_PATH)) == 1
    assert failures.value(platform="kick", reason="no_answer") == 1


@pytest.mark.parametrize(
    "reply",
    [{"data": {"is_sent": True}, "message": "OK"}, b"<html>maintenance</html>"],
    ids=["no-message-id", "not-json"],
)
async def test_a_post_kick_answered_ok_unreadably_is_not_posted_again_as_the_bot_user(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    bot_token: str,
    reply: object,
) -> None:
    """Kick said 200 to the bot's post, but not with the message it posted: it may be in the
    chat, so it is neither sent again as the bot user (the line twice in chat) nor retried."""
    kick.fail_next(CHAT_PATH, 200, body=reply, method="POST")
    sender = make_sender(bot_user_token=bot_token, max_attempts=3)

    stopped = await sender.deliver_now(
        guild_id=GUILD, broadcaster_user_id=str(STREAMER_ID), text="hello"
    )

    assert isinstance(stopped, FateUnknown)
    assert [r.json["type"] for r in kick.requests_to(CHAT_PATH)] == ["bot"]


@pytest.mark.parametrize("with_bot_user", [False, True])
async def test_server_errors_every_time_give_up_once(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    failures: Counter,
    bot_token: str,
    caplog: pytest.LogCaptureFixture,
    with_bot_user: bool,
) -> None:
    kick.fail_next(CHAT_PATH, 500, times=10)
    sender = make_sender(bot_user_token=bot_token if with_bot_user else None)

    await say(sender, "x" * 1200)  # three parts: the first failure ends the message
    await sender.flush()

    expected_types = ["bot", "user"] if with_bot_user else ["bot"]
    assert [r.json["type"] for r in kick.requests_to(CHAT_PATH)] == expected_types
    assert kick.chat_messages == []
    assert failures.value(platform="kick", reason="server_error") == 1
    assert failures.total() == 1
    (warning,) = warnings_logged(caplog)
    assert f"guild {GUILD}" in warning.getMessage()
    assert str(STREAMER_ID) in warning.getMessage()


@pytest.mark.parametrize("missing_bot", ["404", "bot-disabled"])
async def test_channel_not_found_for_the_bot_falls_back_to_the_bot_user(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    failures: Counter,
    bot_token: str,
    missing_bot: str,
) -> None:
    if missing_bot == "404":
        kick.fail_next(CHAT_PATH, 404, body={"data": None, "message": "Channel not found"})
    else:
        kick.bot_enabled = False  # the fake answers 400 "Channel not found"
    sender = make_sender(bot_user_token=bot_token)

    await say(sender, "pong", reply_to="msg-1")
    await sender.flush()

    (message,) = kick.chat_messages
    assert (message.type, message.content, message.reply_to_message_id) == ("user", "pong", "msg-1")
    assert (message.broadcaster_user_id, message.sender_user_id) == (STREAMER_ID, BOT_USER_ID)
    (_, fallback) = kick.requests_to(CHAT_PATH)
    assert fallback.json["broadcaster_user_id"] == STREAMER_ID
    assert failures.total() == 0


async def test_after_falling_back_the_rest_of_the_message_comes_from_the_bot_user(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], bot_token: str
) -> None:
    kick.bot_enabled = False
    sender = make_sender(bot_user_token=bot_token)

    await say(sender, "x" * 1200, reply_to="msg-1")
    await sender.flush()

    assert [r.json["type"] for r in kick.requests_to(CHAT_PATH)] == ["bot", "user", "user", "user"]
    assert [(m.type, m.reply_to_message_id) for m in kick.chat_messages] == [
        ("user", "msg-1"),
        ("user", None),
        ("user", None),
    ]


async def test_needs_reauthorization_without_a_bot_user_is_counted(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    streamer_call: FakeStreamerCall,
    failures: Counter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    streamer_call.errors[GUILD] = NeedsReauthorization("guild 1 must connect Kick again")
    sender = make_sender(bot_user_token=None)

    await say(sender, "pong")
    await sender.flush()

    assert kick.requests_to(CHAT_PATH) == []
    assert failures.value(platform="kick", reason="needs_reauthorization") == 1
    assert len(warnings_logged(caplog)) == 1


async def test_without_a_streamer_the_bot_user_speaks_for_the_operators_server(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    streamer_call: FakeStreamerCall,
    failures: Counter,
    bot_token: str,
) -> None:
    """DISCORD_GUILD_ID's server follows the operator's own KICK_CHANNEL: its replies may come
    from the bot's account though the streamer never connected (Pusher alone, say)."""
    streamer_call.errors[GUILD] = NeedsReauthorization("guild 1 must connect Kick again")
    sender = make_sender(bot_user_token=bot_token, operator_guild_id=GUILD)

    await say(sender, "pong")
    await sender.flush()

    (message,) = kick.chat_messages
    assert (message.type, message.sender_user_id) == ("user", BOT_USER_ID)
    assert failures.total() == 0


@pytest.mark.parametrize("operator_guild_id", [None, OTHER_GUILD])
async def test_without_a_streamer_any_other_server_is_not_heard_in_the_channel(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    streamer_call: FakeStreamerCall,
    failures: Counter,
    bot_token: str,
    operator_guild_id: int | None,
) -> None:
    """Any server's admin can name any channel in !kick setup; without that streamer's consent
    the bot's own account says nothing there for them."""
    streamer_call.errors[GUILD] = NeedsReauthorization("guild 1 never connected Kick")
    sender = make_sender(bot_user_token=bot_token, operator_guild_id=operator_guild_id)

    await say(sender, "pong")
    await sender.flush()

    assert kick.chat_messages == []
    assert [r.json["type"] for r in kick.requests_to(CHAT_PATH)] == []
    assert failures.value(platform="kick", reason="needs_reauthorization") == 1


async def test_unexpected_errors_are_logged_counted_and_the_channel_keeps_working(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    streamer_call: FakeStreamerCall,
    failures: Counter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    streamer_call.errors[GUILD] = RuntimeError("database is down")
    sender = make_sender()

    await say(sender, "first")
    await sender.flush()
    del streamer_call.errors[GUILD]
    await say(sender, "second")
    await sender.flush()

    assert failures.value(platform="kick", reason="error") == 1
    (record,) = [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    assert record.exc_info is not None
    assert [m.content for m in kick.chat_messages] == ["second"]


async def test_tokens_and_long_texts_never_reach_the_logs(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    streamer_call: FakeStreamerCall,
    bot_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_text = "start-of-text " + "".join(f"{i:03d}" for i in range(100))
    sender = make_sender(bot_user_token=bot_token)

    kick.fail_next(CHAT_PATH, 500, times=2)  # bot and then user fail
    await say(sender, secret_text)
    await sender.flush()
    kick.fail_next(CHAT_PATH, 429, times=3)  # given up
    await say(sender, secret_text)
    await sender.flush()
    kick.bot_enabled = False  # falls back and is sent
    await say(sender, secret_text)
    await sender.flush()
    streamer_call.errors[GUILD] = RuntimeError("boom")
    await say(sender, secret_text)
    await sender.flush()

    logged = caplog.text
    assert len(warnings_logged(caplog)) == 2
    assert [r.levelname for r in caplog.records if r.exc_info] == ["ERROR"]
    for token in (*streamer_call.tokens.values(), bot_token):
        assert token not in logged
    assert secret_text[:50] in logged
    assert secret_text[:51] not in logged


# Lifecycle


async def test_close_sends_what_is_queued_then_refuses_more(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], failures: Counter
) -> None:
    sender = make_sender()

    await say(sender, "one")
    await say(sender, "two", OTHER_GUILD)
    await sender.close()
    await say(sender, "too late")
    await sender.flush()

    assert sorted(m.content for m in kick.chat_messages) == ["one", "two"]
    assert failures.value(platform="kick", reason="closed") == 1


async def test_a_full_channel_queue_drops_new_messages(
    kick: FakeKick,
    make_sender: Callable[..., KickChatSender],
    streamer_call: FakeStreamerCall,
    failures: Counter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chat, "MAX_QUEUED_PER_CHANNEL", 2)
    gate = streamer_call.gates[GUILD] = asyncio.Event()
    sender = make_sender()

    for text in ("one", "two", "three"):
        await say(sender, text)
    gate.set()
    await sender.flush()

    assert [m.content for m in kick.chat_messages] == ["one", "two"]
    assert failures.value(platform="kick", reason="queue_full") == 1


async def test_nothing_to_say_sends_nothing(
    kick: FakeKick, make_sender: Callable[..., KickChatSender], failures: Counter
) -> None:
    sender = make_sender()

    await say(sender, " \n\x00 ")
    await sender.flush()

    assert kick.requests_to(CHAT_PATH) == []
    assert failures.total() == 0


def test_kick_chat_sender_send_matches_the_port() -> None:
    assert inspect.signature(KickChatSender.send).parameters.keys() == (
        inspect.signature(ChatSender.send).parameters.keys()
    )


async def test_delivering_now_says_what_stopped_the_message_or_nothing_when_it_went_out(
    kick: FakeKick, make_sender: Callable[..., KickChatSender]
) -> None:
    """For the chat outbox: posted at once (no queue), and the outcome told to the caller."""
    sender = make_sender()

    sent = await sender.deliver_now(
        guild_id=GUILD, broadcaster_user_id=str(STREAMER_ID), text="pong", reply_to_message_id="m"
    )
    kick.fail_next(CHAT_PATH, 500, times=10)
    stopped = await sender.deliver_now(
        guild_id=GUILD, broadcaster_user_id=str(STREAMER_ID), text="x" * 1200
    )

    assert sent is None
    assert [(m.content, m.reply_to_message_id) for m in kick.chat_messages] == [("pong", "m")]
    assert stopped is not None
    assert stopped.startswith("server_error: ")
