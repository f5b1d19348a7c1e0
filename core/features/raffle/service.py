"""The raffle: periods, tickets on a ledger, and draws anyone can verify.

See docs/raffle.md for the rules as viewers see them and for the draw proof's format.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.config import RaffleSettings
from core.features.raffle import repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RaffleRates:
    """A guild's raffle settings, with the process-wide defaults filled in."""

    watch_hour_tickets: int
    gifted_sub_tickets: int
    wager_thousand_tickets: int
    gift_hold_minutes: int
    auto_draw: bool
    announcement_channel_id: int | None
    time_zone: str
    linked_only: bool


class RaffleService:
    def __init__(
        self, engine: Engine, settings: RaffleSettings, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def rates(self, guild_id: int) -> RaffleRates:
        with self.engine.connect() as conn:
            stored = repository.get_settings(conn, guild_id)
        return self._resolve(stored)

    def _resolve(self, stored: repository.GuildRaffleSettings) -> RaffleRates:
        return RaffleRates(
            watch_hour_tickets=stored.watch_hour_tickets,
            gifted_sub_tickets=stored.gifted_sub_tickets,
            wager_thousand_tickets=stored.wager_thousand_tickets,
            gift_hold_minutes=stored.gift_hold_minutes,
            auto_draw=self.settings.auto_draw if stored.auto_draw is None else stored.auto_draw,
            announcement_channel_id=stored.announcement_channel_id
            or self.settings.announcement_channel_id,
            time_zone=stored.time_zone,
            linked_only=stored.linked_only,
        )
