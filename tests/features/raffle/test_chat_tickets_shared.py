"""``!tickets`` in a channel two Discord servers follow (a streamer's server and a partner's):
the stream's one chat is answered by a server whose raffle is running, when one's is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.config import WatchtimeSettings
from core.events import Platform
from core.features.chat_commands.answering import AnsweringGuilds
from core.features.chat_commands.commands import StandardCommands
from core.features.chat_commands.router import ChatCommandRouter
from core.features.guilds.service import GuildService
from core.features.raffle import ledger_repository
from core.features.watchtime.service import WatchtimeService
from core.wiring.raffle import RaffleTicketBalances
from tests.features.chat_commands.doubles import (
    BROADCASTER,
    RecordingSender,
    replier_for,
    webhook_chat,
)
from tests.features.raffle.support import make_service
from tests.support.clock import Clock

MAIN, PARTNER = 1001, 2002  # MAIN, the lower id, answers chat when neither raffle runs
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def raffle(engine: sa.Engine, clock: Clock):  # type: ignore[no-untyped-def]
    return make_service(engine, clock)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def router(engine: sa.Engine, clock: Clock, raffle, sender) -> ChatCommandRouter:  # type: ignore[no-untyped-def]
    guilds = GuildService(engine, clock)
    for guild_id in (MAIN, PARTNER):
        guilds.set_kick_channel(guild_id, "slotfans", BROADCASTER)
    watchtime = WatchtimeService(engine, WatchtimeSettings(60, 60), clock)
    commands = StandardCommands(watchtime, guilds.name_of, RaffleTicketBalances(raffle))
    return ChatCommandRouter(
        commands.commands(),
        replier_for(sender),
        answers=AnsweringGuilds(engine, guilds.guilds_tracking).answers,
    )


def award(engine: sa.Engine, guild_id: int, period_id: int, user_id: str, tickets: int) -> None:
    with engine.begin() as conn:
        ledger_repository.add_ledger_entry(
            conn,
            guild_id=guild_id,
            period_id=period_id,
            platform=Platform.KICK,
            platform_user_id=user_id,
            amount=tickets,
            source="admin",
            source_ref=f"{guild_id}:{user_id}",
            actor_id=1,
            reason="test",
            at=NOW,
        )


async def ask(router: ChatCommandRouter, user_id: int) -> None:
    message = webhook_chat("!tickets", badges=[], sender_id=user_id)
    for guild_id in (MAIN, PARTNER):  # the dispatcher hands it to both servers
        await router.handle(guild_id, message)
    await router.flush()


async def test_tickets_are_told_from_the_server_whose_raffle_runs(
    engine: sa.Engine, raffle, router: ChatCommandRouter, sender: RecordingSender
) -> None:
    period = raffle.periods.start(PARTNER)  # MAIN runs no raffle
    award(engine, PARTNER, period.id, "7", 12)

    await ask(router, 7)

    assert sender.texts == ["You have 12 raffle tickets: rank #1 of 1."]


async def test_with_no_raffle_in_either_server_it_is_said_once(
    router: ChatCommandRouter, sender: RecordingSender
) -> None:
    await ask(router, 7)

    assert sender.texts == ["The raffle is not running right now."]
