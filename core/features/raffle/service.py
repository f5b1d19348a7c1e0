"""The raffle: periods, tickets on a ledger, and draws anyone can verify.

RaffleService holds the raffle's parts; the front ends call the part that does what they ask
(``raffle.views.board(...)``, ``raffle.admin.give(...)``), and the scheduler and the event
handlers call the service itself:

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

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from core.config import RaffleSettings
from core.events import SubscriptionsGifted, utc
from core.features.guild_batches import work_in_batches
from core.features.raffle.admin import RaffleAdmin
from core.features.raffle.announcements import RaffleAnnouncements
from core.features.raffle.draws import fairness
from core.features.raffle.draws.service import RaffleDraws
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.earning import service as earning
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.service import RafflePeriods
from core.features.raffle.ports import Beacon, RaffleAnnouncer
from core.features.raffle.views import (
    RaffleViews,
)
from core.features.shard_posts import ShardPosts

log = logging.getLogger(__name__)
CONVERT_BATCH = 500  # guilds whose watchtime tickets are converted in one transaction


class RaffleService:
    def __init__(
        self,
        engine: Engine,
        settings: RaffleSettings,
        clock: Callable[[], datetime],
        *,
        actor_secret: str,
        beacon: Beacon | None = None,
        announcer: RaffleAnnouncer | None = None,
        new_seed: Callable[[], str] = lambda: secrets.token_hex(32),
        before_transitions: Callable[[datetime | None], Awaitable[object]] | None = None,
        on_this_shard: Callable[[int], bool] = lambda guild_id: True,
        snapshot_version: int = fairness.SNAPSHOT_VERSION,
        proof_base_url: str | None = None,
    ) -> None:
        """``on_this_shard(guild_id)``: whether this process's Discord client reaches the guild
        (it posts only those guilds' announcements; the process of each other shard posts its).
        ``actor_secret``: the deployment's secret (``link_secret``) that keys the admins'
        pseudonyms in the public ledger; ``snapshot_version`` as in :class:`RafflePeriods`;
        ``proof_base_url``: the dashboard's public address (``OAUTH_BASE_URL``), where each
        closed period's proof page is."""
        self.engine = engine
        self.clock = clock
        self.proof_base_url = proof_base_url
        self.announcer = announcer
        self.posts = ShardPosts(on_this_shard)
        # Work that must finish before periods close (the wager poll at a period's end).
        self.before_transitions = before_transitions
        self.draws = RaffleDraws(engine, beacon, clock, actor_secret)
        self.periods = RafflePeriods(
            engine, settings, clock, self.draws, new_seed, snapshot_version
        )
        self.admin = RaffleAdmin(engine, clock)
        self.views = RaffleViews(engine, settings, self.draws)
        self.announcements = RaffleAnnouncements(engine, settings, clock)

    def proof_page(self, period_id: int) -> str | None:
        """The period's public proof page (its proof, ledger and the browser's check); None
        when the dashboard's address is not set."""
        if not self.proof_base_url:
            return None
        return f"{self.proof_base_url.rstrip('/')}/raffle/{period_id}"

    # --- the scheduler ---------------------------------------------------------------------

    def run_scheduled(self, now: datetime | None = None) -> None:
        """Everything time-driven: open and close periods (catching up on missed ones), turn
        watchtime into tickets, grant gifts whose hold is over, fix the beacon rounds of
        periods without one. Draws waiting for their round are :meth:`complete_waiting_draws`'s."""
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
        self.periods.resume(now)  # what a process killed mid-close left undone
        self.convert_watchtime(now)
        self.release_gifts(now)
        with self.engine.connect() as conn:
            unfixed = periods_repository.list_periods_without_round(conn)
        for period in unfixed:
            self.periods.with_round(period)

    def convert_watchtime(self, now: datetime | None = None) -> None:
        """Every open period's full hours watched into tickets."""
        now = utc(now or self.clock())
        with self.engine.connect() as conn:
            guild_ids = periods_repository.list_guild_ids_with_open_period(conn)
        self.convert_watchtime_many(guild_ids, now)

    def convert_watchtime_many(self, guild_ids: Sequence[int], now: datetime) -> int:
        """The open period of each guild given converted (a guild without one is skipped): a
        transaction and a few statements per batch of ``CONVERT_BATCH`` guilds
        (``earning.convert_watchtime_many``); the tickets given. A batch that fails is
        converted again guild by guild, so one guild's failure is its own (logged; the next run
        retries it)."""

        def convert_batch(batch: list[int]) -> list[int]:
            with self.engine.begin() as conn:
                return [earning.convert_watchtime_many(conn, batch, utc(now))]  # the batch's total

        return sum(
            work_in_batches(
                guild_ids,
                CONVERT_BATCH,
                convert_batch,
                lambda guild_id: self.convert_guild_watchtime(guild_id, now),
                log=log,
                batch_failed=(
                    "a batch of %d guilds' watchtime tickets failed; converting them one by one"
                ),
                guild_failed="guild %s: watchtime tickets failed; the next run retries",
            )
        )

    def convert_guild_watchtime(self, guild_id: int, now: datetime) -> int:
        """One guild's open period's hours into tickets, in its own transaction; the tickets
        given (0 without an open period, or when it closed meanwhile: its close converted the
        last hours).

        The one-guild path, on the per-guild repository functions: ``convert_watchtime`` falls
        back on it when a batch fails, and tests hold the batch to it
        (tests/features/raffle/test_convert_many.py)."""
        try:
            with self.engine.begin() as conn:
                period = periods_repository.find_open_period(conn, guild_id)
                if period is None:
                    return 0
                stored = periods_repository.get_settings(conn, guild_id)
                return earning.convert_watchtime(conn, period, stored, now)
        except earning.PeriodClosed:
            return 0

    def release_gifts(self, now: datetime | None = None) -> None:
        now = utc(now or self.clock())
        with self.engine.connect() as conn:
            due = earning_repository.list_gifts_due(conn, now)
        for gift in due:
            try:
                with self.engine.begin() as conn:
                    period = periods_repository.get_period(conn, gift.period_id)
                    # The period before the gift, in the close's order (taken the other way
                    # round, a release and a close of the same period deadlocked).
                    earning.hold(conn, period)
                    earning.grant_gift(conn, period.guild_id, gift, now)
            except earning.PeriodClosed:  # the close granted what was still on hold
                log.info("gift %s: granted by its period's close", gift.reference)

    # --- event handlers --------------------------------------------------------------------

    def record_gift(self, guild_id: int, event: SubscriptionsGifted) -> None:
        """A gift's tickets, in the open period; in the next one when a close ends that period
        while the gift is written (it counts after the close, as a gift handled after it)."""
        now = utc(self.clock())

        def record() -> earning.GiftOutcome | None:
            with self.engine.begin() as conn:
                period = periods_repository.find_open_period(conn, guild_id)
                if period is None:
                    return None
                stored = periods_repository.get_settings(conn, guild_id)
                return earning.record_gift(conn, period, stored, event, now)

        outcome = earning.across_a_close(record)
        if outcome is not None and outcome.is_new:
            log.info(
                "guild %s: gift %s worth %d tickets%s",
                guild_id,
                outcome.reference,
                outcome.tickets,
                " (on hold)" if outcome.pending else "",
            )

    # --- announcements ---------------------------------------------------------------------

    async def run_timed_work(self, now: datetime | None = None) -> None:
        """The raffle's work after each watchtime tick: period transitions (catching up on any
        missed while the bot was down), watchtime tickets, gift holds, in a worker thread.
        Draws waiting for the beacon are :meth:`complete_waiting_draws`'s and announcements
        :meth:`announce_pending`'s, jobs of their own (a Discord or a drand relay that hangs
        holds no tick, period or draw)."""
        if self.before_transitions is not None:
            await self.before_transitions(now)
        await asyncio.to_thread(self.run_scheduled, now)

    async def complete_waiting_draws(self) -> None:
        """Draw what waits for its beacon round, once the round is out (a job of its own: the
        drand relays answer slowly or not at all at times, and the tick does not wait for
        them)."""
        await asyncio.to_thread(self.draws.complete_waiting)

    async def announce_pending(self) -> None:
        """Post the announcements not posted yet of the guilds this process's Discord client
        reaches; what Discord refuses waits for the next call. Nothing is posted (or marked
        posted) while the service has no announcer."""
        if self.announcer is not None:
            async with self.posts.one_round():
                await self.announcements.post_pending(self.announcer, self.posts)
