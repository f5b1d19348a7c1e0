"""The EventSub WebSocket as the runtime wires it (no public OAUTH_BASE_URL), next to the
webhook receiver, on both databases: one bus, one revocation store, nothing counted twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from core.platforms.twitch.eventsub_sources import SOCKET_SUBSCRIPTIONS
from tests.fakes import twitch_helix_eventsub
from tests.fakes.twitch_eventsub import SECRET, EventSubSender, notification_body
from tests.fakes.twitch_eventsub_ws import FakeEventSubWs, fixture
from tests.fakes.twitch_server import CLIENT_ID, FakeTwitch
from tests.platforms.twitch.test_eventsub_ws import chat_frame, subscribe_frame
from tests.support.waiting import eventually

GUILD = 111
BROADCASTER = "1971641"  # the broadcaster of the websocket chat fixture


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch(user_id=BROADCASTER) as fake:
        yield fake


@asynccontextmanager
async def wired(make_runtime, migrated_database_url, twitch: FakeTwitch) -> AsyncIterator[tuple]:
    async with FakeEventSubWs() as socket:
        runtime = make_runtime(
            DATABASE_URL=migrated_database_url,
            TWITCH_EVENTSUB_SECRET=SECRET,
            TWITCH_CLIENT_ID=CLIENT_ID,
            TWITCH_API_BASE_URL=twitch.helix_url,
            TWITCH_EVENTSUB_WS_URL=socket.url,
        )
        runtime.guilds.set_twitch_channel(GUILD, "streamer", BROADCASTER)
        supervisor = runtime.twitch_eventsub
        assert supervisor is not None  # OAUTH_BASE_URL is unset: webhooks cannot reach us
        supervisor.socket_options = {"keepalive_grace": 0.3, "rng": lambda: 0.0}
        # What the Twitch connection feature provides; installed after the runtime was built.
        token = twitch.issue_user_token(BROADCASTER)
        runtime.twitch_token_for = lambda _broadcaster: token
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(stop, every_seconds=0.05))
        try:
            await eventually(
                lambda: getattr(supervisor.states().get(BROADCASTER), "status", "") == "connected",
                within=30,
            )
            yield runtime, socket
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


async def test_the_socket_subscribes_with_the_provided_token_and_feeds_the_bus(
    make_runtime, migrated_database_url, twitch
):
    async with wired(make_runtime, migrated_database_url, twitch) as (runtime, socket):
        await socket.notify(fixture("notification.channel.chat.message"))
        await eventually(lambda: runtime.bus.backlog() == 1, within=30)
    created = [s for s in twitch.eventsub.values() if s["transport"]["method"] == "websocket"]
    assert sorted(s["type"] for s in created) == sorted(SOCKET_SUBSCRIPTIONS)
    assert {s["transport"]["session_id"] for s in created} == {socket.sockets[0].session_id}


async def test_the_same_chat_message_over_webhook_and_websocket_is_queued_once(
    make_runtime, migrated_database_url, twitch
):
    async with wired(make_runtime, migrated_database_url, twitch) as (runtime, socket):
        frame = fixture("notification.channel.chat.message")
        body = frame["payload"]
        sender = EventSubSender.flask(runtime.create_web_app().test_client(), now)
        status, answer = await asyncio.to_thread(
            sender.send,
            json.dumps(body).encode(),
            subscription_type="channel.chat.message",
            message_id="webhook-delivery-1",  # another transport, another message id
        )
        assert (status, answer["status"]) == (200, "queued")
        await socket.notify(frame)
        await socket.notify(chat_frame(2))  # read after the copy: once it is queued, so was that
        await eventually(lambda: runtime.bus.backlog() >= 2, within=30)
        await asyncio.sleep(0.1)
    assert runtime.bus.backlog() == 2


async def test_a_subscription_webhooks_deliver_is_not_taken_from_the_socket_too(
    make_runtime, migrated_database_url, twitch
):
    async with wired(make_runtime, migrated_database_url, twitch) as (runtime, socket):
        sender = EventSubSender.flask(runtime.create_web_app().test_client(), now)
        body = notification_body("channel.subscribe", BROADCASTER)
        status, answer = await asyncio.to_thread(
            sender.send, json.dumps(body).encode(), subscription_type="channel.subscribe"
        )
        assert (status, answer["status"]) == (200, "queued")
        # The supervisor reads the arrival on a reconcile; until it has, the socket's copy
        # would still be passed on (a fixed 0.2 s was too short on a loaded machine).
        supervisor = runtime.twitch_eventsub
        await eventually(
            lambda: supervisor.webhooks_deliver(BROADCASTER, "channel.subscribe"), within=30
        )
        frame = subscribe_frame("ws-delivery-of-the-same-sub")
        frame["payload"] = body
        await socket.notify(frame)
        await socket.notify(chat_frame(2))  # read after the copy: once it is queued, so was that
        await eventually(lambda: runtime.bus.backlog() >= 2, within=30)
        await asyncio.sleep(0.1)
    assert runtime.bus.backlog() == 2


async def test_a_revocation_over_the_socket_is_recorded_for_the_broadcaster(
    make_runtime, migrated_database_url, twitch
):
    async with wired(make_runtime, migrated_database_url, twitch) as (runtime, socket):
        await socket.revoke(
            "authorization_revoked",
            type="channel.subscribe",
            condition={"broadcaster_user_id": BROADCASTER},
        )
        await eventually(
            lambda: bool(runtime.twitch_revocations.of_broadcaster(BROADCASTER)), within=30
        )
    [revocation] = runtime.twitch_revocations.of_broadcaster(BROADCASTER)
    assert (revocation.subscription_type, revocation.status) == (
        "channel.subscribe",
        "authorization_revoked",
    )


async def test_a_raid_revocation_over_the_socket_is_recorded_for_the_channel_raided(
    make_runtime, migrated_database_url, twitch
):
    """A raid's condition names the channel as to_broadcaster_user_id, not broadcaster_user_id
    (core/platforms/twitch/conditions.py); its revocation is still the channel's."""
    async with wired(make_runtime, migrated_database_url, twitch) as (runtime, socket):
        await socket.revoke(
            "version_removed",
            type="channel.raid",
            condition={"from_broadcaster_user_id": "", "to_broadcaster_user_id": BROADCASTER},
        )
        await eventually(
            lambda: bool(runtime.twitch_revocations.of_broadcaster(BROADCASTER)), within=30
        )
    [revocation] = runtime.twitch_revocations.of_broadcaster(BROADCASTER)
    assert (revocation.subscription_type, revocation.status) == ("channel.raid", "version_removed")


