from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from core.events import ChatMessageSent, Event
from core.platforms.kick.pusher import (
    KICK_PUSHER_URL,
    MAX_REASON_CHARS,
    PusherChannels,
    PusherListener,
    PusherState,
)
from tests.fakes.pusher_server import FakePusher
from tests.services import free_port
from tests.support.waiting import RecordingSleep, eventually

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kick"
CHANNELS = PusherChannels(chatroom_id=1221707, channel_id=17425723, broadcaster_user_id="18312333")
ALIASES = (
    "chatrooms.1221707.v2",
    "chatrooms.1221707",
    "chatroom_1221707",
    "channel.17425723",
    "channel_17425723",
)
CHAT = "App\\Events\\ChatMessageEvent"


def fixture_data(event_name: str) -> str:
    return json.loads((FIXTURES / f"pusher-{event_name}.json").read_text())["data"]


def chat_data(number: int) -> dict[str, Any]:
    data = json.loads(fixture_data("ChatMessageEvent"))
    return {**data, "id": f"00000000-0000-4000-8000-{number:012d}", "content": f"message {number}"}


def chat_id(number: int) -> str:
    return chat_data(number)["id"]


class Recorder:
    """An async ``publish`` that, like the bus, keeps the first event of each key."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.calls[event.key] += 1
        if self.calls[event.key] == 1:
            self.events.append(event)

    @property
    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]

    def has_chat(self, number: int) -> bool:
        return any(event.event_id == chat_id(number) for event in self.events)


class GatedSleep:
    """Backoff that lasts until the test releases it."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.entered.set()
        await self.release.wait()


def make_listener(
    url: str,
    publish: Callable[[Event], Any] | None = None,
    *,
    webhooks_deliver: Callable[[Event], bool] = lambda _event: False,
    channel_ids: PusherChannels = CHANNELS,
    **options: Any,
) -> PusherListener:
    options.setdefault("sleep", RecordingSleep(yields=True))
    options.setdefault("rng", lambda: 1.0)
    return PusherListener(
        url,
        channel_ids=channel_ids,
        publish=publish or Recorder(),
        webhooks_deliver=webhooks_deliver,
        **options,
    )


@asynccontextmanager
async def running(listener: PusherListener) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        yield task
    finally:
        stop.set()
        async with asyncio.timeout(2):
            await task


def is_connected(
    listener: PusherListener, fake: FakePusher, connections: int = 1
) -> Callable[[], bool]:
    def check() -> bool:
        state = listener.state
        return (
            fake.connection_count == connections
            and state.status == "connected"
            and state.subscribed == ALIASES
        )

    return check


def test_default_url_is_kicks_us2_app() -> None:
    assert KICK_PUSHER_URL == (
        "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679"
        "?protocol=7&client=js&version=8.4.0&flash=false"
    )


async def test_subscribes_to_every_alias() -> None:
    async with FakePusher() as fake:
        listener = make_listener(fake.url)
        assert listener.state == PusherState(status="stopped")
        async with running(listener):
            await eventually(is_connected(listener, fake))
            assert fake.connections[0].subscriptions == list(ALIASES)
            assert fake.connections[0].received[0] == {
                "event": "pusher:subscribe",
                "data": {"auth": "", "channel": "chatrooms.1221707.v2"},
            }
        assert listener.state == PusherState(status="stopped")


async def test_without_a_channel_id_subscribes_to_the_chatroom_aliases_only() -> None:
    channels = PusherChannels(chatroom_id=5, channel_id=None, broadcaster_user_id="9")
    async with FakePusher() as fake:
        listener = make_listener(fake.url, channel_ids=channels)
        async with running(listener):
            await eventually(lambda: len(listener.state.subscribed) == 3)
            assert listener.state.subscribed == ("chatrooms.5.v2", "chatrooms.5", "chatroom_5")


async def test_answers_the_servers_ping() -> None:
    async with FakePusher() as fake:
        listener = make_listener(fake.url)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await fake.ping_all()
            await eventually(lambda: fake.connections[0].pongs == 1)


async def test_pings_when_idle_and_keeps_a_connection_that_answers() -> None:
    async with FakePusher(activity_timeout=0.05) as fake:
        # A pong has 2 s: with 0.2 s a loaded loop could read it late and drop the connection.
        listener = make_listener(fake.url, pong_timeout=2.0, min_activity_timeout=0.01)
        async with running(listener):
            await eventually(
                lambda: fake.connection_count == 1 and fake.connections[0].pings >= 3, within=10
            )
            assert fake.connection_count == 1
            assert listener.state.status == "connected"


