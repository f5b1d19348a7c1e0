from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from core.bus.base import BusUnavailable
from core.events import ChatMessageSent, Event, RewardRedeemed, Subscribed
from core.platforms.twitch.eventsub_frames import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES
from core.platforms.twitch.eventsub_ws import EventSubSocket
from core.platforms.twitch.webhook import Revocation
from tests.fakes.twitch_eventsub_ws import FakeEventSubWs, FakeSocket, fixture
from tests.support.waiting import RecordingSleep, eventually

WEBHOOK_FIXTURES = Path(__file__).parents[2] / "fixtures" / "twitch"


def chat_frame(number: int) -> dict[str, Any]:
    frame = fixture("notification.channel.chat.message")
    frame["metadata"]["message_id"] = f"ws-message-{number}"
    frame["payload"]["event"]["message_id"] = f"chat-{number}"
    frame["payload"]["event"]["message"]["text"] = f"message {number}"
    return frame


def subscribe_frame(message_id: str) -> dict[str, Any]:
    """A channel.subscribe over the socket: the webhook fixture's body as the payload."""
    body = json.loads((WEBHOOK_FIXTURES / "channel.subscribe.json").read_text())
    return {
        "metadata": {
            "message_id": message_id,
            "message_type": "notification",
            "message_timestamp": "2023-11-06T18:11:48.123456789Z",
            "subscription_type": "channel.subscribe",
            "subscription_version": "1",
        },
        "payload": body,
    }


class Recorder:
    """An async ``publish`` that, like the bus, keeps the first event of each key."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.calls[event.key] += 1
        if self.calls[event.key] == 1:
            self.events.append(event)

    def chat_ids(self) -> list[str]:
        return [e.event_id for e in self.events if isinstance(e, ChatMessageSent)]


class Subscriptions:
    """The caller's subscribe callback: records the session ids it was given."""

    def __init__(self, failures: int = 0) -> None:
        self.sessions: list[str] = []
        self.failures = failures

    async def __call__(self, session_id: str) -> None:
        self.sessions.append(session_id)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("no token for now")


@asynccontextmanager
async def running(socket: EventSubSocket) -> AsyncIterator[EventSubSocket]:
    stop = asyncio.Event()
    task = asyncio.create_task(socket.run(stop))
    try:
        yield socket
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def make_socket(url: str, **options: Any) -> EventSubSocket:
    options.setdefault("subscribe", Subscriptions())
    options.setdefault("publish", Recorder())
    options.setdefault("sleep", RecordingSleep(yields=True))
    options.setdefault("rng", lambda: 1.0)
    options.setdefault("keepalive_grace", 0.3)
    return EventSubSocket(url, **options)


async def test_welcome_then_subscribe_with_the_session_id_then_events_reach_the_bus_once():
    publish, subscriptions = Recorder(), Subscriptions()
    async with (
        FakeEventSubWs() as twitch,
        running(make_socket(twitch.url, publish=publish, subscribe=subscriptions)) as s,
    ):
        await eventually(lambda: s.state.status == "connected", within=30)
        assert subscriptions.sessions == [twitch.current.session_id]
        assert s.state.session_id == twitch.current.session_id
        await twitch.notify(chat_frame(1))
        await twitch.notify(chat_frame(1))  # Twitch's at-least-once redelivery
        await twitch.notify(fixture("notification.channel_points_custom_reward_redemption.add"))
        await eventually(lambda: len(publish.events) == 2, within=30)
        await asyncio.sleep(0.05)
    assert publish.chat_ids() == ["chat-1"]
    assert sum(publish.calls.values()) == 2  # the repeat never reached the bus
    redemption = publish.events[1]
    assert isinstance(redemption, RewardRedeemed)
    assert redemption.event_id == "1234:unfulfilled"
    assert twitch.sockets[0].received == []  # the socket is receive-only


