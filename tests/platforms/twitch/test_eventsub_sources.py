"""The EventSub WebSocket supervisor against the fake Helix (subscriptions) and the fake socket."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from core.platforms.twitch import eventsub_subscribe
from core.platforms.twitch.conditions import version_of
from core.platforms.twitch.eventsub_sources import SOCKET_SUBSCRIPTIONS, EventSubSupervisor
from core.platforms.twitch.helix import HelixClient
from core.scheduler import Scheduler
from tests.fakes import twitch_helix_eventsub
from tests.fakes.twitch_eventsub_ws import FakeEventSubWs
from tests.fakes.twitch_server import CLIENT_ID, FakeTwitch
from tests.platforms.twitch.test_eventsub_ws import Recorder
from tests.support.waiting import RecordingSleep, eventually

BROADCASTER = "1971641"
FAST = {"keepalive_grace": 0.3, "rng": lambda: 0.0}
CREATE = "/helix/eventsub/subscriptions"


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch(user_id=BROADCASTER) as fake:
        yield fake


class Tokens:
    """The token provider: a token per broadcaster, or an exception to raise."""

    def __init__(self, token: str | Exception) -> None:
        self.token = token
        self.asked = 0

    async def __call__(self, broadcaster_user_id: str) -> str:
        self.asked += 1
        if isinstance(self.token, Exception):
            raise self.token
        return self.token


def websocket_subscriptions(twitch: FakeTwitch) -> list[dict[str, Any]]:
    return [s for s in twitch.eventsub.values() if s["transport"]["method"] == "websocket"]


@asynccontextmanager
async def supervising(
    url: str, twitch: FakeTwitch, tokens: Callable[[], Any], **options: Any
) -> AsyncIterator[EventSubSupervisor]:
    supervisor = EventSubSupervisor(
        url,
        broadcasters=lambda: [BROADCASTER],
        token_for=tokens,
        make_api=lambda: HelixClient(twitch.helix_url, CLIENT_ID),
        publish=options.pop("publish", Recorder()),
        socket_options=FAST,
        **options,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop, every_seconds=0.05))
    try:
        yield supervisor
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def is_connected(supervisor: EventSubSupervisor) -> bool:
    state = supervisor.states().get(BROADCASTER)
    return state is not None and state.status == "connected"


async def test_one_socket_per_broadcaster_subscribes_every_type_with_the_user_token(twitch):
    tokens = Tokens(twitch.issue_user_token(BROADCASTER))
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: tokens) as supervisor,
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
        session_id = socket.current.session_id
        assert supervisor.states()[BROADCASTER].session_id == session_id
    created = websocket_subscriptions(twitch)
    assert sorted(s["type"] for s in created) == sorted(SOCKET_SUBSCRIPTIONS)
    assert {s["transport"]["session_id"] for s in created} == {session_id}
    chat = next(s for s in created if s["type"] == "channel.chat.message")
    assert chat["condition"] == {"broadcaster_user_id": BROADCASTER, "user_id": BROADCASTER}
    assert len(socket.sockets) == 1


async def test_without_a_token_provider_the_supervisor_idles(twitch):
    async with FakeEventSubWs() as socket, supervising(socket.url, twitch, lambda: None) as s:
        await asyncio.sleep(0.3)
        assert s.states() == {}
    assert socket.sockets == []


async def test_a_token_provider_that_raises_is_asked_again_later(twitch):
    tokens = Tokens(LookupError("not connected"))
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: tokens) as supervisor,
    ):
        await eventually(lambda: tokens.asked >= 2, within=30)
        assert socket.sockets == []  # no socket is opened without a token
        tokens.token = twitch.issue_user_token(BROADCASTER)
        await eventually(lambda: is_connected(supervisor), within=30)
    assert len(websocket_subscriptions(twitch)) == len(SOCKET_SUBSCRIPTIONS)


async def test_orphans_of_dead_sessions_are_removed_when_they_block_a_subscription(twitch):
    token = twitch.issue_user_token(BROADCASTER)
    async with HelixClient(twitch.helix_url, CLIENT_ID) as helix:
        for dead in ("dead-1", "dead-2", "dead-3"):  # Twitch allows 3 per type and condition
            transport = {"method": "websocket", "session_id": dead}
            await helix.create_eventsub_subscription(
                token, "stream.online", "1", {"broadcaster_user_id": BROADCASTER}, transport
            )
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: Tokens(token)) as supervisor,
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
    online = [s for s in websocket_subscriptions(twitch) if s["type"] == "stream.online"]
    assert [s["transport"]["session_id"] for s in online] == [socket.sockets[0].session_id]


async def test_a_revoked_socket_subscribes_again_once_the_token_changes(twitch):
    tokens = Tokens(twitch.issue_user_token(BROADCASTER))
    revoked: list[Any] = []
    async with (
        FakeEventSubWs() as socket,
        supervising(
            socket.url, twitch, lambda: tokens, record_revocation=revoked.append
        ) as supervisor,
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
        await socket.revoke("authorization_revoked", type="channel.subscribe")
        await eventually(lambda: bool(supervisor.states()[BROADCASTER].revoked), within=30)
        await asyncio.sleep(0.3)  # several reconciles with the same token: nothing changes
        assert len(socket.sockets) == 1
        tokens.token = twitch.issue_user_token(BROADCASTER)  # the streamer consented again
        await socket.wait_for_sockets(2)
        await eventually(lambda: is_connected(supervisor), within=30)
        assert supervisor.states()[BROADCASTER].revoked == ()
        new_session = socket.sockets[1].session_id
    assert [r.status for r in revoked] == ["authorization_revoked"]
    renewed = [
        s for s in websocket_subscriptions(twitch) if s["transport"]["session_id"] == new_session
    ]
    assert len(renewed) == len(SOCKET_SUBSCRIPTIONS)


class TokenSequence:
    """A provider that gives each token in turn, then keeps giving the last."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)

    def __call__(self, _broadcaster_user_id: str) -> str:
        return self.tokens.pop(0) if len(self.tokens) > 1 else self.tokens[0]


