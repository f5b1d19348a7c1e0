"""The second half of issue 4's "done when", end to end: a linked member chats on the fake Kick
channel during a live stream (signed webhooks through the web app), and after enough ticks holds
the configured role, which goes again when an admin raises its threshold with !roles update.

Everything is the real wiring of :class:`~core.runtime.Runtime`: the webhook receiver, the bus,
the dispatcher (AccountLinked included), the watchtime tick and the role sync job's call, with
the bot on dpytest's fake Discord attached to the runtime's Discord gateway.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands

from core.config import load_settings
from core.discord_bot.bot import BotServices, create_bot
from core.events import AccountLinked, Platform, Viewer
from core.platforms.kick.signing import signed_headers
from core.runtime import Runtime
from tests.conftest import FIXTURES, TEST_FERNET_KEY
from tests.discord_bot.conftest import T0, Clock
from tests.discord_bot.fake_discord import member_of, say
from tests.discord_bot.fake_roles import (
    give_bot_a_role,
    make_role,
    record_member_edits,
    role_ids,
)

BROADCASTER = "123456789"  # the broadcaster in Kick's example payloads
CHATTER_ID, CHATTER_NAME = "987654321", "sender_name"  # the sender in Kick's example chat


def kick_body(event_type: str, **changes: object) -> bytes:
    payload = json.loads((FIXTURES / "kick" / f"{event_type}.json").read_bytes())
    payload.update(changes)
    return json.dumps(payload).encode()


def kick_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def runtime(tmp_path, kick_keys, clock: Clock):
    settings = load_settings(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
            "FLASK_SECRET_KEY": "test-link-secret",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            "WATCH_INTERVAL_SECONDS": "60",
        },
        env_file=None,
    )
    runtime = Runtime(settings, clock=clock)
    runtime.migrate()
    runtime.role_sync.pause_seconds = 0
    yield runtime
    runtime.close()


@pytest.fixture
async def bot(runtime: Runtime) -> AsyncIterator[commands.Bot]:
    services = BotServices(
        runtime.watchtime,
        runtime.guilds,
        runtime.health,
        runtime.kick_setup,
        roles=runtime.roles,
        role_sync=runtime.role_sync,
    )
    bot = create_bot(services)
    await bot._async_setup_hook()
    await bot.load_cogs()
    dpytest.configure(
        bot, guilds=["Guild A"], text_channels=1, voice_channels=0, members=["alice", "bob"]
    )
    bot._ready.set()  # dpytest sends no READY
    runtime.discord.attach(bot)
    yield bot
    runtime.discord.detach()
    await dpytest.empty_queue()


class FakeKickChannel:
    """Kick, as the web app sees it: signed webhooks for the example broadcaster."""

    def __init__(self, runtime: Runtime, private_key, clock: Clock) -> None:
        self.client = runtime.create_web_app().test_client()
        self.runtime = runtime
        self.private_key = private_key
        self.clock = clock

    def deliver(self, event_type: str, body: bytes) -> None:
        headers = signed_headers(
            self.private_key, body, event_type=event_type, timestamp=self.clock()
        )
        response = self.client.post("/webhooks/kick", data=body, headers=headers)
        assert response.status_code == 200, response.json
        assert response.json["status"] == "queued", response.json

    def go_live(self) -> None:
        body = kick_body("livestream.status.updated", started_at=kick_time(self.clock()))
        self.deliver("livestream.status.updated", body)

    def chat(self) -> None:
        body = kick_body(
            "chat.message.sent",
            message_id=uuid.uuid4().hex,
            content="great stream",
            created_at=kick_time(self.clock()),
        )
        self.deliver("chat.message.sent", body)


async def consume(runtime: Runtime) -> None:
    """What the bot process's consumer does: deliver everything queued to the handlers."""
    while runtime.bus.backlog():
        await runtime.bus.deliver_due(runtime.dispatcher)