async def test_keepalive_timeout_reconnects_with_growing_backoff_and_subscribes_again():
    sleep, subscriptions = RecordingSleep(yields=True), Subscriptions()
    async with FakeEventSubWs(keepalive_seconds=1, send_keepalives=False) as twitch:
        socket = make_socket(twitch.url, sleep=sleep, subscribe=subscriptions)
        async with running(socket):
            await twitch.wait_for_sockets(3, seconds=30)
            await eventually(lambda: len(subscriptions.sessions) == 3, within=30)
        assert sleep.delays[:2] == [1.0, 2.0]  # full jitter, rng pinned at its top
        assert "no keepalive or notification within 1.3 s" in (socket.state.last_error or "")
        # every new session is subscribed anew, with its own id
        assert subscriptions.sessions == [s.session_id for s in twitch.sockets[:3]]


async def test_keepalives_keep_the_session_alive():
    subscriptions = Subscriptions()
    # The fake sends a keepalive once 1 s was quiet (it looks every 0.25 s). Without them the
    # socket would give up 1 s + 3 s of grace after the last frame; five keepalives in, the
    # session has outlived that, and a loaded loop still has 3 s to read each one.
    async with (
        FakeEventSubWs(keepalive_seconds=1) as twitch,
        running(make_socket(twitch.url, subscribe=subscriptions, keepalive_grace=3.0)) as socket,
    ):
        await eventually(lambda: socket.state.status == "connected", within=30)
        first = twitch.sockets[0]
        await eventually(lambda: keepalives_sent(first) >= 5, within=60)
        assert len(twitch.sockets) == 1
        assert socket.state.reconnects == 0
    assert len(subscriptions.sessions) == 1


def keepalives_sent(socket: FakeSocket) -> int:
    return sum(frame["metadata"]["message_type"] == "session_keepalive" for frame in socket.sent)


async def test_stop_ends_the_session_while_frames_keep_arriving():
    """A frame that arrives as the socket is stopped must not swallow the stop (Python 3.11's
    ``asyncio.wait_for`` returned the frame and dropped the cancellation: the socket then read
    on for ever). Stopped several times, in the middle of a stream of notifications."""
    for attempt in range(5):
        await stop_mid_stream(after=0.05 + attempt * 0.013)


async def stop_mid_stream(after: float) -> None:
    async with FakeEventSubWs() as twitch:
        stop = asyncio.Event()
        socket = make_socket(twitch.url)
        task = asyncio.create_task(socket.run(stop))
        await eventually(lambda: socket.state.status == "connected", within=30)

        async def stream() -> None:
            for number in itertools.count():
                await twitch.notify(chat_frame(number))
                await asyncio.sleep(0.001)

        streaming = asyncio.create_task(stream())
        await asyncio.sleep(after)
        stop.set()
        try:
            async with asyncio.timeout(10):
                await task
        finally:
            streaming.cancel()
            await asyncio.gather(streaming, return_exceptions=True)
        assert socket.state.status == "stopped"


async def test_session_reconnect_loses_and_doubles_nothing():
    publish, subscriptions = Recorder(), Subscriptions()
    async with FakeEventSubWs() as twitch:
        # Sent on the old socket after the new one connected, before its welcome.
        twitch.during_switch = [chat_frame(2), chat_frame(4)]
        async with running(make_socket(twitch.url, publish=publish, subscribe=subscriptions)) as s:
            await eventually(lambda: s.state.status == "connected", within=30)
            old = twitch.current
            await twitch.notify(chat_frame(1))
            await twitch.ask_to_reconnect()
            await twitch.wait_for_sockets(2)
            new = twitch.sockets[1]
            assert new.is_reconnect
            await eventually(lambda: not old.is_open, within=30)
            # Twitch may send one more copy over the new socket: the same message id.
            await twitch.notify(chat_frame(2), new)
            await twitch.notify(chat_frame(3), new)
            await eventually(lambda: len(publish.events) == 4, within=30)
            await asyncio.sleep(0.05)
            assert s.state.status == "connected"
            assert s.state.session_id == new.session_id
            assert s.state.reconnects == 0
    assert sorted(publish.chat_ids()) == ["chat-1", "chat-2", "chat-3", "chat-4"]
    assert sum(publish.calls.values()) == 4  # the second copy of chat-2 never reached the bus
    assert subscriptions.sessions == [old.session_id]  # subscriptions carried over
    assert len(twitch.sockets) == 2