async def test_a_token_that_died_is_read_again_once_and_the_fresh_one_subscribes(twitch):
    dead = twitch.issue_user_token(BROADCASTER)
    twitch.expire_token(dead)
    fresh = twitch.issue_user_token(BROADCASTER)
    # reconcile reads one, the session's subscribe another: both the dead one; then the fresh one
    tokens = TokenSequence(dead, dead, fresh)
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: tokens) as supervisor,
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
    assert len(socket.sockets) == 1
    assert len(websocket_subscriptions(twitch)) == len(SOCKET_SUBSCRIPTIONS)


class Lease:
    """The scheduler's ownership, reduced to the lease of one job that the test takes away from
    this process and gives back (another bot process held it meanwhile)."""

    heartbeat_seconds = 0.05

    def __init__(self) -> None:
        self.held = True
        self.jobs: list[str] = []

    def holds_job(self, _name: str) -> bool:
        return self.held

    async def start(self) -> None:
        return None

    async def run(self, _stop: asyncio.Event, finished: asyncio.Event) -> None:
        await finished.wait()


async def test_the_job_whose_lease_comes_back_to_this_process_subscribes_again(twitch):
    """The supervisor is a lease-held scheduler loop (core/wiring/twitch.py): when the lease
    goes to another process its run stops, and when it comes back the same supervisor runs
    again. The first run closed its Helix client; the second subscribes with a new one."""
    tokens = Tokens(twitch.issue_user_token(BROADCASTER))
    supervisor = EventSubSupervisor(
        "",
        broadcasters=lambda: [BROADCASTER],
        token_for=lambda: tokens,
        make_api=lambda: HelixClient(twitch.helix_url, CLIENT_ID),
        publish=Recorder(),
        socket_options=FAST,
    )

    async def no_tick(_at: datetime, _stop: asyncio.Event) -> None:
        return None

    scheduler = Scheduler(3600, no_tick, lambda: datetime.now(UTC))
    scheduler.loop(
        "Twitch EventSub WebSocket", functools.partial(supervisor.run, every_seconds=0.05)
    )
    lease = Lease()
    scheduler.ownership = lease  # type: ignore[assignment]
    async with FakeEventSubWs() as socket:
        supervisor.url = socket.url
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        try:
            await eventually(lambda: is_connected(supervisor), within=30)
            lease.held = False  # another process took the job: this one's sockets stop
            await eventually(lambda: supervisor.states() == {}, within=30)
            lease.held = True  # and it came back
            await socket.wait_for_sockets(2)
            await eventually(lambda: is_connected(supervisor), within=30)
            second = socket.sockets[1].session_id
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
    renewed = [s for s in websocket_subscriptions(twitch) if s["transport"]["session_id"] == second]
    assert sorted(s["type"] for s in renewed) == sorted(SOCKET_SUBSCRIPTIONS)
    assert len(socket.sockets) == 2


