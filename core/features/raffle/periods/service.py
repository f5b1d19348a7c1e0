"""Raffle periods: a guild's settings, and opening, closing and scheduling its periods.

A guild has at most one current period (scheduled or open). Closing a period converts the last
watchtime, grants gifts still on hold and freezes the ledger: its hash and the participants who
may win (linked, unless the guild turned that off, and not excluded). When an open period ends
on its own, the next one opens while the guild keeps the raffle running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.config import RaffleSettings
from core.events import utc
from core.features.raffle.draws import fairness, frozen_ranges
from core.features.raffle.draws.repository import Draw
from core.features.raffle.draws.service import RaffleDraws, chain_of, snapshot_digest
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.earning import service as earning
from core.features.raffle.errors import DrawNotDue, RaffleRefused
from core.features.raffle.periods import calendar, resume_repository
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.repository import Period
from core.features.raffle.ports import BeaconUnavailable
from core.features.raffle.rates import RaffleRates, parse_setting, read_rates
from core.features.raffle.wagers.rate_change import rebase_for_rate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Closing:
    period: Period
    draw: Draw | None


class RafflePeriods:
    def __init__(
        self,
        engine: Engine,
        settings: RaffleSettings,
        clock: Callable[[], datetime],
        draws: RaffleDraws,
        new_seed: Callable[[], str],
        snapshot_version: int = fairness.SNAPSHOT_VERSION,
    ) -> None:
        """``snapshot_version``: the version a close freezes the ledger in (docs/raffle.md);
        only tests close in version 1, as releases before pseudonyms did."""
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.draws = draws
        self.new_seed = new_seed
        if snapshot_version not in fairness.SNAPSHOT_VERSIONS:
            raise ValueError(f"there is no snapshot version {snapshot_version}")
        self.snapshot_version = snapshot_version

    def _now(self) -> datetime:
        return utc(self.clock())

    # --- settings --------------------------------------------------------------------------

    def rates(self, guild_id: int) -> RaffleRates:
        with self.engine.connect() as conn:
            return read_rates(conn, guild_id, self.settings)

    def configure(self, guild_id: int, name: str, value: str) -> RaffleRates:
        """Change one setting from text (``!raffleset <name> <value>``)."""
        column, parsed = parse_setting(name, value)
        with self.engine.begin() as conn:
            before = periods_repository.get_settings(conn, guild_id)
            periods_repository.update_settings(conn, guild_id, **{column: parsed})
            if column == "wager_thousand_tickets":
                # From now on, not back over the period: what was earned stays as it was.
                old = before.wager_thousand_tickets
                rebase_for_rate(conn, guild_id, old, parsed, self._now())
        return self.rates(guild_id)

    # --- periods ---------------------------------------------------------------------------

    def start(
        self, guild_id: int, *, start_day: int | None = None, end_day: int | None = None
    ) -> Period:
        """Open a period (or schedule one starting later this month) and keep them coming."""
        now = self._now()
        rates = self.rates(guild_id)
        try:
            starts_at, ends_at = calendar.days_of_this_month(
                now, rates.time_zone, start_day, end_day
            )
        except calendar.BadDates as exc:
            raise RaffleRefused(str(exc)) from exc
        with self.engine.begin() as conn:
            self._refuse_if_current(conn, guild_id)
            period = self._create(conn, guild_id, starts_at, ends_at, now)
            periods_repository.update_settings(conn, guild_id, running=True)
        return self.with_round(period)

    def end(self, guild_id: int) -> Closing:
        """Close the open period now (or cancel a scheduled one) and stop opening new ones."""
        now = self._now()
        with self.engine.begin() as conn:
            current = periods_repository.find_open_or_scheduled_period(conn, guild_id)
            if current is None:
                raise RaffleRefused("No raffle period is open.")
            periods_repository.update_settings(conn, guild_id, running=False)
            if current.status == "scheduled":
                periods_repository.cancel_period(conn, current.id)
                return Closing(current, None)
        return self._close_and_draw(current, now, ends_at=now)

    def restart(self, guild_id: int) -> tuple[Closing | None, Period]:
        """Close the open period now (drawing if the guild draws automatically) and open a new
        one from now to the end of the month."""
        now = self._now()
        closing = None
        with self.engine.begin() as conn:
            current = periods_repository.find_open_or_scheduled_period(conn, guild_id)
            if current is not None and current.status == "scheduled":
                periods_repository.cancel_period(conn, current.id)
        if current is not None and current.status == "open":
            closing = self._close_and_draw(current, now, ends_at=now)
        rates = self.rates(guild_id)
        with self.engine.begin() as conn:
            ends_at = calendar.month_end(now, rates.time_zone)
            period = self._create(conn, guild_id, now, ends_at, now)
            periods_repository.update_settings(conn, guild_id, running=True)
        return closing, self.with_round(period)

    def set_dates(self, guild_id: int, first: str, last: str) -> Period:
        now = self._now()
        rates = self.rates(guild_id)
        try:
            starts_at, ends_at = calendar.parse_dates(first, last, rates.time_zone)
        except calendar.BadDates as exc:
            raise RaffleRefused(str(exc)) from exc
        if ends_at <= now:
            raise RaffleRefused("That period would already be over.")
        with self.engine.begin() as conn:
            current = periods_repository.find_open_or_scheduled_period(conn, guild_id)
            if current is None:
                period = self._create(conn, guild_id, starts_at, ends_at, now)
                periods_repository.update_settings(conn, guild_id, running=True)
            elif current.status == "open" and starts_at > now:
                raise RaffleRefused(
                    "The period is already open, so it cannot start later than now; "
                    "end it with !raffleend first."
                )
            else:
                periods_repository.set_period_dates(conn, current.id, starts_at, ends_at)
                if current.status == "scheduled" and starts_at <= now:
                    self._open(conn, current, now)
                period = periods_repository.get_period(conn, current.id)
        return self.with_round(period)

    def _refuse_if_current(self, conn: Connection, guild_id: int) -> None:
        current = periods_repository.find_open_or_scheduled_period(conn, guild_id)
        if current is not None:
            raise RaffleRefused(
                f"A raffle period is already {current.status}; end it with !raffleend "
                "or change its dates with !rafflesetdate."
            )

    def _create(
        self, conn: Connection, guild_id: int, starts_at: datetime, ends_at: datetime, now: datetime
    ) -> Period:
        seed = self.new_seed()
        period_id = periods_repository.create_period(
            conn,
            guild_id=guild_id,
            starts_at=starts_at,
            ends_at=ends_at,
            status="open" if starts_at <= now else "scheduled",
            seed=seed,
            commitment=fairness.commitment_of(seed),
            now=now,
        )
        if period_id is None:
            raise RaffleRefused("A raffle period is already open.")
        period = periods_repository.get_period(conn, period_id)
        if period.is_open:
            earning_repository.take_watch_baselines(conn, guild_id, period_id)
        return period

    def _open(self, conn: Connection, period: Period, now: datetime) -> None:
        if periods_repository.mark_period_open(conn, period.id, now):
            earning_repository.take_watch_baselines(conn, period.guild_id, period.id)

    def with_round(self, period: Period) -> Period:
        """The period with its beacon round fixed, when the beacon answers (else later)."""
        try:
            return self.draws.fix_round(period)
        except BeaconUnavailable as exc:
            log.info("guild %s: beacon round not fixed yet (%s)", period.guild_id, exc)
            return period

    def _close(
        self, period: Period, now: datetime, ends_at: datetime, *, next_period: bool = False
    ) -> Period | None:
        """Freeze the period's ledger; None if it was not open any more. In the same
        transaction: mark its automatic draw as due (when the guild draws automatically) and,
        with ``next_period``, create the next period while the raffle runs, so a process killed
        at any point leaves either nothing done or all of it (the draw itself is resumed from
        ``draw_due``)."""
        if chain_of(period) is None:  # the round the close fixes needs the chain's timing
            period = self.with_round(period)
        with self.engine.begin() as conn:
            if not periods_repository.lock_period_for_close(conn, period.id):
                return None
            stored = periods_repository.get_settings(conn, period.guild_id)
            rates = read_rates(conn, period.guild_id, self.settings)
            earning.convert_watchtime(conn, period, stored, now)
            for gift in earning_repository.list_gifts_due(conn, now, period_id=period.id):
                earning.grant_gift(conn, period.guild_id, gift, now)
            # Who may win, and their ticket ranges stored for the draw's seeks.
            eligible = frozen_ranges.freeze(
                conn, period.guild_id, period.id, linked_only=stored.linked_only
            )
            # The close's time is when it froze them (the ledger is locked since): ``now`` may
            # be seconds old by then (the scheduler reads it once for every close), and the
            # round fixed below must not be out before the freeze.
            now = max(now, self._now())
            actors = fix = None
            if self.snapshot_version > 1:
                actors = self.draws.actors_of(period)  # from the secret: a key of its own
            ends_at = min(ends_at, period.ends_at)
            if self.snapshot_version >= fairness.ROUND_FIXED_FROM:
                fix = _fix_round(conn, period, ends_at, now)
            digest = snapshot_digest(conn, period.guild_id, period.id, eligible, actors, fix)
            periods_repository.close_period(
                conn,
                period.id,
                now=now,
                ends_at=ends_at,
                snapshot_hash=digest,
                snapshot_version=self.snapshot_version,
                actor_key=None if actors is None else actors.key.hex(),
                eligible=eligible,
                draw_due=rates.auto_draw,
            )
            if next_period and stored.running:
                self._create_next(conn, period, now, rates)
            closed = periods_repository.get_period(conn, period.id)
        log.info("guild %s: raffle period %s closed", period.guild_id, period.id)
        return self.with_round(closed)

    def _create_next(
        self, conn: Connection, after: Period, now: datetime, rates: RaffleRates
    ) -> Period | None:
        """The period after ``after``, unless the guild has a current one already (another
        process may have made it)."""
        if periods_repository.find_open_or_scheduled_period(conn, after.guild_id) is not None:
            return None
        starts_at, ends_at = calendar.next_period(after.ends_at, now, rates.time_zone)
        return self._create(conn, after.guild_id, starts_at, ends_at, now)

    def _close_and_draw(self, period: Period, now: datetime, ends_at: datetime) -> Closing:
        closed = self._close(period, now, ends_at)
        if closed is None:
            raise RaffleRefused("That period was closed a moment ago.")
        return Closing(closed, self.request_due_draw(closed))

    def request_due_draw(self, period: Period, *, try_now: bool = True) -> Draw | None:
        """Request the automatic draw of a closed period if it is still due; None if not due
        (or refused: logged). Safe to call again, and from two processes at once: the request
        reads ``draw_due`` again under the period's lock and clears it in that transaction,
        and a draw already waiting for the beacon counts as requested."""
        with self.engine.connect() as conn:
            current = periods_repository.get_period(conn, period.id)
        if not current.draw_due:
            return None
        try:
            return self.draws.request(
                period.guild_id, actor_id=None, period_id=period.id, try_now=try_now, if_due=True
            )
        except DrawNotDue:  # another process requested it since it was read
            return None
        except RaffleRefused as exc:  # a draw is waiting already: nothing more is due
            log.warning("guild %s: automatic draw refused: %s", period.guild_id, exc)
            with self.engine.begin() as conn:
                resume_repository.clear_draw_due(conn, period.id)
            return None

    # --- the scheduler ---------------------------------------------------------------------

    def transition(self, period: Period, now: datetime) -> None:
        """Open a scheduled period that is due, or close an open one that has ended (with its
        next period, in one transaction), then request its automatic draw."""
        if period.status == "scheduled":
            with self.engine.begin() as conn:
                self._open(conn, period, now)
            log.info("guild %s: raffle period %s opened", period.guild_id, period.id)
            if period.ends_at > now:
                return
            # Its whole span passed while the bot was down: it closes now, late and once,
            # before anything announces it as open.
            with self.engine.connect() as conn:
                period = periods_repository.get_period(conn, period.id)
        closed = self._close(period, now, period.ends_at, next_period=True)
        if closed is not None:  # else another process closed it
            self.request_due_draw(closed, try_now=False)  # the waiting draws' job draws it

    def resume(self, now: datetime) -> None:
        """Finish what a killed job left: request the draws still due, and create the next
        period of a running raffle that has none."""
        with self.engine.connect() as conn:
            due = resume_repository.list_periods_with_draw_due(conn)
            orphaned = resume_repository.list_running_without_current(conn)
        for period in due:
            log.info("guild %s: requesting the due draw of period %s", period.guild_id, period.id)
            self.request_due_draw(period, try_now=False)
        for guild_id, last in orphaned:
            with self.engine.begin() as conn:
                created = self._create_next(
                    conn, last, now, read_rates(conn, guild_id, self.settings)
                )
            if created is not None:
                log.info("guild %s: raffle period %s created after a stop", guild_id, created.id)
                self.with_round(created)


def _fix_round(
    conn: Connection, period: Period, ends_at: datetime, now: datetime
) -> fairness.RoundFix:
    """The beacon round the rules fix for ``period`` closing ``now`` (``ends_at``: its end),
    stored with its chain in the close's transaction; what a version 3 snapshot's header
    holds. No round without the chain's timing (the beacon unknown so far): then only a forced
    draw can complete."""
    genesis, seconds = period.beacon_genesis_time, period.beacon_period_seconds
    if genesis is None or not seconds:
        return fairness.RoundFix(ends_at, now, None, None)
    number = fairness.expected_round(ends_at, now, genesis, seconds)
    periods_repository.set_beacon_round(
        conn,
        period.id,
        number,
        genesis,
        seconds,
        chain_hash=period.beacon_chain_hash,
        scheme=period.beacon_scheme,
        public_key=period.beacon_public_key,
    )
    return fairness.RoundFix(ends_at, now, period.beacon_chain_hash, number)
