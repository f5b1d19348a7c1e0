"""Chat !tickets answered from the raffle's ledger (the Runtime's wiring of the two features)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.config import WatchtimeSettings
from core.events import Platform
from core.features.chat_commands.commands import StandardCommands
from core.features.chat_commands.router import ChatCommandRouter
from core.features.guilds.service import GuildService
from core.features.raffle import ledger_repository
from core.features.watchtime.service import WatchtimeService
from core.wiring.raffle import RaffleTicketBalances
from tests.features.chat_commands.doubles import RecordingSender, replier_for, webhook_chat
from tests.features.raffle.support import GUILD, make_service
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def raffle(engine: sa.Engine, clock: Clock):  # type: ignore[no-untyped-def]
    return make_service(engine, clock)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def router(engine: sa.Engine, clock: Clock, raffle, sender) -> ChatCommandRouter:  # type: ignore[no-untyped-def]
    watchtime = WatchtimeService(engine, WatchtimeSettings(60, 60), clock)
    commands = StandardCommands(
        watchtime, GuildService(engine, clock).name_of, RaffleTicketBalances(raffle)
    )
    return ChatCommandRouter(commands.commands(), replier_for(sender))


def award(engine: sa.Engine, period_id: int, user_id: str, tickets: int, ref: str) -> None:
    with engine.begin() as conn:
        ledger_repository.add_ledger_entry(
            conn,
            guild_id=GUILD,
            period_id=period_id,
            platform=Platform.KICK,
            platform_user_id=user_id,
            amount=tickets,
            source="admin",
            source_ref=ref,
            actor_id=1,
            reason="test",
            at=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
        )


async def ask(router: ChatCommandRouter, user_id: int) -> None:
    await router.handle(GUILD, webhook_chat("!tickets", badges=[], sender_id=user_id))
    await router.flush()


async def test_chat_tickets_without_an_open_period_says_the_raffle_is_not_running(
    router: ChatCommandRouter, sender: RecordingSender
) -> None:
    await ask(router, 7)

    assert sender.texts == ["The raffle is not running right now."]


async def test_chat_tickets_shows_the_viewers_own_tickets_and_rank_from_the_ledger(
    engine: sa.Engine, raffle, router: ChatCommandRouter, sender: RecordingSender
) -> None:
    period = raffle.periods.start(GUILD)
    award(engine, period.id, "7", 12, "a")
    award(engine, period.id, "8", 30, "b")
    award(engine, period.id, "7", 12, "a")  # a replay adds nothing

    await ask(router, 7)
    await ask(router, 9)

    assert sender.texts == [
        "You have 12 raffle tickets: rank #2 of 2.",
        "You have no raffle tickets yet.",
    ]
