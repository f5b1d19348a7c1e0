"""A server that removed the bot is not served on Kick, through signed webhooks from the fake
Kick on 127.0.0.1 into a real Runtime: its chat command gets no reply and changes nothing, the
webhook is still answered 200, while another server streaming at the same time is answered as
ever. The removal is stored (a restarted process keeps it); the bot invited again answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from core.runtime import Runtime
from tests.conftest import FIXTURES
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.features.connections.test_chatroom_scope import connect
from tests.support.clock import Clock
from tests.support.delivery import make_queued_calls, settle

LEFT, SERVED = 4242, 5353  # the server that removed the bot, and one that did not
LEFT_STREAMER, SERVED_STREAMER = 1001, 2002
ADMIN = 777


@pytest.fixture
def clock() -> Clock:
    return Clock()  # real time: webhook timestamps must be fresh for the receiver


@pytest.fixture
def kick(clock):
    with FakeKick(clock=clock, username="streamer", user_id=LEFT_STREAMER) as fake:
        fake.add_channel("other", SERVED_STREAMER)
        yield fake


async def start(kick: FakeKick, tmp_path, clock) -> Runtime:
    return runtime_on_fake_kick(kick, tmp_path / "data", clock)


STOPPED: list[Runtime] = []  # stopped by the test itself (a restart), not again at teardown


async def stop(runtime: Runtime) -> None:
    if any(done is runtime for done in STOPPED):
        return
    STOPPED.append(runtime)
    await runtime.chat_commands.close()
    await runtime.kick.close_chat()
    runtime.close()


@pytest.fixture
async def runtime(kick, tmp_path, clock) -> AsyncIterator[Runtime]:
    runtime = await start(kick, tmp_path, clock)
    # Each server set up with its own streamer, who connects (the bot speaks with their token).
    for guild_id, slug, streamer in ((LEFT, "streamer", LEFT_STREAMER),
                                     (SERVED, "other", SERVED_STREAMER)):  # fmt: skip
        await runtime.kick_setup.setup(guild_id, ADMIN, slug)
        kick.consenting_user_id = streamer
        await asyncio.to_thread(connect, runtime, guild_id)
        await asyncio.to_thread(runtime.slot_calls.set_enabled, guild_id, True)
    yield runtime
    await stop(runtime)
    STOPPED.clear()


def chat_payload(broadcaster: int, content: str, message_id: str, said_at: datetime) -> dict:
    payload = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    payload["broadcaster"]["user_id"] = broadcaster
    payload["sender"].update(user_id=42, username="slotfan")
    payload["sender"]["identity"]["badges"] = []
    payload.update(content=content, message_id=message_id)
    payload["created_at"] = said_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


async def chat(runtime: Runtime, kick: FakeKick, broadcaster: int, text: str, n: int) -> str:
    """A viewer types ``text`` in the broadcaster's chat; Kick delivers it by webhook and the
    bot's side handles it. The webhook's answer."""
    server = runtime.start_web_server()
    try:
        answer = await kick.send_webhook_async(
            f"{server.url}/webhooks/kick",
            "chat.message.sent",
            chat_payload(broadcaster, text, f"chat-{broadcaster}-{n}", kick.clock()),
            message_id=f"01JLEFTSERVER{broadcaster}{n:08d}",
        )
    finally:
        server.close()
    assert answer.status_code == 200, answer.text
    await settle(runtime)
    await make_queued_calls(runtime)
    return answer.json()["status"]


def replies_in(kick: FakeKick, broadcaster: int) -> list[str]:
    return [m.content for m in kick.chat_messages if m.broadcaster_user_id == broadcaster]


async def test_a_server_that_removed_the_bot_gets_no_reply_and_another_is_served(
    runtime, kick, tmp_path, clock
):
    await asyncio.to_thread(runtime.guilds.mark_left, LEFT)  # what on_guild_remove records

    assert await chat(runtime, kick, LEFT_STREAMER, "!call Book of Dead", 1) == "queued"
    assert await chat(runtime, kick, SERVED_STREAMER, "!call Gates of Olympus", 1) == "queued"

    assert replies_in(kick, LEFT_STREAMER) == []
    assert runtime.slot_calls.count_open(LEFT) == 0
    assert replies_in(kick, SERVED_STREAMER) == [
        "Slot call added: Gates of Olympus (#1 in the queue)."
    ]
    assert runtime.slot_calls.count_open(SERVED) == 1
    dropped = runtime.metrics.events_dropped
    assert dropped.value(kind="chat_message_sent") == 1


async def test_the_removal_survives_a_restart_and_the_bot_invited_again_answers(
    runtime, kick, tmp_path, clock
):
    await asyncio.to_thread(runtime.guilds.mark_left, LEFT)
    await stop(runtime)
    restarted = await start(kick, tmp_path, clock)  # a new process on the same database
    try:
        assert await chat(restarted, kick, LEFT_STREAMER, "!call Book of Dead", 1) == "queued"
        assert replies_in(kick, LEFT_STREAMER) == []

        await asyncio.to_thread(restarted.guilds.mark_back, LEFT)  # on_guild_join records it
        assert await chat(restarted, kick, LEFT_STREAMER, "!call Sweet Bonanza", 2) == "queued"

        assert replies_in(kick, LEFT_STREAMER) == [
            "Slot call added: Sweet Bonanza (#1 in the queue)."
        ]
    finally:
        await stop(restarted)


async def test_on_a_channel_two_servers_follow_the_one_still_served_answers(kick, tmp_path, clock):
    runtime = await start(kick, tmp_path, clock)
    try:
        # Both follow the same channel with its streamer connected: the lower id (LEFT) would
        # be the one that answers in its chat, but the bot was removed from it.
        for guild_id in (LEFT, SERVED):
            await runtime.kick_setup.setup(guild_id, ADMIN, "streamer")
            await asyncio.to_thread(connect, runtime, guild_id)
            await asyncio.to_thread(runtime.slot_calls.set_enabled, guild_id, True)
        await asyncio.to_thread(runtime.guilds.mark_left, LEFT)

        assert await chat(runtime, kick, LEFT_STREAMER, "!call Book of Dead", 1) == "queued"

        assert replies_in(kick, LEFT_STREAMER) == [
            "Slot call added: Book of Dead (#1 in the queue)."
        ]
        assert (runtime.slot_calls.count_open(LEFT), runtime.slot_calls.count_open(SERVED)) == (
            0,
            1,
        )
    finally:
        await stop(runtime)
