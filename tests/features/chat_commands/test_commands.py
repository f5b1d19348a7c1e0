"""Chat !watchtime, !tickets and !link, answered through the router on a real database."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from core.config import WatchtimeSettings
from core.events import Platform
from core.features.chat_commands.answering import AnsweringGuilds
from core.features.chat_commands.commands import RAFFLE_NOT_RUNNING, StandardCommands
from core.features.chat_commands.ports import TicketBalance
from core.features.chat_commands.queued import QueuedChat
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.features.connections import connection_rows
from core.features.connections.tables import kick_connections
from core.features.guilds.service import GuildService
from core.features.watchtime.durations import format_duration
from core.features.watchtime.service import WatchtimeService
from core.storage import db
from tests.features.chat_commands.doubles import (
    BROADCASTER,
    T0,
    RecordingSender,
    replier_for,
    webhook_chat,
)
from tests.features.chat_commands.test_queued import chat_worker
from tests.support.clock import Clock

GUILD = 111
OTHER_GUILD = 222


class Balances:
    """A stand-in for the raffle: fixed balances by (guild, user id); None: no raffle open."""

    def __init__(self, balances: dict[tuple[int, str], TicketBalance] | None) -> None:
        self.balances = balances
        self.asked: list[tuple[int, Platform, str]] = []

    def balance(self, guild_id: int, platform: Platform, platform_user_id: str):
        self.asked.append((guild_id, platform, platform_user_id))
        if self.balances is None:
            return None
        return self.balances.get((guild_id, platform_user_id), TicketBalance(0, None, 3))

    def running(self, guild_id: int) -> bool:
        return self.balances is not None


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def watchtime(engine, clock) -> WatchtimeService:
    return WatchtimeService(engine, WatchtimeSettings(60, 60), clock)


@pytest.fixture
def guilds(engine, clock) -> GuildService:
    return GuildService(engine, clock)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


def router_with(sender, watchtime, guilds, tickets=None) -> ChatCommandRouter:
    standard = StandardCommands(watchtime, guilds.name_of, tickets)
    return ChatCommandRouter(standard.commands(), replier_for(sender))


async def ask(router: ChatCommandRouter, guild_id: int, content: str, **sender) -> None:
    await router.handle(guild_id, webhook_chat(content, badges=[], **sender))
    await router.flush()


def earn(watchtime: WatchtimeService, clock: Clock, guild_id: int, seconds: int, *viewers) -> None:
    """Every (user id, name) in ``viewers`` chats, then ``seconds`` are credited to them."""
    watchtime.tick(guild_id)
    for user_id, name in viewers:
        watchtime.record_chat(
            guild_id, webhook_chat("hi", sender_id=user_id, username=name, at=clock.now)
        )
    clock.now += timedelta(seconds=seconds)
    watchtime.tick(guild_id)
    clock.now += timedelta(hours=2)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0 min"), (59, "0 min"), (2700, "45 min"), (7500, "2 h 05 min")]
)
def test_durations_read_in_hours_and_minutes(seconds, shown) -> None:
    assert format_duration(seconds) == shown


async def test_watchtime_answers_with_the_senders_own_time_and_rank(
    sender, watchtime, guilds, clock
):
    for user_id, name in [(1, "ann"), (2, "ben")]:
        earn(watchtime, clock, GUILD, 3600, (user_id, name))
    earn(watchtime, clock, GUILD, 3600, (1, "ann"))  # ann: 2 h, ben: 1 h
    earn(watchtime, clock, OTHER_GUILD, 3600 * 5, (2, "ben"))  # another guild's hours
    router = router_with(sender, watchtime, guilds)

    await ask(router, GUILD, "!watchtime", sender_id=2, username="ben_renamed")

    [line] = sender.sent
    assert line.text == "You have watched 1 h 00 min: rank #2 of 2."
    assert line.guild_id == GUILD


async def test_watchtime_for_a_viewer_without_any_says_how_to_earn_it(sender, watchtime, guilds):
    router = router_with(sender, watchtime, guilds)

    await ask(router, GUILD, "!WT", sender_id=9)

    assert sender.texts == ["No watchtime yet: chat while the stream is live to earn it."]


async def test_tickets_without_a_raffle_say_it_is_not_running(sender, watchtime, guilds):
    router = router_with(sender, watchtime, guilds, tickets=None)

    await ask(router, GUILD, "!tickets")

    assert sender.texts == [RAFFLE_NOT_RUNNING]


@pytest.mark.parametrize(
    ("balances", "reply"),
    [
        (None, RAFFLE_NOT_RUNNING),
        ({}, "You have no raffle tickets yet."),
        ({(GUILD, "7"): TicketBalance(1, 3, 10)}, "You have 1 raffle ticket: rank #3 of 10."),
        ({(GUILD, "7"): TicketBalance(12, 1, 10)}, "You have 12 raffle tickets: rank #1 of 10."),
    ],
)
async def test_tickets_answer_from_the_raffles_balances(sender, watchtime, guilds, balances, reply):
    tickets = Balances(balances)
    router = router_with(sender, watchtime, guilds, tickets=tickets)

    await ask(router, GUILD, "!tickets", sender_id=7)

    assert sender.texts == [reply]
    assert tickets.asked == [(GUILD, Platform.KICK, "7")]


async def test_link_tells_the_viewer_where_to_type_it(sender, watchtime, guilds):
    guilds.ensure_guild(GUILD, "Slot \u200bFans")
    router = router_with(sender, watchtime, guilds)

    await ask(router, GUILD, "!link")
    await ask(router, OTHER_GUILD, "!link")  # a server whose name the bot never stored

    assert sender.texts == [
        "To link your Kick account, type !link kick in Slot Fans's Discord.",
        "To link your Kick account, type !link kick in the Discord server.",
    ]


async def test_link_in_twitch_chat_names_the_twitch_command(sender, watchtime, guilds):
    """A server with both platforms asks which one a bare !link means: name it."""
    guilds.ensure_guild(GUILD, "Slot Fans")
    router = router_with(sender, watchtime, guilds)
    message = dataclasses.replace(webhook_chat("!link", badges=[]), platform=Platform.TWITCH)

    await router.handle(GUILD, message)
    await router.flush()

    assert sender.texts == [
        "To link your Twitch account, type !link twitch in Slot Fans's Discord."
    ]


def connect_streamer(engine, guild_id: int, broadcaster_user_id: str, status: str) -> None:
    """The guild's Kick streamer connection, as ``!kick setup`` stores it."""
    stored = connection_rows.StoredConnection(
        guild_id=guild_id,
        broadcaster_user_id=broadcaster_user_id,
        username="streamer",
        access_token="sealed",
        refresh_token=None,
        expires_at=T0 + timedelta(hours=1),
        scopes=("chat:write",),
        status=status,
        connected_by=1,
    )
    with engine.begin() as conn:
        connection_rows.save(conn, kick_connections, stored, T0)


