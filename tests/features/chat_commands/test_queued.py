"""The bot's chat lines through the outbox (issue 26), on SQLite and PostgreSQL: a reply is said
once even when two processes answered the same message, lines survive a restart and keep their
order, and a line the platform refuses ends refused with its reason, never posted again."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.chat_commands.notices import vip_text
from core.features.chat_commands.queued import SAY, TIMEOUT_SECONDS, QueuedChat, service_of
from core.outbox import store
from core.outbox.worker import OutboxWorker
from core.platforms.http import FateUnknown, TryLater
from core.platforms.kick.api import KickApi
from core.platforms.kick.chat import KickChatSender
from core.ratelimits import Limit, MemoryWindows
from tests.fakes.kick_server import FakeKick
from tests.features.chat_commands.doubles import T0, RecordingSender
from tests.support.clock import Clock, Ticker

GUILD = 111


class RefusingSender(RecordingSender):
    async def deliver_now(self, **line) -> str | None:  # type: ignore[no-untyped-def,override]
        await super().deliver_now(**line)
        return "forbidden: the bot is banned in this channel"


class RateLimitedOnceSender(RecordingSender):
    """The platform asked for more time than the worker's call had left, once: nothing went
    out."""

    def __init__(self) -> None:
        super().__init__()
        self.limited = 1

    async def deliver_now(self, **line) -> str | None:  # type: ignore[no-untyped-def,override]
        if self.limited:
            self.limited -= 1
            return TryLater("rate_limited: Kick answered 429 (retry after 300 s)")
        return await super().deliver_now(**line)


class UnansweredSender(RecordingSender):
    async def deliver_now(self, **line) -> str | None:  # type: ignore[no-untyped-def,override]
        await super().deliver_now(**line)
        return FateUnknown("no_answer: Kick API unreachable: POST /public/v1/chat: got no answer")


def chat_worker(
    queued: QueuedChat, platform: Platform = Platform.KICK, **options: Any
) -> OutboxWorker:
    kinds = {SAY: queued.kind(platform)}
    return OutboxWorker(queued.engine, service_of(platform), kinds, queued.clock, **options)


def outcomes(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [(row.state, row.result) for row in reversed(store.of_guild(conn, GUILD))]


async def test_a_reply_to_one_message_is_said_once_whoever_answered_it(engine: Engine):
    kick = RecordingSender()
    first, second = (QueuedChat(engine, Clock(T0), lambda _: kick) for _ in range(2))

    for queued in (first, second):  # two processes handled the same delivery
        sender = queued.sender_for(Platform.KICK)
        assert sender is not None
        await sender.send(
            guild_id=GUILD,
            broadcaster_user_id="42",
            text="You have 3 tickets.",
            reply_to_message_id="m1",
        )
    await chat_worker(second).run_once()

    assert kick.texts == ["You have 3 tickets."]
    assert kick.sent[0].reply_to_message_id == "m1"
    assert outcomes(engine) == [("done", "said")]


async def test_lines_queued_before_a_restart_are_said_after_it_in_order(engine: Engine):
    before = QueuedChat(engine, Clock(T0), lambda _: RecordingSender())
    sender = before.sender_for(Platform.KICK)
    assert sender is not None
    for n in range(3):  # announcements: no message they answer
        await sender.send(guild_id=GUILD, broadcaster_user_id="42", text=f"line {n}")

    kick = RecordingSender()  # the process restarted: a new sender, the same database
    after = QueuedChat(engine, Clock(T0), lambda _: kick)
    await chat_worker(after).run_once()

    assert kick.texts == ["line 0", "line 1", "line 2"]


@pytest.mark.parametrize(
    ("answering", "ended"),
    [
        # The platform refused it (after the sender's own retries): the reason is kept.
        (lambda: RefusingSender(), ("refused", "forbidden: the bot is banned in this channel")),
        # The platform got it and no answer came: it may be in chat, so never posted again.
        (
            lambda: UnansweredSender(),
            ("uncertain", "no_answer: Kick API unreachable: POST /public/v1/chat: got no answer"),
        ),
    ],
    ids=["refused", "fate unknown"],
)
async def test_a_line_that_did_not_go_out_ends_as_the_sender_says_and_is_not_posted_again(
    engine: Engine, answering, ended
):
    kick = answering()
    queued = QueuedChat(engine, Clock(T0), lambda _: kick)
    sender = queued.sender_for(Platform.KICK)
    assert sender is not None
    await sender.send(guild_id=GUILD, broadcaster_user_id="42", text="hello")
    worker = chat_worker(queued)

    await worker.run_once()
    assert await worker.run_once() == 0

    assert kick.texts == ["hello"]
    assert outcomes(engine) == [ended]


async def test_no_sender_for_a_platform_queues_nothing(engine: Engine):
    queued = QueuedChat(
        engine, Clock(T0), lambda p: RecordingSender() if p == Platform.KICK else None
    )

    assert queued.sender_for(Platform.TWITCH) is None
    assert outcomes(engine) == []


async def test_a_line_whose_platform_went_away_meanwhile_is_refused_not_lost_silently(
    engine: Engine,
):
    senders: dict[Platform, RecordingSender | None] = {Platform.TWITCH: RecordingSender()}
    queued = QueuedChat(engine, Clock(T0), senders.get)
    sender = queued.sender_for(Platform.TWITCH)
    assert sender is not None
    await sender.send(guild_id=GUILD, broadcaster_user_id="42", text="hi")
    senders[Platform.TWITCH] = None  # Twitch disconnected before the worker came to it

    await chat_worker(queued, Platform.TWITCH).run_once()

    assert outcomes(engine) == [("refused", "the bot cannot talk in twitch chat now")]


async def test_a_line_kick_asked_to_wait_for_is_said_later_not_given_up(engine: Engine):
    """A rate limit longer than the call's time: nothing went out, so the line waits its turn
    (pending, tried again later), where it used to be cut off as "uncertain", never said."""
    kick = RateLimitedOnceSender()
    clock = Clock(T0)
    queued = QueuedChat(engine, clock, lambda _: kick)
    sender = queued.sender_for(Platform.KICK)
    assert sender is not None
    await sender.send(guild_id=GUILD, broadcaster_user_id="42", text="hello")
    worker = chat_worker(queued)

    await worker.run_once()
    assert outcomes(engine) == [("pending", "rate_limited: Kick answered 429 (retry after 300 s)")]
    assert kick.texts == []
    clock.advance(minutes=10)
    await worker.run_once()

    assert kick.texts == ["hello"]
    assert outcomes(engine) == [("done", "said")]


@pytest.mark.parametrize(
    ("waited", "said", "ended"),
    [
        ({"minutes": 4}, ["You have 3 tickets."], ("done", "said")),
        ({"minutes": 10}, [], ("refused", "not said: a reply 10 min late (the chat has moved on)")),
    ],
    ids=["4 min: said", "10 min: dropped"],
)
async def test_a_reply_the_platform_held_back_past_five_minutes_is_not_said(
    engine: Engine, waited, said, ended
):
    """After an outage chat is not flooded with answers to questions asked minutes ago; an
    announcement is said late all the same (the test above)."""
    kick = RateLimitedOnceSender()
    clock = Clock(T0)
    queued = QueuedChat(engine, clock, lambda _: kick)
    queued.queue(Platform.KICK, GUILD, "42", "You have 3 tickets.", "m1")
    worker = chat_worker(queued)

    await worker.run_once()
    clock.advance(**waited)
    await worker.run_once()

    assert kick.texts == said
    assert outcomes(engine) == [ended]


async def test_a_line_queued_after_one_the_platform_asked_to_wait_for_is_said_after_it(
    engine: Engine,
):
    """``!vip reward pause`` then ``!vip reward resume``: Twitch asks the first notice to wait,
    and the second waits its turn behind it, so chat ends saying what is true."""
    twitch = RateLimitedOnceSender()
    clock = Clock(T0)
    queued = QueuedChat(engine, clock, lambda _: twitch)
    paused, resumed = vip_text(True, "VIP 1 week"), vip_text(False, "VIP 1 week")
    for text in (paused, resumed):
        queued.queue(Platform.TWITCH, GUILD, "4242", text, None)
    worker = chat_worker(queued, Platform.TWITCH)

    await worker.run_once()
    assert twitch.texts == []
    clock.advance(minutes=10)
    await worker.run_once()

    assert twitch.texts == [paused, resumed]
    assert outcomes(engine) == [("done", "said"), ("done", "said")]


async def test_a_line_that_waited_for_its_channels_window_past_the_calls_time_is_said_later(
    engine: Engine,
):
    """The real Kick sender, its channel's window taken (another process said a line a moment
    ago, and Kick allows one per minute here): the line waits for room longer than the call's
    time. Nothing went out, so it is said later, where it used to end uncertain, never said."""
    window_clock = Ticker(1000.0)
    windows = MemoryWindows(window_clock)  # waits are real; the window's time moves by hand
    with FakeKick(user_id=1001, username="streamer") as fake:
        token = fake.issue_user_token(1001)

        async def as_streamer(guild_id: int, call):  # type: ignore[no-untyped-def]
            return await call(token)

        async with KickApi(fake.url, max_retries=0) as api:
            kick = KickChatSender(
                api,
                streamer_call=as_streamer,
                bot_user_token=None,
                min_interval_seconds=60,
                windows=windows,
            )
            await windows.take("kick:chat:1001", Limit(1, 60))  # said elsewhere just now
            clock = Clock(T0)
            queued = QueuedChat(engine, clock, lambda _: kick)
            queued.queue(Platform.KICK, GUILD, "1001", "hello", None)
            # A time far below the minute the window asks for (real seconds), however slow
            # the machine; the next try has the chat worker's own.
            hurried = chat_worker(queued, timeout_seconds=0.5)

            await hurried.run_once()
            assert outcomes(engine) == [("pending", "no answer within 0.5 s")]
            assert fake.chat_messages == []

            window_clock.advance(60)
            clock.advance(minutes=1)
            await chat_worker(queued, timeout_seconds=TIMEOUT_SECONDS).run_once()
            await kick.close()
    assert [m.content for m in fake.chat_messages] == ["hello"]
    assert outcomes(engine) == [("done", "said")]