async def test_the_old_socket_closing_before_the_new_ones_welcome_keeps_the_session():
    """Twitch may close the old socket as it welcomes the new one, so the close can reach us
    first. The switch goes on: no new session, nothing subscribed again, nothing lost."""
    publish, subscriptions = Recorder(), Subscriptions()
    async with FakeEventSubWs() as twitch:
        twitch.close_old_before_welcome = True
        async with running(make_socket(twitch.url, publish=publish, subscribe=subscriptions)) as s:
            await eventually(lambda: s.state.status == "connected", within=30)
            old = twitch.current
            await twitch.ask_to_reconnect()
            await twitch.wait_for_sockets(2)
            new = twitch.sockets[1]
            await eventually(lambda: s.state.session_id == new.session_id, within=30)
            await twitch.notify(chat_frame(1), new)
            await eventually(lambda: len(publish.events) == 1, within=30)
            assert s.state.status == "connected"
            assert s.state.reconnects == 0
    assert subscriptions.sessions == [old.session_id]  # the subscriptions carried over
    assert len(twitch.sockets) == 2


async def test_a_failing_subscribe_ends_the_connection_and_is_tried_again():
    subscriptions, sleep = Subscriptions(failures=1), RecordingSleep(yields=True)
    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, subscribe=subscriptions, sleep=sleep)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            assert len(subscriptions.sessions) == 2
            assert not twitch.sockets[0].is_open
    assert "subscribing failed (RuntimeError: no token for now)" in (socket.state.last_error or "")
    assert sleep.delays == [1.0]


async def test_revocation_is_recorded_and_shown_in_the_state():
    recorded: list[Revocation] = []
    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, record_revocation=recorded.append)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            await twitch.revoke("authorization_revoked", type="channel.subscribe")
            await eventually(lambda: socket.state.revoked == ("channel.subscribe",), within=30)
            assert len(recorded) == 1
    assert recorded[0].subscription_id == "f1c2a387-161a-49f9-a165-0f21d7a4e1c4"
    assert recorded[0].status == "authorization_revoked"
    assert recorded[0].broadcaster_user_id == "12826"


@pytest.mark.parametrize(("webhooks_deliver", "expected"), [(False, 1), (True, 0)])
async def test_an_event_keyed_by_the_message_id_waits_for_webhooks_to_stop(
    webhooks_deliver: bool, expected: int
):
    publish = Recorder()
    asked: list[str] = []

    def deliver(subscription_type: str, _event: Event) -> bool:
        asked.append(subscription_type)
        return webhooks_deliver

    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, publish=publish, webhooks_deliver=deliver)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            await twitch.notify(subscribe_frame("ws-sub-1"))
            await twitch.notify(chat_frame(9))  # its own id: always passed on
            await eventually(lambda: len(publish.events) == 1 + expected, within=30)
            await asyncio.sleep(0.05)
    assert asked == ["channel.subscribe"]
    assert sum(isinstance(e, Subscribed) for e in publish.events) == expected
    assert publish.chat_ids() == ["chat-9"]


async def test_a_dropped_connection_reconnects_and_unreadable_frames_are_ignored():
    publish = Recorder()
    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, publish=publish)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            await twitch.current.ws.send_str("not json")
            broken = copy.deepcopy(chat_frame(4))
            broken["payload"]["event"] = "no object"
            await twitch.notify(broken)
            await twitch.drop_all()
            await twitch.wait_for_sockets(2)
            await eventually(lambda: socket.state.status == "connected", within=30)
            await twitch.notify(chat_frame(5))
            await eventually(lambda: bool(publish.events), within=30)
    assert publish.chat_ids() == ["chat-5"]
    assert socket.state.reconnects == 1