@pytest.mark.parametrize(
    ("connections", "named"),
    [
        ({}, "Main"),  # no streamer connection: the lowest server id
        ({OTHER_GUILD: "connected"}, "Clips"),  # the server the bot talks there with
        ({GUILD: "needs_reauth", OTHER_GUILD: "connected"}, "Clips"),
        ({GUILD: "connected", OTHER_GUILD: "connected"}, "Main"),
    ],
)
async def test_one_link_command_in_a_channel_two_servers_follow_is_answered_once(
    engine, clock, watchtime, guilds, connections, named
):
    """One Kick channel followed by two Discord servers: the dispatcher hands the message to
    both, the stream has one chat, and the viewer gets one answer naming one server."""
    kick = RecordingSender()
    for guild_id, name in ((GUILD, "Main"), (OTHER_GUILD, "Clips")):
        guilds.ensure_guild(guild_id, name)
        guilds.set_kick_channel(guild_id, "slotfans", BROADCASTER)
    for guild_id, status in connections.items():
        connect_streamer(engine, guild_id, BROADCASTER, status)
    queued = QueuedChat(engine, clock, lambda _: kick)
    router = ChatCommandRouter(
        StandardCommands(watchtime, guilds.name_of).commands(),
        ChatReplier(queued.sender_for),
        answers=AnsweringGuilds(engine, guilds.guilds_tracking).answers,
    )
    message = webhook_chat("!link", badges=[])
    await router.handle(GUILD, message)
    await router.handle(OTHER_GUILD, message)
    await router.flush()
    await chat_worker(queued).run_once()

    assert kick.texts == [f"To link your Kick account, type !link kick in {named}'s Discord."]


async def test_a_server_that_follows_a_channel_alone_answers_there(engine, watchtime, guilds):
    """A channel only one server follows (or one the routing does not know): that server
    answers, without asking the database which."""
    sender = RecordingSender()
    guilds.set_kick_channel(GUILD, "slotfans", BROADCASTER)
    answering = AnsweringGuilds(engine, guilds.guilds_tracking)
    router = ChatCommandRouter(
        StandardCommands(watchtime, guilds.name_of).commands(),
        replier_for(sender),
        answers=answering.answers,
    )
    await ask(router, GUILD, "!link")
    await ask(router, OTHER_GUILD, "!link", broadcaster="555")  # a channel nobody follows
    assert len(sender.texts) == 2
    assert answering(Platform.KICK, BROADCASTER) == GUILD


def test_without_the_connections_the_lowest_server_answers(caplog):
    """The streamer connections unreadable (the database away): still one server speaks."""
    unreachable = db.create_engine("postgresql+psycopg://nobody:x@127.0.0.1:9/none")
    try:
        answering = AnsweringGuilds(unreachable, lambda *route: [OTHER_GUILD, GUILD])
        assert answering(Platform.KICK, BROADCASTER) == GUILD
    finally:
        unreachable.dispose()
    assert "the lowest server answers" in caplog.text