async def test_a_ping_without_answer_means_a_dead_connection() -> None:
    async with FakePusher(activity_timeout=0.05, answer_pings=False) as fake:
        listener = make_listener(fake.url, pong_timeout=0.1, min_activity_timeout=0.01)
        async with running(listener):
            await eventually(is_connected(listener, fake, connections=2))
            # At least one ping (a frame that arrives meanwhile, such as a late
            # subscription_succeeded under load, counts as an answer and a second ping follows),
            # and the first connection was given up for the unanswered one.
            assert fake.connections[0].pings >= 1
            assert fake.connections[0].received[-1]["event"] == "pusher:ping"
            assert listener.state.last_error == "no answer to pusher:ping within 0.1 s"


class SentFrames:
    """Stands in for the websocket when a test hands ``_handle`` one frame."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(json.loads(text))


@pytest.mark.parametrize(
    ("said", "seconds"),
    [
        ("30", 30.0),
        ("1" + "0" * 400, 120.0),
        ("1e308", 120.0),
        ("Infinity", 120.0),
        ("NaN", 120.0),
        ("0", 120.0),
        ("-5", 120.0),
        ('"30"', 120.0),
        ("true", 120.0),
        ("null", 120.0),
        ("0.001", 5.0),
    ],
)
async def test_the_activity_timeout_is_kept_between_5_and_120_seconds(
    said: str, seconds: float
) -> None:
    listener = make_listener("ws://127.0.0.1:9/unused")
    ws = SentFrames()
    raw = '{"event":"pusher:connection_established","data":{"activity_timeout":' + said + "}}"

    assert await listener._handle(cast(Any, ws), raw, asyncio.Queue()) is None

    assert listener._connection.activity_timeout == seconds
    assert [frame["event"] for frame in ws.sent] == ["pusher:subscribe"] * len(ALIASES)


async def test_an_activity_timeout_too_large_for_a_float_still_connects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakePusher(activity_timeout=10**400) as fake:
        listener = make_listener(fake.url)
        async with running(listener):
            await eventually(is_connected(listener, fake))
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_long_pusher_error_is_cut_short_in_the_state() -> None:
    async with FakePusher() as fake:
        listener = make_listener(fake.url)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await fake.send_error(4200, "m" * 100_000, close=False)
            await eventually(is_connected(listener, fake, connections=2))
    last_error = listener.state.last_error
    assert last_error is not None
    assert last_error.startswith("pusher:error 4200: mmm")
    assert len(last_error) == MAX_REASON_CHARS


async def test_publishes_chat_messages() -> None:
    recorder = Recorder()
    async with FakePusher() as fake:
        listener = make_listener(fake.url, recorder)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await fake.broadcast("chatrooms.1221707.v2", CHAT, fixture_data("ChatMessageEvent"))
            await eventually(lambda: len(recorder.events) == 1)
    (event,) = recorder.events
    assert isinstance(event, ChatMessageSent)
    assert event.event_id == "37e2ddbd-302c-4e5a-beda-4913c1747459"
    assert event.broadcaster_user_id == "18312333"
    assert listener.state.last_event_at is not None


# Each is broadcast where Kick sends it; the chat message last, as a marker that all were read.
MIXED_FRAMES = [
    ("chatrooms.1221707.v2", "App\\Events\\SubscriptionEvent", "SubscriptionEvent"),
    ("chatroom_1221707", "GiftedSubscriptionsEvent", "GiftedSubscriptionsEvent"),
    ("chatroom_1221707", "RewardRedeemedEvent", "RewardRedeemedEvent"),
    ("chatrooms.1221707", "App\\Events\\ChatMessageSentEvent", "ChatMessageSentEvent"),
    ("chatrooms.1221707.v2", "App\\Events\\UserBannedEvent", "UserBannedEvent"),
    ("channel_17425723", "GiftsLeaderboardUpdated", "GiftsLeaderboardUpdated"),
    ("chatrooms.1221707.v2", CHAT, "ChatMessageEvent"),
]


async def broadcast_mixed(fake: FakePusher) -> None:
    for channel, event, fixture in MIXED_FRAMES:
        await fake.broadcast(channel, event, fixture_data(fixture))
    await fake.broadcast(
        "channel.17425723", "App\\Events\\StreamerIsLive", {"livestream": {"id": 3}}
    )
    await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(1))


async def test_with_webhooks_delivering_everything_only_chat_is_published() -> None:
    recorder = Recorder()
    async with FakePusher() as fake:
        listener = make_listener(fake.url, recorder, webhooks_deliver=lambda _event: True)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await broadcast_mixed(fake)
            await eventually(lambda: recorder.has_chat(1))
    assert recorder.kinds == ["chat_message_sent", "chat_message_sent"]


async def test_without_webhooks_everything_is_published() -> None:
    recorder = Recorder()
    webhooks = {"active": False}
    async with FakePusher() as fake:
        listener = make_listener(
            fake.url, recorder, webhooks_deliver=lambda _event: webhooks["active"]
        )
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await broadcast_mixed(fake)
            await eventually(lambda: recorder.has_chat(1))
            assert recorder.kinds == [
                "subscribed",
                "subscriptions_gifted",
                "reward_redeemed",
                "subscriptions_gifted",
                "viewer_banned",
                "chat_message_sent",
                "stream_started",
                "chat_message_sent",
            ]
            webhooks["active"] = True
            await fake.broadcast("chatrooms.1221707.v2", "SubscriptionEvent", {"username": "late"})
            await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(2))
            await eventually(lambda: recorder.has_chat(2))
    assert recorder.kinds[-1] == "chat_message_sent"
    assert len(recorder.events) == 9


@pytest.mark.parametrize("abrupt", [False, True], ids=["close-frame", "tcp-drop"])
async def test_reconnects_after_a_drop_without_losing_or_doubling_events(abrupt: bool) -> None:
    recorder = Recorder()
    async with FakePusher() as fake:
        listener = make_listener(fake.url, recorder)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            for number in (1, 2):
                # Kick repeats messages on alias channels; the copies share the message id.
                await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(number))
                await fake.broadcast("chatrooms.1221707", CHAT, chat_data(number))
            await eventually(lambda: recorder.has_chat(2))

            await fake.close_all_connections(abrupt=abrupt)
            await eventually(is_connected(listener, fake, connections=2))
            assert fake.connections[1].subscriptions == list(ALIASES)

            for number in (3, 4):
                await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(number))
                await fake.broadcast("chatrooms.1221707", CHAT, chat_data(number))
            await eventually(lambda: recorder.has_chat(4))
    assert [event.event_id for event in recorder.events] == [chat_id(n) for n in (1, 2, 3, 4)]
    assert set(recorder.calls.values()) == {1}  # the listener already dropped the alias copies
    assert listener.state.reconnects == 1


async def test_backs_off_with_full_jitter_on_4200() -> None:
    sleep = RecordingSleep(yields=True)
    async with FakePusher() as fake:
        listener = make_listener(
            fake.url, sleep=sleep, rng=lambda: 0.5, backoff_base=1.0, backoff_max=3.0
        )
        async with running(listener):
            for connections in (1, 2, 3):
                await eventually(is_connected(listener, fake, connections))
                await fake.send_error(4200, "Please reconnect immediately")
            await eventually(is_connected(listener, fake, connections=4))
    # Ceilings 1, 2, 4 capped to 3, each times rng() = 0.5.
    assert sleep.delays == [0.5, 1.0, 1.5]
    assert listener.state.reconnects == 3
    assert listener.state.last_error == "pusher:error 4200: Please reconnect immediately"


async def test_4100_waits_at_least_a_second() -> None:
    sleep = RecordingSleep(yields=True)
    async with FakePusher() as fake:
        listener = make_listener(fake.url, sleep=sleep, rng=lambda: 0.0)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await fake.send_error(4100, "Over capacity")
            await eventually(is_connected(listener, fake, connections=2))
    assert sleep.delays == [1.0]


@pytest.mark.parametrize("how", ["error-and-close", "error-only", "close-only"])
async def test_4001_shows_refused_and_is_tried_again_after_minutes(
    how: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Pusher says not to reconnect after 4000-4099; staying deaf until someone restarts the bot
    is worse than a try every few minutes."""
    sleep = GatedSleep()
    async with FakePusher() as fake:
        listener = make_listener(fake.url, sleep=sleep)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            with caplog.at_level(logging.WARNING, logger="core.platforms.kick.pusher"):
                if how == "close-only":
                    await fake.close_all_connections(code=4001)
                else:
                    await fake.send_error(
                        4001, "App does not exist", close=how == "error-and-close"
                    )
                await eventually(sleep.entered.is_set)
            state = listener.state
            assert state.status == "refused"
            assert state.subscribed == ()
            assert "4001" in (state.last_error or "")
            assert sleep.delays == [300.0]
            assert fake.connection_count == 1

            sleep.release.set()
            await eventually(is_connected(listener, fake, connections=2))
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "4001" in errors[0].getMessage()
    assert "trying again in 5 min" in errors[0].getMessage()