class FlakyBus(Recorder):
    """The bus's publish, away for its first ``failures`` calls (Redis or the database gone
    for a moment: ``BusUnavailable``, as ``EventBus.publish`` documents)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def __call__(self, event: Event) -> None:
        if self.failures:
            self.failures -= 1
            raise BusUnavailable("Redis is unavailable")
        await super().__call__(event)


async def test_an_event_read_while_the_bus_is_away_for_a_moment_is_published_once_it_is_back():
    """Without a public address the socket is the only source of Twitch events (no webhook
    redelivers them): a publish the bus could not take is tried again, in order."""
    publish, sleep = FlakyBus(failures=3), RecordingSleep(yields=True)
    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, publish=publish, sleep=sleep)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            await twitch.notify(subscribe_frame("ws-sub-1"))  # keyed by its message id
            await twitch.notify(chat_frame(1))
            await eventually(lambda: len(publish.events) == 2, within=30)
            assert socket.state.reconnects == 0
    assert [type(e) for e in publish.events] == [Subscribed, ChatMessageSent]
    assert sleep.delays == [0.5, 1.0, 2.0]  # the publisher's waits; no reconnect


async def test_a_frame_too_large_to_be_twitchs_is_skipped_and_the_session_goes_on():
    """Over MAX_FRAME_BYTES a frame is not Twitch's (theirs are a few kB): skipped, as any
    unreadable frame is, up to MAX_MESSAGE_BYTES; aiohttp's own default (4 MiB) used to close
    the connection instead, losing the session and its subscriptions."""
    publish, subscriptions = Recorder(), Subscriptions()
    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, publish=publish, subscribe=subscriptions)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            first = twitch.current
            padding = "x" * (MAX_MESSAGE_BYTES - 100)  # over aiohttp's default, within ours
            assert len(padding) > max(MAX_FRAME_BYTES, 4 * 1024 * 1024)
            with contextlib.suppress(ConnectionError):  # a client that hangs up mid-message
                await first.ws.send_str(json.dumps({"padding": padding}))
            await twitch.notify(chat_frame(7), first)
            await eventually(lambda: bool(publish.events) or not first.is_open, within=30)
            assert first.is_open, f"session lost: {socket.state.last_error}"
    assert publish.chat_ids() == ["chat-7"]
    assert subscriptions.sessions == [first.session_id]


async def test_a_message_over_the_most_the_socket_reads_ends_the_session_which_comes_back():
    subscriptions = Subscriptions()
    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, subscribe=subscriptions)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            first = twitch.current
            with contextlib.suppress(ConnectionError):  # the client hangs up mid-message
                await first.ws.send_str("x" * (MAX_MESSAGE_BYTES + 1))
            await twitch.wait_for_sockets(2)
            await eventually(lambda: socket.state.status == "connected", within=30)
    assert "connection closed (code 1009)" in (socket.state.last_error or "")
    assert subscriptions.sessions == [s.session_id for s in twitch.sockets[:2]]


async def test_a_stale_revocation_is_not_shown_in_the_state():
    """A revocation of a subscription replaced since (the recorder says it was no news) is no
    revoked type in ``!twitch status``; the next real one is."""
    recorded: list[Revocation] = []

    def record(revocation: Revocation) -> bool:
        recorded.append(revocation)
        return revocation.subscription_type != "channel.subscribe"

    async with FakeEventSubWs() as twitch:
        socket = make_socket(twitch.url, record_revocation=record)
        async with running(socket):
            await eventually(lambda: socket.state.status == "connected", within=30)
            await twitch.revoke("authorization_revoked", type="channel.subscribe")
            await twitch.revoke("authorization_revoked", type="channel.cheer")
            await eventually(lambda: len(recorded) == 2, within=30)
            await eventually(lambda: socket.state.revoked != (), within=30)
            assert socket.state.revoked == ("channel.cheer",)