async def test_a_type_twitch_refuses_is_skipped_and_shown_and_the_session_keeps_the_others(
    twitch, monkeypatch
):
    """Twitch retired the version of one type we ask (what a ``version_removed`` revocation
    announces): it answers 400 for that type alone, and every other type is delivered on the
    same session."""
    wanted, fields, authorization = twitch_helix_eventsub.CHECKED_TYPES["channel.follow"]
    assert version_of("channel.follow") == wanted
    monkeypatch.setitem(
        twitch_helix_eventsub.CHECKED_TYPES, "channel.follow", ("3", fields, authorization)
    )
    tokens = Tokens(twitch.issue_user_token(BROADCASTER))
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: tokens) as supervisor,
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
        state = supervisor.states()[BROADCASTER]
        await asyncio.sleep(0.3)  # several reconciles: nothing is started again
        assert len(socket.sockets) == 1
        assert socket.sockets[0].is_open
    [(kind, why)] = state.refused
    assert kind == "channel.follow"
    assert why == "Twitch Helix 400: unsupported version '2' for channel.follow"
    created = sorted(s["type"] for s in websocket_subscriptions(twitch))
    assert created == sorted(t for t in SOCKET_SUBSCRIPTIONS if t != "channel.follow")


async def test_a_create_twitch_did_not_answer_is_made_again_on_the_same_session(twitch):
    """Helix never repeats a create by itself (Twitch may have acted). A 503, then a create
    Twitch made but whose answer was lost: it is tried again, and the third try's 409 is the
    subscription found on this session; nothing ends the session."""
    twitch.fail_next(CREATE, 503, method="POST")
    twitch.disconnect_next(CREATE, method="POST")
    tokens = Tokens(twitch.issue_user_token(BROADCASTER))
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: tokens) as supervisor,  # waits 0.5 s, 1 s
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
        state = supervisor.states()[BROADCASTER]
    assert len(socket.sockets) == 1, state.last_error
    assert (state.refused, state.reconnects) == ((), 0)
    # the first type: a 503, then made with its answer lost, then a 409 (found on this session)
    assert len(twitch.requests_to(CREATE, "POST")) == len(SOCKET_SUBSCRIPTIONS) + 2
    created = sorted(s["type"] for s in websocket_subscriptions(twitch))
    assert created == sorted(SOCKET_SUBSCRIPTIONS)  # each once


@pytest.mark.parametrize(
    ("status", "times", "error"),
    [
        (400, len(SOCKET_SUBSCRIPTIONS), "Twitch refused every subscription type"),
        (503, eventsub_subscribe.CREATE_TRIES, "Twitch Helix 503"),
    ],
)
async def test_a_failure_of_every_type_ends_the_session_and_the_next_one_subscribes(
    twitch, status: int, times: int, error: str
):
    """Every type refused (Twitch closes a session without subscriptions anyway), or Twitch
    failing one create after every try: the session ends, and the next subscribes again."""
    twitch.fail_next(CREATE, status, times=times, method="POST")
    tokens = Tokens(twitch.issue_user_token(BROADCASTER))
    async with (
        FakeEventSubWs() as socket,
        supervising(
            socket.url, twitch, lambda: tokens, sleep=RecordingSleep(yields=True)
        ) as supervisor,
    ):
        await socket.wait_for_sockets(2)
        await eventually(lambda: is_connected(supervisor), within=30)
        state = supervisor.states()[BROADCASTER]
        second = socket.sockets[1].session_id
    assert error in (state.last_error or "")
    assert state.refused == ()
    renewed = [s for s in websocket_subscriptions(twitch) if s["transport"]["session_id"] == second]
    assert sorted(s["type"] for s in renewed) == sorted(SOCKET_SUBSCRIPTIONS)
