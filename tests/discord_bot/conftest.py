"""The bot on dpytest's fake Discord, backed by real services on a migrated SQLite database.

dpytest builds two servers, "Guild A" and "Guild B", each with one text channel and the members
alice and bob (neither may manage the server until a test says so). Viewers earn watchtime the
way they do in production: chat events and ticks on a clock the test moves.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from discord.ext import commands
from sqlalchemy.engine import Engine

from core.config import WatchtimeSettings
from core.discord_bot.bot import create_bot
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.linking.outbound import DiscordLinks
from core.discord_bot.roles.outbound import DiscordMemberRoles
from core.discord_bot.services import BotServices
from core.events import Platform, Viewer
from core.features.guilds.service import GuildService
from core.features.linking.effects import LinkEffects
from core.features.linking.service import LinkingService
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync
from core.features.watchtime.service import WatchtimeService
from core.health import Check, HealthReport
from core.platforms.kick.signing import signed_headers
from core.runtime import Runtime
from tests.conftest import FIXTURES
from tests.discord_bot.fake_discord import member_of
from tests.discord_bot.fake_roles import MemberEdits, record_member_edits
from tests.discord_bot.linking_support import (
    VIEWER_KICK_ID,
    VIEWER_KICK_NAME,
    build_runtime,
    deliver_published,
    runtime_services,
)
from tests.fakes.kick_server import FakeKick
from tests.support.clock import Clock
from tests.support.events import chat_message

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
BROADCASTER = "123456789"  # also the broadcaster in Kick's example payloads
# A long active window keeps the number of ticks (and test time) small for hours of watchtime.
SETTINGS = WatchtimeSettings(interval_seconds=60, active_window_minutes=60)
LINK_SECRET = "dpytest-link-secret"
LINK_BASE_URL = "http://bot.test"
HEALTHY = HealthReport([Check("database", True, "sqlite, migrated")])


class Stream:
    """Gives viewers watchtime through the service: they chat, the clock moves, ticks credit."""

    def __init__(self, watchtime: WatchtimeService, clock: Clock) -> None:
        self.watchtime = watchtime
        self.clock = clock
        self._ids = iter(range(1000, 10_000))

    def viewer(self, username: str) -> Viewer:
        return Viewer(str(next(self._ids)), username)

    def chat(self, guild_id: int, viewer: Viewer, platform: Platform = Platform.KICK) -> None:
        event = chat_message(
            "hi", platform=platform, broadcaster=BROADCASTER, viewer=viewer, at=self.clock()
        )
        self.watchtime.record_chat(guild_id, event)

    def earn(
        self,
        guild_id: int,
        viewer: Viewer | str,
        seconds: int,
        platform: Platform = Platform.KICK,
    ) -> Viewer:
        """Credit exactly ``seconds`` to ``viewer`` (on ``platform``) alone in ``guild_id``."""
        if isinstance(viewer, str):
            viewer = self.viewer(viewer)
        window = SETTINGS.active_window_minutes * 60
        # A quiet spell first: everyone who chatted before has left the active window.
        self.clock.advance(2 * window)
        self.watchtime.tick(guild_id)
        remaining = seconds
        while remaining > 0:
            step = min(remaining, window)
            self.chat(guild_id, viewer, platform)
            self.clock.advance(step)
            self.watchtime.tick(guild_id)
            remaining -= step
        return viewer


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def watchtime(sqlite_engine: Engine, clock: Clock) -> WatchtimeService:
    return WatchtimeService(sqlite_engine, SETTINGS, clock)


@pytest.fixture
def guilds(sqlite_engine: Engine, clock: Clock) -> GuildService:
    return GuildService(sqlite_engine, clock)


@pytest.fixture
def stream(watchtime: WatchtimeService, clock: Clock) -> Stream:
    return Stream(watchtime, clock)


@pytest.fixture
def health_report() -> HealthReport:
    """What the bot's health callable returns; override in a module to change it."""
    return HEALTHY


@pytest.fixture
def gateway() -> DiscordGateway:
    """The gateway role sync reaches Discord through; the bot fixture attaches the bot."""
    """How features' outbound ports reach the bot; the ``bot`` fixture attaches itself."""
    return DiscordGateway()


@pytest.fixture
def roles(sqlite_engine: Engine, clock: Clock) -> RolesService:
    return RolesService(sqlite_engine, clock)


@pytest.fixture
def role_sync(roles: RolesService, gateway: DiscordGateway, clock: Clock) -> RoleSync:
    return RoleSync(roles, DiscordMemberRoles(gateway), clock=clock, pause_seconds=0)


@pytest.fixture
def linking(sqlite_engine: Engine, clock: Clock) -> LinkingService:
    return LinkingService(
        sqlite_engine, clock, link_secret=LINK_SECRET, public_base_url=LINK_BASE_URL
    )


@pytest.fixture
def link_effects(
    linking: LinkingService, gateway: DiscordGateway, role_sync: RoleSync
) -> LinkEffects:
    return LinkEffects(linking, DiscordLinks(gateway), role_sync=role_sync)


@pytest.fixture
def services(
    watchtime: WatchtimeService,
    guilds: GuildService,
    health_report: HealthReport,
    roles: RolesService,
    role_sync: RoleSync,
    linking: LinkingService,
    link_effects: LinkEffects,
) -> BotServices:
    return BotServices(
        watchtime=watchtime,
        guilds=guilds,
        health=lambda: health_report,
        roles=roles,
        role_sync=role_sync,
        linking=linking,
        link_effects=link_effects,
    )