async def test_refusals_in_a_row_wait_longer_up_to_an_hour() -> None:
    sleep = RecordingSleep(yields=True)
    async with FakePusher() as fake:
        listener = make_listener(fake.url, sleep=sleep)
        async with running(listener):
            for connections in range(1, 7):
                await eventually(is_connected(listener, fake, connections))
                await fake.send_error(4009, "Connection is unauthorized")
            await eventually(is_connected(listener, fake, connections=7))
    assert sleep.delays == [300.0, 600.0, 1200.0, 2400.0, 3600.0, 3600.0]
    assert listener.state.reconnects == 6


async def test_state_shows_backing_off_between_connections() -> None:
    sleep = GatedSleep()
    async with FakePusher() as fake:
        listener = make_listener(fake.url, sleep=sleep)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            assert listener.state.last_error is None
            await fake.close_all_connections()
            await asyncio.wait_for(sleep.entered.wait(), 2)
            state = listener.state
            assert (state.status, state.subscribed, state.reconnects) == ("backing_off", (), 0)
            assert state.last_error == "connection closed (code 1001)"
            sleep.release.set()
            await eventually(is_connected(listener, fake, connections=2))
            assert listener.state.reconnects == 1


async def test_unreachable_server_is_retried_with_backoff() -> None:
    port = free_port()  # nothing listens there
    sleep = RecordingSleep(yields=True)
    listener = make_listener(f"ws://127.0.0.1:{port}/app/key", sleep=sleep, backoff_max=4.0)
    async with running(listener):
        await eventually(lambda: len(sleep.delays) >= 4)
    assert sleep.delays[:4] == [1.0, 2.0, 4.0, 4.0]
    assert (listener.state.last_error or "").startswith("could not connect")
    assert listener.state.status == "stopped"