async def test_a_linked_chatter_earns_the_role_and_loses_it_when_the_threshold_rises(
    runtime: Runtime, bot: commands.Bot, kick_keys, clock: Clock, monkeypatch
) -> None:
    guild = dpytest.get_config().guilds[0]
    alice = member_of(guild, "alice")
    admin = member_of(guild, "bob")
    await dpytest.add_role(
        admin,
        make_role(guild, "Moderator", 1, permissions=discord.Permissions(manage_guild=True)),
    )
    await give_bot_a_role(guild)
    regular = make_role(guild, "Regular", 2)
    edits = record_member_edits(monkeypatch, bot)
    runtime.guilds.set_kick_channel(guild.id, "broadcaster_channel", BROADCASTER)
    kick = FakeKickChannel(runtime, kick_keys[0], clock)

    # The admin sets the role up; alice links her Kick account (the OAuth callback's work).
    [added] = await say(f"!roles add {regular.mention} 5", admin)
    assert "is now a watchtime role" in added.content
    runtime.linking.link(
        guild_id=guild.id,
        discord_user_id=alice.id,
        platform=Platform.KICK,
        platform_user_id=CHATTER_ID,
        username=CHATTER_NAME,
    )
    runtime.bus.publish(
        AccountLinked(
            platform=Platform.KICK,
            event_id=uuid.uuid4().hex,
            occurred_at=clock(),
            guild_id=guild.id,
            discord_user_id=alice.id,
            viewer=Viewer(CHATTER_ID, CHATTER_NAME),
        )
    )
    await consume(runtime)
    assert role_ids(alice) == set()  # linked, but no watchtime yet
    await dpytest.empty_queue()  # the "linked to" DM

    # The stream goes live and she chats every minute while the ticks run.
    kick.go_live()
    runtime.tick_all()
    for _ in range(6):
        clock.advance(60)
        kick.chat()
        await consume(runtime)
        runtime.tick_all()
    [row] = runtime.watchtime.export(guild.id)
    assert (row.platform_user_id, row.seconds) == (CHATTER_ID, 360)

    await runtime.role_sync.sync_all()  # what the role sync job runs every interval

    assert role_ids(alice) == {regular.id}
    [reply] = await say("!watchtime", alice)
    assert reply.content.startswith(f"<@{alice.id}> (**sender\\_name** on Kick) has watched 6 min")
    assert reply.content.splitlines()[1] == "Every watchtime role reached."

    # The admin raises the threshold above her watchtime: the next sync takes the role away.
    [updated] = await say(f"!roles update {regular.mention} 60", admin)
    assert "now needs 1 h 00 min" in updated.content
    await runtime.role_sync.sync_all()

    assert role_ids(alice) == set()
    assert edits.of(alice) == [frozenset({regular.id}), frozenset()]
    assert edits.of(admin) == []  # nobody else was touched


async def test_a_member_who_links_after_watching_gets_the_role_right_away(
    runtime: Runtime, bot: commands.Bot, kick_keys, clock: Clock, monkeypatch
) -> None:
    guild = dpytest.get_config().guilds[0]
    alice = member_of(guild, "alice")
    await give_bot_a_role(guild)
    regular = make_role(guild, "Regular", 2)
    record_member_edits(monkeypatch, bot)
    runtime.guilds.set_kick_channel(guild.id, "broadcaster_channel", BROADCASTER)
    runtime.roles.add_tier(guild.id, regular.id, 2)
    kick = FakeKickChannel(runtime, kick_keys[0], clock)
    kick.go_live()
    runtime.tick_all()
    for _ in range(3):
        clock.advance(60)
        kick.chat()
        await consume(runtime)
        runtime.tick_all()

    runtime.linking.link(
        guild_id=guild.id,
        discord_user_id=alice.id,
        platform=Platform.KICK,
        platform_user_id=CHATTER_ID,
        username=CHATTER_NAME,
    )
    runtime.bus.publish(
        AccountLinked(
            platform=Platform.KICK,
            event_id=uuid.uuid4().hex,
            occurred_at=clock(),
            guild_id=guild.id,
            discord_user_id=alice.id,
            viewer=Viewer(CHATTER_ID, CHATTER_NAME),
        )
    )
    await consume(runtime)  # the AccountLinked handler syncs her, no periodic sync needed

    assert role_ids(alice) == {regular.id}
