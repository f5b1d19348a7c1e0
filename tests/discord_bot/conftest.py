"""The bot on dpytest's fake Discord, backed by real services on a migrated SQLite database.

dpytest builds two servers, "Guild A" and "Guild B", each with one text channel and the members
alice and bob (neither may manage the server until a test says so). Viewers earn watchtime the
way they do in production: chat events and ticks on a clock the test moves.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from sqlalchemy.engine import Engine

from core.config import WatchtimeSettings
from core.discord_bot.bot import BotServices, create_bot
from core.events import ChatMessageSent, Platform, Viewer
from core.features.guilds.service import GuildService
from core.features.watchtime.service import WatchtimeService
from core.health import Check, HealthReport
from tests.discord_bot.fake_discord import member_of

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
BROADCASTER = "123456789"
# A long active window keeps the number of ticks (and test time) small for hours of watchtime.
SETTINGS = WatchtimeSettings(interval_seconds=60, active_window_minutes=60)
HEALTHY = HealthReport([Check("database", True, "sqlite, migrated")])


class Clock:
    """A clock that only moves when the test moves it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Stream:
    """Gives viewers watchtime through the service: they chat, the clock moves, ticks credit."""

    def __init__(self, watchtime: WatchtimeService, clock: Clock) -> None:
        self.watchtime = watchtime
        self.clock = clock
        self._ids = iter(range(1000, 10_000))

    def viewer(self, username: str) -> Viewer:
        return Viewer(str(next(self._ids)), username)

    def chat(self, guild_id: int, viewer: Viewer) -> None:
        event = ChatMessageSent(
            platform=Platform.KICK,
            event_id=uuid.uuid4().hex,
            broadcaster_user_id=BROADCASTER,
            occurred_at=self.clock(),
            viewer=viewer,
            content="hi",
        )
        self.watchtime.record_chat(guild_id, event)

    def earn(self, guild_id: int, viewer: Viewer | str, seconds: int) -> Viewer:
        """Credit exactly ``seconds`` to ``viewer`` alone in ``guild_id``."""
        if isinstance(viewer, str):
            viewer = self.viewer(viewer)
        window = SETTINGS.active_window_minutes * 60
        # A quiet spell first: everyone who chatted before has left the active window.
        self.clock.advance(2 * window)
        self.watchtime.tick(guild_id)
        remaining = seconds
        while remaining > 0:
            step = min(remaining, window)
            self.chat(guild_id, viewer)
            self.clock.advance(step)
            self.watchtime.tick(guild_id)
            remaining -= step
        return viewer


@pytest.fixture
def clock() -> Clock:
    return Clock()


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
def services(
    watchtime: WatchtimeService, guilds: GuildService, health_report: HealthReport
) -> BotServices:
    return BotServices(watchtime=watchtime, guilds=guilds, health=lambda: health_report)


@pytest.fixture
async def bot(services: BotServices) -> AsyncIterator[commands.Bot]:
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
    yield bot
    await dpytest.empty_queue()


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
    runtime = make_runtime()
    return BotServices(
        runtime.watchtime,
        runtime.guilds,
        runtime.health,
        runtime.kick_setup,
        raffle=runtime.raffle,
        wagers=runtime.wagers,
    )