async def test_stop_ends_run_promptly_while_connected() -> None:
    async with FakePusher() as fake:
        listener = make_listener(fake.url)
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await eventually(is_connected(listener, fake))
        stop.set()
        async with asyncio.timeout(10):  # not the 120 s activity timeout's wait for a frame
            await task
        assert listener.state.status == "stopped"
        await eventually(lambda: not fake.open_connections)


async def test_stop_ends_run_promptly_while_backing_off() -> None:
    async with FakePusher() as fake:
        listener = make_listener(fake.url, sleep=asyncio.sleep, backoff_base=60.0)
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await eventually(is_connected(listener, fake))
        await fake.close_all_connections()
        await eventually(lambda: listener.state.status == "backing_off")
        stop.set()
        async with asyncio.timeout(10):  # not the 60 s backoff
            await task
        assert listener.state.status == "stopped"


async def test_a_failing_publish_is_logged_and_the_next_event_still_goes_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    published: list[str] = []

    async def publish(event: Event) -> None:
        if event.event_id == chat_id(1):
            raise RuntimeError("bus down")
        published.append(event.event_id)

    async with FakePusher() as fake:
        listener = make_listener(fake.url, publish)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(1))
            await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(2))
            await eventually(lambda: published == [chat_id(2)])
            assert listener.state.status == "connected"
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert (
        record.getMessage() == f"Kick Pusher: publishing kick:chat_message_sent:{chat_id(1)} failed"
    )


async def test_a_sync_publish_runs_off_the_event_loop() -> None:
    threads: list[int] = []

    def publish(event: Event) -> None:
        threads.append(threading.get_ident())

    async with FakePusher() as fake:
        listener = make_listener(fake.url, publish)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(1))
            await eventually(lambda: len(threads) == 1)
    assert threads[0] != threading.get_ident()


async def test_junk_frames_do_not_break_the_connection() -> None:
    recorder = Recorder()
    async with FakePusher() as fake:
        listener = make_listener(fake.url, recorder)
        async with running(listener):
            await eventually(is_connected(listener, fake))
            for junk in ("not json", "[]", '{"event": "ChatMessageEvent", "data": "{"}', "{}"):
                await fake.send_raw(junk)
            await fake.send_raw(json.dumps({"event": "pusher:error", "data": {"message": "meh"}}))
            await fake.broadcast("chatrooms.1221707.v2", CHAT, chat_data(1))
            await eventually(lambda: recorder.has_chat(1))
    assert fake.connection_count == 1


async def test_a_given_session_is_used_and_left_open() -> None:
    async with FakePusher() as fake, aiohttp.ClientSession() as session:
        listener = make_listener(fake.url, session=session)
        async with running(listener):
            await eventually(is_connected(listener, fake))
        assert not session.closed
