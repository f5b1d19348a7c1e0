"""A chatroom id speaks only for the guilds that chose it: a typed one must be the one Kick
gives, and a Pusher frame from a chatroom reaches only the guilds whose stored chatroom it is,
even when two guilds follow the same broadcaster (issue 11, item 5)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from core.features.connections.kick.service import PURPOSE_STREAMER
from core.features.connections.kick.setup import SetupFailed
from core.platforms.http import tls_context
from core.platforms.kick.site import InternalIds
from core.runtime import Runtime
from core.security.links import new_claims, signed_link
from tests.fakes.kick_runtime import BOT_URL, runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.fakes.pusher_server import FakePusher
from tests.support.clock import Clock
from tests.support.delivery import make_queued_calls, settle
from tests.support.waiting import eventually

GUILD_A = 4242
GUILD_B = 5353
ADMIN = 777
WRONG_CHATROOM = 31047538


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kick(clock):
    with FakeKick(clock=clock, username="streamer", user_id=1001) as fake:
        yield fake


@pytest.fixture
def runtime(tmp_path, kick, clock):
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", clock)
    yield runtime
    runtime.close()


def test_a_typed_chatroom_id_that_kick_contradicts_is_refused_with_kicks(runtime, kick):
    right = kick.channels["streamer"].chatroom_id

    with pytest.raises(SetupFailed) as refused:
        asyncio.run(runtime.kick_setup.setup(GUILD_A, ADMIN, "streamer", WRONG_CHATROOM))

    assert f"Kick says the chatroom of streamer is {right}, not {WRONG_CHATROOM}" in str(
        refused.value
    )
    assert runtime.guilds.kick_channel_of(GUILD_A) is None


def test_a_typed_chatroom_id_that_kick_confirms_is_kept(runtime, kick):
    right = kick.channels["streamer"]

    asyncio.run(runtime.kick_setup.setup(GUILD_A, ADMIN, "streamer", right.chatroom_id))

    channel = runtime.guilds.kick_channel_of(GUILD_A)
    assert (channel.chatroom_id, channel.channel_id) == (right.chatroom_id, right.channel_id)


def test_a_typed_chatroom_id_kicks_site_cannot_confirm_is_refused(runtime, kick):
    """Guild B follows the streamer with its chatroom; guild A's admin names another channel
    and types the streamer's chatroom while Kick's site does not answer. Kept unchecked, A's
    listener would queue the streamer's chat under A's broadcaster with the very keys of B's
    copies (``kick:chat_message_sent:<message id>``, unique on the bus), so B's would be dropped as
    duplicates. An id typed by an admin is taken only when Kick confirms it."""
    streamer = kick.channels["streamer"]
    kick.add_channel("other", 2002)
    asyncio.run(runtime.kick_setup.setup(GUILD_B, ADMIN, "streamer"))
    kick.site_blocked = True

    with pytest.raises(SetupFailed) as refused:
        asyncio.run(runtime.kick_setup.setup(GUILD_A, ADMIN, "other", streamer.chatroom_id))

    assert "cannot check the chatroom id" in str(refused.value)
    assert runtime.guilds.kick_channel_of(GUILD_A) is None
    assert runtime.guilds.kick_channel_of(GUILD_B).chatroom_id == streamer.chatroom_id


def test_the_operators_server_may_type_a_chatroom_id_kicks_site_cannot_confirm(
    tmp_path, kick, clock
):
    """DISCORD_GUILD_ID names the operator's own server: behind Cloudflare, its admin may still
    turn Pusher on by typing the chatroom id; any other server is refused the same."""
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", clock, DISCORD_GUILD_ID=str(GUILD_A))
    try:
        kick.site_blocked = True
        asyncio.run(runtime.kick_setup.setup(GUILD_A, ADMIN, "streamer", WRONG_CHATROOM))
        with pytest.raises(SetupFailed):
            asyncio.run(runtime.kick_setup.setup(GUILD_B, ADMIN, "streamer", WRONG_CHATROOM))

        assert runtime.guilds.kick_channel_of(GUILD_A).chatroom_id == WRONG_CHATROOM
        assert runtime.guilds.kick_channel_of(GUILD_B) is None
    finally:
        runtime.close()


def test_site_ids_that_name_another_broadcaster_are_not_taken(runtime):
    async def site_naming_someone_else(slug: str) -> InternalIds:
        return InternalIds(channel_id=1, chatroom_id=2, broadcaster_user_id="2002")

    runtime.kick_setup.look_up_ids = site_naming_someone_else

    result = asyncio.run(runtime.kick_setup.setup(GUILD_A, ADMIN, "streamer"))

    assert result.chatroom_found is False
    assert runtime.guilds.kick_channel_of(GUILD_A).chatroom_id is None


def connect(runtime: Runtime, guild_id: int) -> None:
    """The streamer signs in for ``guild_id`` through the web app and the fake's consent page."""
    web = runtime.create_web_app().test_client()
    claims = new_claims(PURPOSE_STREAMER, ADMIN, guild_id, runtime.clock())
    link = signed_link(BOT_URL, "/auth/kick/streamer", runtime.link_secret, claims)
    opened = web.get(_local(link))  # the page; its button starts the sign-in
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = web.post(_local(link))
    assert started.status_code == 303, started.get_data(as_text=True)
    consent = httpx.get(started.headers["Location"], follow_redirects=False, verify=tls_context())
    answer = web.get(_local(consent.headers["location"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def chat(chatroom: int, message_id: str, sender_id: int, name: str, text: str, at: datetime):
    return {
        "id": message_id,
        "chatroom_id": chatroom,
        "content": text,
        "type": "message",
        "created_at": at.isoformat(),
        "sender": {"id": sender_id, "username": name, "slug": name,
                   "identity": {"color": "#fff", "badges": []}},
    }  # fmt: skip


async def test_frames_from_a_wrong_chatroom_reach_only_the_guild_that_stored_it(
    tmp_path, kick, clock
):
    right = kick.channels["streamer"].chatroom_id
    async with FakePusher() as pusher:
        runtime = runtime_on_fake_kick(
            kick, tmp_path / "data", clock, KICK_PUSHER_ENABLED="true", KICK_PUSHER_URL=pusher.url
        )
        try:
            # Guild A set up properly and connected the streamer; guild B follows the same
            # broadcaster with a wrong chatroom id (a row from before the check).
            await runtime.kick_setup.setup(GUILD_A, ADMIN, "streamer")
            await asyncio.to_thread(
                runtime.guilds.set_kick_channel,
                GUILD_B,
                "streamer",
                "1001",
                chatroom_id=WRONG_CHATROOM,
            )
            await asyncio.to_thread(connect, runtime, GUILD_A)
            for guild_id in (GUILD_A, GUILD_B):
                await asyncio.to_thread(runtime.slot_calls.set_enabled, guild_id, True)
            await asyncio.to_thread(runtime.tick_all, clock.now)
            stop = asyncio.Event()
            supervisor = asyncio.create_task(runtime.pusher.run(stop))
            states = runtime.pusher.states
            await eventually(
                lambda: {
                    name for state in states().values() for name in state.subscribed
                } >= {f"chatrooms.{right}.v2", f"chatrooms.{WRONG_CHATROOM}.v2"},
                within=10,
            )  # fmt: skip
            said = clock.now - timedelta(seconds=1)
            await pusher.broadcast(
                f"chatrooms.{WRONG_CHATROOM}.v2",
                "App\\Events\\ChatMessageEvent",
                chat(WRONG_CHATROOM, "wrong-room-1", 6, "intruder", "!call Book of Dead", said),
            )
            await pusher.broadcast(
                f"chatrooms.{right}.v2",
                "App\\Events\\ChatMessageEvent",
                chat(right, "right-room-1", 7, "regular", "!call Sweet Bonanza", said),
            )
            await eventually(lambda: runtime.bus.backlog() == 2, within=10)
            stop.set()
            await supervisor
            await settle(runtime)
            await make_queued_calls(runtime)
            clock.now += timedelta(seconds=60)
            await asyncio.to_thread(runtime.tick_all, clock.now)

            def seen(guild_id: int) -> tuple[list[str], list[str]]:
                watched = [r.username for r in runtime.watchtime.export(guild_id)]
                calls = [c.slot_name for c in runtime.slot_calls.open_calls(guild_id, 10)]
                return watched, calls

            assert await asyncio.to_thread(seen, GUILD_A) == (["regular"], ["Sweet Bonanza"])
            assert await asyncio.to_thread(seen, GUILD_B) == (["intruder"], ["Book of Dead"])
            # Only guild A holds a streamer token; it answered its own chatroom's viewer alone.
            assert [m.reply_to_message_id for m in kick.chat_messages] == ["right-room-1"]
        finally:
            await runtime.kick.close_chat()
            runtime.close()