async def test_a_type_twitch_refuses_on_the_socket_is_in_the_channels_status(
    make_runtime, migrated_database_url, twitch, monkeypatch
):
    """Twitch answers 400 for one type (a version it retired): the socket stays up with the
    others, and ``!twitch status`` (the setup's status) has the refused type."""
    _, fields, authorization = twitch_helix_eventsub.CHECKED_TYPES["channel.raid"]
    monkeypatch.setitem(
        twitch_helix_eventsub.CHECKED_TYPES, "channel.raid", ("2", fields, authorization)
    )
    async with wired(make_runtime, migrated_database_url, twitch) as (runtime, socket):
        await socket.notify(fixture("notification.channel.chat.message"))
        await eventually(lambda: runtime.bus.backlog() == 1, within=30)
        found = runtime.twitch_setup.status(GUILD).socket
        assert len(socket.sockets) == 1
    assert found is not None
    assert found.status == "connected"
    assert [kind for kind, _ in found.refused] == ["channel.raid"]


async def test_a_revocation_over_the_socket_is_history_once_a_new_grant_subscribed_again(
    make_runtime, migrated_database_url, twitch
):
    """!twitch status warns that Twitch stopped a subscription while it is stopped, and no more
    once the streamer consented again and the socket subscribed everything anew."""
    async with wired(make_runtime, migrated_database_url, twitch) as (runtime, socket):
        await socket.revoke(
            "authorization_revoked",
            type="channel.subscribe",
            condition={"broadcaster_user_id": BROADCASTER},
        )
        supervisor = runtime.twitch_eventsub
        await eventually(lambda: supervisor.states()[BROADCASTER].revoked != (), within=30)
        assert runtime.twitch_setup.status(GUILD).revocations != ()

        token = twitch.issue_user_token(BROADCASTER)  # the streamer consented again
        runtime.twitch_token_for = lambda _broadcaster: token
        await eventually(
            lambda: (
                len(socket.sockets) == 2
                and getattr(supervisor.states().get(BROADCASTER), "status", "") == "connected"
            ),
            within=30,
        )
        assert runtime.twitch_setup.status(GUILD).revocations == ()
