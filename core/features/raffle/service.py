"""The raffle: periods, tickets on a ledger, and draws anyone can verify.

A guild has at most one current period (scheduled or open). When an open period ends the
scheduler converts the last watchtime, grants gifts still on hold, freezes the ledger (its hash
and the participants who may win: linked, unless the guild turned that off, and not excluded),
draws if the guild wants that, and opens the next period. It does the same for a period that
ended while the bot was down, as soon as it is back. Announcements wait in the database until
Discord takes them. docs/raffle.md has the rules and the proof format.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.config import RaffleSettings
from core.events import Platform, SubscriptionsGifted, utc
from core.features.linking.repository import find_link_by_discord_user
from core.features.raffle import (
    calendar,
    draws_repository,
    earning,
    earning_repository,
    fairness,
    ledger_repository,
    periods_repository,
)
from core.features.raffle.draws import Proof, RaffleDraws, snapshot_entries
from core.features.raffle.draws_repository import Draw
from core.features.raffle.earning_repository import Gift
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.ledger_repository import Balance, LedgerEntry
from core.features.raffle.periods_repository import Period
from core.features.raffle.ports import (
    Beacon,
    BeaconUnavailable,
    DrawAnnouncement,
    PeriodAnnouncement,
    RaffleAnnouncer,
    WinnerAnnouncement,
)
from core.features.viewers.repository import find_viewer_ids_by_username

log = logging.getLogger(__name__)
MAX_ADMIN_TICKETS = 1_000_000

# name -> (column, kind, help) for !raffleset
SETTINGS: dict[str, tuple[str, str]] = {
    "watch_hour": ("watch_hour_tickets", "count"),
    "gifted_sub": ("gifted_sub_tickets", "count"),
    "wager_thousand": ("wager_thousand_tickets", "count"),
    "hold_minutes": ("gift_hold_minutes", "count"),
    "auto_draw": ("auto_draw", "flag"),
    "channel": ("announcement_channel_id", "channel"),
    "time_zone": ("time_zone", "zone"),
    "linked_only": ("linked_only", "flag"),
}


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


@dataclass(frozen=True)
class Closing:
    period: Period
    draw: Draw | None


@dataclass(frozen=True)
class TicketsView:
    period: Period
    username: str
    by_source: dict[str, int]
    tickets: int
    rank: int | None
    total_tickets: int
    is_excluded: bool

    @property
    def chance(self) -> float:
        return self.tickets / self.total_tickets if self.total_tickets and self.tickets > 0 else 0.0


@dataclass(frozen=True)
class Standing:
    """A viewer's place in the open period: ``rank`` 1 holds the most tickets; None while they
    hold none (or are excluded). ``participants`` counts the viewers who hold any."""

    tickets: int
    rank: int | None
    participants: int


@dataclass(frozen=True)
class BoardView:
    period: Period
    entries: list[Balance]
    total_tickets: int


@dataclass(frozen=True)
class InfoView:
    current: Period | None
    last_closed: Period | None
    rates: RaffleRates
    last_draw: Draw | None
    running: bool


@dataclass(frozen=True)
class StatsView:
    period: Period
    totals_by_source: dict[str, int]
    participants: int
    ledger_entries: int
    recent_gifts: list[Gift]
    member_username: str | None = None
    member_by_source: dict[str, int] | None = None
    member_entries: list[LedgerEntry] | None = None


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
        self.settings = settings
        self.clock = clock
        self.announcer = announcer
        self.new_seed = new_seed
        self.draws = RaffleDraws(engine, beacon, clock)

    def _now(self) -> datetime:
        return utc(self.clock())

    # --- settings --------------------------------------------------------------------------

    def rates(self, guild_id: int) -> RaffleRates:
        with self.engine.connect() as conn:
            stored = periods_repository.get_settings(conn, guild_id)
        return self._resolve(stored)

    def _resolve(self, stored: periods_repository.GuildRaffleSettings) -> RaffleRates:
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

    def configure(self, guild_id: int, name: str, value: str) -> RaffleRates:
        """Change one setting from text (``!raffleset <name> <value>``)."""
        key = name.strip().lower()
        if key not in SETTINGS:
            raise RaffleRefused(f"Settings I know: {', '.join(SETTINGS)}.")
        column, kind = SETTINGS[key]
        raw = value.strip()
        parsed: Any
        if kind == "count":
            if not raw.isdigit() or int(raw) > 100_000:
                raise RaffleRefused(f"{key} takes a whole number from 0 to 100000.")
            parsed = int(raw)
        elif kind == "flag":
            if raw.lower() not in {"on", "off", "true", "false", "yes", "no"}:
                raise RaffleRefused(f"{key} takes on or off.")
            parsed = raw.lower() in {"on", "true", "yes"}
        elif kind == "channel":
            digits = raw.removeprefix("<#").removesuffix(">")
            if raw.lower() in {"none", "off", "default"}:
                parsed = None
            elif digits.isdigit():
                parsed = int(digits)
            else:
                raise RaffleRefused("channel takes a #channel, a channel id, or none.")
        else:
            try:
                calendar.zone(raw)
            except calendar.BadDates as exc:
                raise RaffleRefused(str(exc)) from exc
            parsed = raw
        with self.engine.begin() as conn:
            periods_repository.update_settings(conn, guild_id, **{column: parsed})
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
        return self._with_round(period)

    def end(self, guild_id: int) -> Closing:
        """Close the open period now (or cancel a scheduled one) and stop opening new ones."""
        now = self._now()
        with self.engine.begin() as conn:
            current = periods_repository.find_current_period(conn, guild_id)
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
            current = periods_repository.find_current_period(conn, guild_id)
            if current is not None and current.status == "scheduled":
                periods_repository.cancel_period(conn, current.id)
        if current is not None and current.status == "open":
            closing = self._close_and_draw(current, now, ends_at=now)
        rates = self.rates(guild_id)
        with self.engine.begin() as conn:
            ends_at = calendar.month_end(now, rates.time_zone)
            period = self._create(conn, guild_id, now, ends_at, now)
            periods_repository.update_settings(conn, guild_id, running=True)
        return closing, self._with_round(period)

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
            current = periods_repository.find_current_period(conn, guild_id)
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
        return self._with_round(period)

    def _refuse_if_current(self, conn: Connection, guild_id: int) -> None:
        current = periods_repository.find_current_period(conn, guild_id)
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

    def _with_round(self, period: Period) -> Period:
        """The period with its beacon round fixed, when the beacon answers (else later)."""
        try:
            return self.draws.fix_round(period)
        except BeaconUnavailable as exc:
            log.info("guild %s: beacon round not fixed yet (%s)", period.guild_id, exc)
            return period

    def _close(self, period: Period, now: datetime, ends_at: datetime) -> Period | None:
        """Freeze the period's ledger; None if it was not open any more."""
        with self.engine.begin() as conn:
            if not periods_repository.lock_period_for_close(conn, period.id):
                return None
            stored = periods_repository.get_settings(conn, period.guild_id)
            earning.convert_watchtime(conn, period, stored, now)
            for gift in earning_repository.list_gifts_due(conn, now, period_id=period.id):
                earning.grant_gift(conn, period.guild_id, gift, now)
            holders = ledger_repository.list_top_balances(conn, period.guild_id, period.id)
            keys = [(str(b.platform), b.platform_user_id) for b in holders]
            if stored.linked_only:
                linked = ledger_repository.list_linked_accounts(conn, keys)
                keys = [key for key in keys if fairness.participant_key(*key) in linked]
            eligible = sorted(fairness.participant_key(*key) for key in keys)
            entries = snapshot_entries(conn, period.guild_id, period.id)
            digest = fairness.snapshot_hash(period.guild_id, period.id, entries, eligible)
            periods_repository.close_period(
                conn,
                period.id,
                now=now,
                ends_at=min(ends_at, period.ends_at),
                snapshot_hash=digest,
                eligible=eligible,
            )
            closed = periods_repository.get_period(conn, period.id)
        log.info("guild %s: raffle period %s closed", period.guild_id, period.id)
        return self._with_round(closed)

    def _close_and_draw(self, period: Period, now: datetime, ends_at: datetime) -> Closing:
        closed = self._close(period, now, ends_at)
        if closed is None:
            raise RaffleRefused("That period was closed a moment ago.")
        draw = None
        if self.rates(period.guild_id).auto_draw:
            draw = self.draws.request(period.guild_id, actor_id=None)
        return Closing(closed, draw)

    # --- the scheduler ---------------------------------------------------------------------

    def run_scheduled(self, now: datetime | None = None) -> None:
        """Everything time-driven: open and close periods (catching up on missed ones), turn
        watchtime into tickets, grant gifts whose hold is over, retry draws and beacon rounds."""
        now = utc(now or self.clock())
        with self.engine.connect() as conn:
            due = periods_repository.list_periods_due(conn, now)
        for period in due:
            try:
                self._transition(period, now)
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
            self._with_round(period)

    def _transition(self, period: Period, now: datetime) -> None:
        if period.status == "scheduled":
            with self.engine.begin() as conn:
                self._open(conn, period, now)
            log.info("guild %s: raffle period %s opened", period.guild_id, period.id)
            return
        closed = self._close(period, now, period.ends_at)
        if closed is None:
            return  # another process closed it
        rates = self.rates(period.guild_id)
        if rates.auto_draw:
            try:
                self.draws.request(period.guild_id, actor_id=None)
            except RaffleRefused as exc:
                log.warning("guild %s: automatic draw refused: %s", period.guild_id, exc)
        with self.engine.begin() as conn:
            running = periods_repository.get_settings(conn, period.guild_id).running
            # Another process may have opened the next one already.
            if running and periods_repository.find_current_period(conn, period.guild_id) is None:
                starts_at, ends_at = calendar.next_period(period.ends_at, now, rates.time_zone)
                self._create(conn, period.guild_id, starts_at, ends_at, now)

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
        now = self._now()
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

    # --- admin changes ---------------------------------------------------------------------

    def void_gift(self, guild_id: int, reference: str, *, actor_id: int) -> Gift:
        reference = reference.strip().lower()
        now = self._now()
        with self.engine.begin() as conn:
            gift = earning_repository.find_gift(conn, guild_id, reference)
            if gift is None:
                raise RaffleRefused(f"No gift has the reference {reference!r} here.")
            if gift.status == "voided":
                raise RaffleRefused("That gift is already void.")
            period = periods_repository.get_period(conn, gift.period_id)
            if not period.is_open:
                raise RaffleRefused("That gift's period is closed; its ledger is frozen.")
            if not earning_repository.set_gift_status(
                conn, gift.id, gift.status, "voided", actor_id
            ):
                raise RaffleRefused("That gift changed a moment ago; try again.")
            if gift.status == "granted" and not ledger_repository.add_ledger_entry(
                conn,
                guild_id=guild_id,
                period_id=gift.period_id,
                platform=gift.platform,
                platform_user_id=gift.platform_user_id,
                amount=-gift.tickets,
                source="gift",
                source_ref=f"{gift.reference}:void",
                actor_id=actor_id,
                reason="gift voided",
                at=now,
            ):
                raise RaffleRefused("That period is closed; its ledger is frozen.")
        return gift

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
        """Add (or with a negative ``tickets``, remove) tickets; return the member's balance.

        ``reference`` identifies the request (the command message), so a repeat adds nothing.
        """
        if tickets == 0 or abs(tickets) > MAX_ADMIN_TICKETS:
            raise RaffleRefused(f"Give or remove from 1 to {MAX_ADMIN_TICKETS:,} tickets.")
        now = self._now()
        with self.engine.begin() as conn:
            period = periods_repository.find_open_period(conn, guild_id)
            if period is None:
                raise RaffleRefused("No raffle period is open.")
            link = find_link_by_discord_user(conn, Platform.KICK, member_id)
            if link is None:
                raise RaffleRefused(
                    "That member has not linked a Kick account, so they cannot hold tickets."
                )
            balance = ledger_repository.get_balance(
                conn, guild_id, period.id, link.platform, link.platform_user_id
            )
            if tickets < 0 and balance + tickets < 0:
                raise RaffleRefused(f"They have only {balance:,} tickets.")
            ledger_repository.add_ledger_entry(
                conn,
                guild_id=guild_id,
                period_id=period.id,
                platform=link.platform,
                platform_user_id=link.platform_user_id,
                amount=tickets,
                source="admin",
                source_ref=reference,
                actor_id=actor_id,
                reason=reason.strip() or ("given" if tickets > 0 else "removed"),
                at=now,
            )
            return ledger_repository.get_balance(
                conn, guild_id, period.id, link.platform, link.platform_user_id
            )

    def _identity(
        self, conn: Connection, member_id: int | None, username: str | None
    ) -> tuple[Platform, str, str]:
        if member_id is not None:
            link = find_link_by_discord_user(conn, Platform.KICK, member_id)
            if link is None:
                raise RaffleRefused("That member has not linked a Kick account.")
            return link.platform, link.platform_user_id, link.username
        name = (username or "").strip().lstrip("@")
        ids = find_viewer_ids_by_username(conn, Platform.KICK, name) if name else []
        if len(ids) != 1:
            raise RaffleRefused("I don't know a Kick viewer by that name.")
        return Platform.KICK, ids[0], name

    def exclude(
        self, guild_id: int, *, actor_id: int, member_id: int | None, username: str | None
    ) -> str:
        with self.engine.begin() as conn:
            platform, user_id, name = self._identity(conn, member_id, username)
            if not ledger_repository.exclude(
                conn, guild_id, platform, user_id, name, actor_id, self._now()
            ):
                raise RaffleRefused(f"{name} is already excluded.")
        return name

    def include(self, guild_id: int, *, member_id: int | None, username: str | None) -> str:
        with self.engine.begin() as conn:
            platform, user_id, name = self._identity(conn, member_id, username)
            if not ledger_repository.include(conn, guild_id, platform, user_id):
                raise RaffleRefused(f"{name} is not excluded.")
        return name

    # --- views -----------------------------------------------------------------------------

    def _view_period(self, conn: Connection, guild_id: int) -> Period:
        period = periods_repository.find_open_period(
            conn, guild_id
        ) or periods_repository.find_last_closed_period(conn, guild_id)
        if period is None:
            raise RaffleRefused("There is no raffle yet; an admin starts one with !rafflestart.")
        return period

    def tickets_of(self, guild_id: int, discord_user_id: int) -> TicketsView:
        with self.engine.connect() as conn:
            period = self._view_period(conn, guild_id)
            link = find_link_by_discord_user(conn, Platform.KICK, discord_user_id)
            if link is None:
                raise RaffleRefused("Link your Kick account first (!link) to collect tickets.")
            key = (link.platform, link.platform_user_id)
            by_source = ledger_repository.tickets_by_source(conn, guild_id, period.id, *key)
            tickets = ledger_repository.get_balance(conn, guild_id, period.id, *key)
            excluded = any(
                (e.platform, e.platform_user_id) == key
                for e in ledger_repository.list_exclusions(conn, guild_id)
            )
            rank = None
            if tickets > 0 and not excluded:
                rank = (
                    ledger_repository.count_balances_ahead(conn, guild_id, period.id, tickets) + 1
                )
            total = ledger_repository.sum_tickets(conn, guild_id, period.id)
        return TicketsView(period, link.username, by_source, tickets, rank, total, excluded)

    def standing(self, guild_id: int, platform: Platform, platform_user_id: str) -> Standing | None:
        """The viewer's tickets and rank in the guild's open period (by platform identity, so
        no Discord link is needed); None when no period is open."""
        with self.engine.connect() as conn:
            period = periods_repository.find_open_period(conn, guild_id)
            if period is None:
                return None
            tickets = ledger_repository.get_balance(
                conn, guild_id, period.id, platform, platform_user_id
            )
            participants = ledger_repository.count_participants(conn, guild_id, period.id)
            excluded = any(
                (e.platform, e.platform_user_id) == (platform, platform_user_id)
                for e in ledger_repository.list_exclusions(conn, guild_id)
            )
            rank = None
            if tickets > 0 and not excluded:
                rank = (
                    ledger_repository.count_balances_ahead(conn, guild_id, period.id, tickets) + 1
                )
        return Standing(tickets, rank, participants)

    def board(self, guild_id: int, limit: int = 10) -> BoardView:
        with self.engine.connect() as conn:
            period = self._view_period(conn, guild_id)
            entries = ledger_repository.list_top_balances(conn, guild_id, period.id, limit)
            total = ledger_repository.sum_tickets(conn, guild_id, period.id)
        return BoardView(period, entries, total)

    def info(self, guild_id: int) -> InfoView:
        with self.engine.connect() as conn:
            current = periods_repository.find_current_period(conn, guild_id)
            last_closed = periods_repository.find_last_closed_period(conn, guild_id)
            last_draw = draws_repository.find_last_draw(conn, guild_id)
            stored = periods_repository.get_settings(conn, guild_id)
        return InfoView(current, last_closed, self._resolve(stored), last_draw, stored.running)

    def stats(self, guild_id: int, member_id: int | None = None) -> StatsView:
        with self.engine.connect() as conn:
            period = self._view_period(conn, guild_id)
            view = StatsView(
                period=period,
                totals_by_source=ledger_repository.period_totals_by_source(
                    conn, guild_id, period.id
                ),
                participants=len(ledger_repository.list_top_balances(conn, guild_id, period.id)),
                ledger_entries=ledger_repository.count_ledger_entries(conn, guild_id, period.id),
                recent_gifts=earning_repository.list_recent_gifts(conn, guild_id, period.id, 5),
            )
            if member_id is None:
                return view
            link = find_link_by_discord_user(conn, Platform.KICK, member_id)
            if link is None:
                raise RaffleRefused("That member has not linked a Kick account.")
            key = (link.platform, link.platform_user_id)
            return dataclasses.replace(
                view,
                member_username=link.username,
                member_by_source=ledger_repository.tickets_by_source(
                    conn, guild_id, period.id, *key
                ),
                member_entries=ledger_repository.list_viewer_ledger(
                    conn, guild_id, period.id, *key, 10
                ),
            )

    def proof(self, guild_id: int, draw_id: int | None = None) -> Proof:
        with self.engine.connect() as conn:
            if draw_id is not None:
                draw = draws_repository.find_draw(conn, guild_id, draw_id)
                if draw is None:
                    raise RaffleRefused(f"There is no draw #{draw_id} in this server.")
                period = periods_repository.get_period(conn, draw.period_id)
            else:
                last = draws_repository.find_last_draw(conn, guild_id)
                if last is not None:
                    period = periods_repository.get_period(conn, last.period_id)
                else:
                    period = self._view_period(conn, guild_id)
        return self.draws.proof_of_period(period)

    def export(self, period_id: int) -> Proof:
        """The proof and frozen ledger of any guild's period (the operator's CLI)."""
        with self.engine.connect() as conn:
            period = periods_repository.find_period_by_id(conn, period_id)
        if period is None:
            raise RaffleRefused(f"There is no raffle period {period_id}.")
        if period.status != "closed":
            raise RaffleRefused(f"Period {period_id} is not closed yet.")
        proof = self.draws.proof_of_period(period)
        if proof.document is None:
            raise RaffleRefused(f"Period {period_id} has no draw yet, so its seed is still secret.")
        return proof

    # --- announcements ---------------------------------------------------------------------

    async def announce_pending(self) -> None:
        """Post the announcements not posted yet; what Discord refuses waits for the next call."""
        if self.announcer is None:
            return
        notices = await asyncio.to_thread(self._pending_notices)
        for kind, channel_id, payload, mark in notices:
            try:
                if channel_id is not None:
                    await getattr(self.announcer, kind)(channel_id, payload)
            except Exception as exc:
                log.warning("raffle announcement waits: %s", exc)
                continue
            await asyncio.to_thread(mark)

    def _pending_notices(self) -> list[tuple[str, int | None, Any, Callable[[], None]]]:
        notices: list[tuple[str, int | None, Any, Callable[[], None]]] = []
        with self.engine.connect() as conn:
            periods = periods_repository.list_unannounced_periods(conn)
            draws = draws_repository.list_unannounced_draws(conn)
            for period, what in periods:
                rates = self._resolve(periods_repository.get_settings(conn, period.guild_id))
                payload = PeriodAnnouncement(
                    guild_id=period.guild_id,
                    period_id=period.id,
                    starts_at=period.starts_at,
                    ends_at=period.ends_at,
                    time_zone=rates.time_zone,
                    commitment=period.commitment,
                    beacon_round=period.beacon_round,
                )
                notices.append(
                    (
                        f"period_{what}",
                        rates.announcement_channel_id,
                        payload,
                        lambda p=period.id, w=what: self._mark(
                            periods_repository.mark_announced, p, w
                        ),
                    )
                )
            for draw in draws:
                rates = self._resolve(periods_repository.get_settings(conn, draw.guild_id))
                notices.append(
                    (
                        "draw_completed",
                        rates.announcement_channel_id,
                        self._draw_announcement(conn, draw),
                        lambda d=draw.id: self._mark(draws_repository.mark_draw_announced, d),
                    )
                )
        return notices

    def _mark(self, mark: Callable[..., None], *args: Any) -> None:
        with self.engine.begin() as conn:
            mark(conn, *args)

    def _draw_announcement(self, conn: Connection, draw: Draw) -> DrawAnnouncement:
        keys = [(str(w.platform), w.platform_user_id) for w in draw.winners]
        names = ledger_repository.usernames_of(conn, keys)
        links = ledger_repository.list_linked_accounts(conn, keys)
        winners = []
        for w in draw.winners:
            key = fairness.participant_key(str(w.platform), w.platform_user_id)
            tickets = ledger_repository.get_balance(
                conn, draw.guild_id, draw.period_id, w.platform, w.platform_user_id
            )
            winners.append(
                WinnerAnnouncement(names.get(key, w.platform_user_id), links.get(key), tickets)
            )
        return DrawAnnouncement(
            guild_id=draw.guild_id,
            period_id=draw.period_id,
            draw_id=draw.id,
            prize=draw.prize,
            winners=tuple(winners),
            total_tickets=ledger_repository.sum_tickets(conn, draw.guild_id, draw.period_id),
            forced=draw.forced,
            reroll_of=draw.reroll_of,
            reason=draw.reason,
        )