@pytest.fixture(autouse=True)
def _reactions_with_a_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """dpytest's reaction events lack the ``type`` field Discord sends (0: a normal reaction),
    which discord.py 2.7 requires; add it where the gateway events are parsed."""
    from discord.ext.test.state import FakeState

    for name in ("parse_message_reaction_add", "parse_message_reaction_remove"):
        parse = getattr(FakeState, name)

        def with_type(self, data, parse=parse):  # type: ignore[no-untyped-def]
            return parse(self, {"type": 0, **data})

        monkeypatch.setattr(FakeState, name, with_type)


@pytest.fixture
async def bot(services: BotServices, gateway: DiscordGateway) -> AsyncIterator[commands.Bot]:
    bot = create_bot(services)
    await bot._async_setup_hook()
    # setup_hook also syncs slash commands, which needs the real Discord; load the cogs alone.
    await bot.load_cogs()
    dpytest.configure(
        bot,
        guilds=["Guild A", "Guild B"],
        text_channels=1,
        voice_channels=0,
        members=["alice", "bob"],
    )
    # dpytest never sends Discord's READY; the gateway hands out only a ready client.
    bot._ready.set()
    gateway.attach(bot)
    yield bot
    await dpytest.empty_queue()


@pytest.fixture
def member_edits(monkeypatch: pytest.MonkeyPatch, bot: commands.Bot) -> MemberEdits:
    """Every member edit the bot makes, applied to dpytest's members."""
    return record_member_edits(monkeypatch, bot)


@pytest.fixture
def guild_a(bot: commands.Bot) -> discord.Guild:
    return dpytest.get_config().guilds[0]


@pytest.fixture
def guild_b(bot: commands.Bot) -> discord.Guild:
    return dpytest.get_config().guilds[1]


@pytest.fixture
def alice(guild_a: discord.Guild) -> discord.Member:
    return member_of(guild_a, "alice")


@pytest.fixture
async def manager(guild_a: discord.Guild) -> discord.Member:
    """bob, given a role with Manage Server."""
    bob = member_of(guild_a, "bob")
    role = dpytest.backend.make_role(
        "Moderator", guild_a, permissions=discord.Permissions(manage_guild=True).value
    )
    await dpytest.add_role(bob, role)
    assert bob.guild_permissions.manage_guild
    return bob


@pytest.fixture
def services_with_kick(make_runtime) -> BotServices:
    """Every service the bot can get, Kick setup included, from a real Runtime with no Kick app
    configured (so nothing reaches Kick): for tests about the whole set of cogs and commands."""
    return runtime_services(make_runtime())


# --- linking: a real Runtime that talks to a fake Kick on 127.0.0.1 ---------------------------


@pytest.fixture
def viewer_kick() -> Iterator[FakeKick]:
    """A fake Kick where the viewer viewer_one (id 5001) consents to every sign-in."""
    with FakeKick(username=VIEWER_KICK_NAME, user_id=VIEWER_KICK_ID) as fake:
        yield fake


@pytest.fixture
def link_runtime(tmp_path: Path, viewer_kick: FakeKick, clock: Clock) -> Iterator[Runtime]:
    """A Runtime with a Kick app on the fake Kick and the test's clock. A module that uses it
    for the bot overrides ``services`` and ``gateway`` with :func:`runtime_services` and
    ``link_runtime.discord``."""
    runtime = build_runtime(str(tmp_path / "data"), viewer_kick, clock)
    runtime.role_sync.pause_seconds = 0
    yield runtime
    runtime.close()


# --- Kick's webhooks into the web app ---------------------------------------------------------


def kick_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class KickChannel:
    """Kick, as the web app sees it: signed webhooks for the example broadcaster (BROADCASTER),
    built from Kick's example payloads and timed by the test's clock."""

    def __init__(self, runtime: Runtime, private_key: RSAPrivateKey, clock: Clock) -> None:
        self.runtime = runtime
        self.client = runtime.create_web_app().test_client()
        self.private_key = private_key
        self.clock = clock

    def deliver(self, event_type: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        headers = signed_headers(
            self.private_key, body, event_type=event_type, timestamp=self.clock()
        )
        response = self.client.post("/webhooks/kick", data=body, headers=headers)
        assert response.status_code == 200, response.json
        assert response.json["status"] == "queued", response.json

    def go_live(self) -> None:
        payload = example("livestream.status.updated")
        payload["started_at"] = kick_time(self.clock())
        self.deliver("livestream.status.updated", payload)

    def chat(self, sender: Viewer) -> None:
        payload = example("chat.message.sent")
        assert sender.platform_user_id is not None
        payload["sender"] |= {"user_id": int(sender.platform_user_id), "username": sender.username}
        payload |= {
            "message_id": uuid.uuid4().hex,
            "content": "great stream",
            "created_at": kick_time(self.clock()),
        }
        self.deliver("chat.message.sent", payload)

    async def live_stream(self, chatter: Viewer, minutes: int) -> None:
        """The stream goes live and ``chatter`` chats every minute for ``minutes`` minutes while
        the watchtime ticks run; the bus hands each message to the bot's handlers meanwhile."""
        self.go_live()
        self.runtime.tick_all()
        for _ in range(minutes):
            self.clock.advance(30)  # mid-interval: a tick counts what came before its instant
            self.chat(chatter)
            await deliver_published(self.runtime)
            self.clock.advance(30)
            self.runtime.tick_all()


def example(event_type: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "kick" / f"{event_type}.json").read_bytes())
