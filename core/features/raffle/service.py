"""The raffle: periods, tickets on a ledger, and draws anyone can verify.

RaffleService is the one object the front ends, the scheduler and the event handlers talk to.
It holds the raffle's parts and passes each call to the one that does it:

- ``periods`` (:mod:`.periods`): the guild's settings; opening, closing and scheduling periods;
- ``admin`` (:mod:`.admin`): tickets given or removed by hand, voided gifts, exclusions;
- ``views`` (:mod:`.views`): a viewer's tickets and standing, the board, info, stats, proofs;
- ``draws`` (:mod:`.draws`): asking for draws, completing them when the beacon round is out;
- ``announcements`` (:mod:`.announcements`): the outbox Discord empties when it can.

It runs the scheduler itself: an open period that ended is closed (its last watchtime converted,
gifts on hold granted, the ledger frozen), drawn if the guild wants that, and followed by the
next one; a period that ended while the bot was down is handled as soon as it is back.
docs/raffle.md has the rules and the proof format.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from core.config import RaffleSettings
from core.events import Platform, SubscriptionsGifted, utc
from core.features.raffle import earning, earning_repository, periods_repository
from core.features.raffle.admin import RaffleAdmin
from core.features.raffle.announcements import RaffleAnnouncements
from core.features.raffle.draws import Proof, RaffleDraws
from core.features.raffle.earning_repository import Gift
from core.features.raffle.periods import Closing, RafflePeriods
from core.features.raffle.periods_repository import Period
from core.features.raffle.ports import Beacon, RaffleAnnouncer
from core.features.raffle.rates import RaffleRates
from core.features.raffle.views import (
    BoardView,
    InfoView,
    RaffleViews,
    Standing,
    StatsView,
    TicketsView,
)

log = logging.getLogger(__name__)


class RaffleService:
    def __init__(
        self,
        engine: Engine,
        settings: RaffleSettings,
        clock: Callable[[], datetime],
        *,
        beacon: Beacon | None = None,
        announcer: RaffleAnnouncer | None = None,
        new_seed: Callable[[], str] = lambda: secrets.token_hex(32),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.announcer = announcer
        self.draws = RaffleDraws(engine, beacon, clock)
        self.periods = RafflePeriods(engine, settings, clock, self.draws, new_seed)
        self.admin = RaffleAdmin(engine, clock)
        self.views = RaffleViews(engine, settings, self.draws)
        self.announcements = RaffleAnnouncements(engine, settings)

    # --- settings and periods (see RafflePeriods) ------------------------------------------

    def rates(self, guild_id: int) -> RaffleRates:
        return self.periods.rates(guild_id)

    def configure(self, guild_id: int, name: str, value: str) -> RaffleRates:
        return self.periods.configure(guild_id, name, value)

    def start(
        self, guild_id: int, *, start_day: int | None = None, end_day: int | None = None
    ) -> Period:
        return self.periods.start(guild_id, start_day=start_day, end_day=end_day)

    def end(self, guild_id: int) -> Closing:
        return self.periods.end(guild_id)

    def restart(self, guild_id: int) -> tuple[Closing | None, Period]:
        return self.periods.restart(guild_id)

    def set_dates(self, guild_id: int, first: str, last: str) -> Period:
        return self.periods.set_dates(guild_id, first, last)

    # --- the scheduler ---------------------------------------------------------------------

    def run_scheduled(self, now: datetime | None = None) -> None:
        """Everything time-driven: open and close periods (catching up on missed ones), turn
        watchtime into tickets, grant gifts whose hold is over, retry draws and beacon rounds."""
        now = utc(now or self.clock())
        with self.engine.connect() as conn:
            due = periods_repository.list_periods_due(conn, now)
        for period in due:
            try:
                self.periods.transition(period, now)
            except Exception:
                log.exception(
                    "guild %s: raffle period %s transition failed", period.guild_id, period.id
                )
        self.convert_watchtime(now)
        self.release_gifts(now)
        self.draws.complete_waiting()
        with self.engine.connect() as conn:
            unfixed = periods_repository.list_periods_without_round(conn)
        for period in unfixed:
            self.periods.with_round(period)

    def convert_watchtime(self, now: datetime | None = None) -> None:
        now = utc(now or self.clock())
        with self.engine.connect() as conn:
            guild_ids = periods_repository.list_guild_ids_with_open_period(conn)
        for guild_id in guild_ids:
            try:
                with self.engine.begin() as conn:
                    period = periods_repository.find_open_period(conn, guild_id)
                    if period is not None:
                        stored = periods_repository.get_settings(conn, guild_id)
                        earning.convert_watchtime(conn, period, stored, now)
            except earning.PeriodClosed:
                pass  # closed meanwhile; its close converted the last hours

    def release_gifts(self, now: datetime | None = None) -> None:
        now = utc(now or self.clock())
        with self.engine.connect() as conn:
            due = earning_repository.list_gifts_due(conn, now)
        for gift in due:
            try:
                with self.engine.begin() as conn:
                    period = periods_repository.get_period(conn, gift.period_id)
                    earning.grant_gift(conn, period.guild_id, gift, now)
            except earning.PeriodClosed:
                log.warning("gift %s: its period closed before the hold ended", gift.reference)

    # --- event handlers --------------------------------------------------------------------

    def record_gift(self, guild_id: int, event: SubscriptionsGifted) -> None:
        now = utc(self.clock())
        try:
            with self.engine.begin() as conn:
                period = periods_repository.find_open_period(conn, guild_id)
                if period is None:
                    return
                stored = periods_repository.get_settings(conn, guild_id)
                outcome = earning.record_gift(conn, period, stored, event, now)
        except earning.PeriodClosed:
            return
        if outcome is not None and outcome.is_new:
            log.info(
                "guild %s: gift %s worth %d tickets%s",
                guild_id,
                outcome.reference,
                outcome.tickets,
                " (on hold)" if outcome.pending else "",
            )

    # --- admin changes (see RaffleAdmin) ---------------------------------------------------

    def void_gift(self, guild_id: int, reference: str, *, actor_id: int) -> Gift:
        return self.admin.void_gift(guild_id, reference, actor_id=actor_id)

    def give(
        self,
        guild_id: int,
        *,
        actor_id: int,
        member_id: int,
        tickets: int,
        reason: str,
        reference: str,
    ) -> int:
        return self.admin.give(
            guild_id,
            actor_id=actor_id,
            member_id=member_id,
            tickets=tickets,
            reason=reason,
            reference=reference,
        )

    def exclude(
        self, guild_id: int, *, actor_id: int, member_id: int | None, username: str | None
    ) -> str:
        return self.admin.exclude(
            guild_id, actor_id=actor_id, member_id=member_id, username=username
        )

    def include(self, guild_id: int, *, member_id: int | None, username: str | None) -> str:
        return self.admin.include(guild_id, member_id=member_id, username=username)

    # --- views (see RaffleViews) -----------------------------------------------------------

    def tickets_of(self, guild_id: int, discord_user_id: int) -> TicketsView:
        return self.views.tickets_of(guild_id, discord_user_id)

    def standing(self, guild_id: int, platform: Platform, platform_user_id: str) -> Standing | None:
        return self.views.standing(guild_id, platform, platform_user_id)

    def board(self, guild_id: int, limit: int = 10) -> BoardView:
        return self.views.board(guild_id, limit)

    def info(self, guild_id: int) -> InfoView:
        return self.views.info(guild_id)

    def stats(self, guild_id: int, member_id: int | None = None) -> StatsView:
        return self.views.stats(guild_id, member_id)

    def proof(self, guild_id: int, draw_id: int | None = None) -> Proof:
        return self.views.proof(guild_id, draw_id)

    def export(self, period_id: int) -> Proof:
        return self.views.export(period_id)

    # --- announcements ---------------------------------------------------------------------

    async def announce_pending(self) -> None:
        """Post the announcements not posted yet; what Discord refuses waits for the next call.
        Nothing is posted (or marked posted) while the service has no announcer."""
        if self.announcer is not None:
            await self.announcements.post_pending(self.announcer)
