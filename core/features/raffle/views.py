"""What the raffle shows: a viewer's tickets and standing, the board, the period's info and
statistics, and the proof of a draw."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from core.config import RaffleSettings
from core.events import Platform
from core.features.linking.repository import links_of_member
from core.features.places import place_labels
from core.features.raffle import ledger_repository, standings_repository
from core.features.raffle.admin import RAFFLE_VIEWERS
from core.features.raffle.draws import fairness, frozen_ranges, snapshot_repository
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.repository import Draw
from core.features.raffle.draws.service import Proof, RaffleDraws
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.earning.repository import Gift
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.ledger_repository import Balance, HandChange, LedgerEntry
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.repository import Period
from core.features.raffle.rates import RaffleRates, read_rates, resolve_rates
from core.features.raffle.standings_repository import OpenStanding
from core.features.viewers.in_guild import ids_seen_in
from core.features.viewers.repository import usernames_of
from core.features.viewers.search import NameQuery

MEMBER_ENTRIES = 10  # a member's latest ledger lines in !rafflestats


@dataclass(frozen=True)
class TicketsView:
    """One linked account's tickets in the shown period. ``is_excluded``: it holds tickets
    that cannot win: excluded from an open period, or left out of a closed period's draw
    (excluded or not linked when it closed); ``rank`` and ``total_tickets`` count the
    participants only (a closed period's: those in its draw)."""

    period: Period
    platform: Platform
    username: str
    by_source: dict[str, int]
    tickets: int
    rank: int | None
    total_tickets: int
    is_excluded: bool
    linked_only: bool = True  # the raffle's setting: only linked accounts can win
    next_planned: bool = True  # a period is scheduled, or the raffle opens the next by itself
    tied: bool = False  # another participant holds as many: the rank is shared ("=2")

    @property
    def chance(self) -> float:
        return self.tickets / self.total_tickets if self.total_tickets and self.tickets > 0 else 0.0


@dataclass(frozen=True)
class ViewerTickets:
    """A viewer found by name: their tickets and their newest ledger lines."""

    tickets: TicketsView
    entries: list[LedgerEntry]


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
    places: list[str]  # each entry's, "#1" or "=2" (:func:`place_labels`)


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


@dataclass(frozen=True)
class PeriodRow:
    period: Period
    draws: list[Draw]

    @property
    def has_proof(self) -> bool:
        """A closed period with a finished draw: its seed is public, so is its proof."""
        return self.period.status == "closed" and any(d.status == "done" for d in self.draws)


class RaffleViews:
    def __init__(self, engine: Engine, settings: RaffleSettings, draws: RaffleDraws) -> None:
        self.engine = engine
        self.settings = settings
        self.draws = draws

    def _shown_period(self, conn: Connection, guild_id: int) -> Period:
        """The period the views show: the open one, else the last one closed."""
        period = periods_repository.find_open_period(
            conn, guild_id
        ) or periods_repository.find_last_closed_period(conn, guild_id)
        if period is None:
            if periods_repository.find_open_or_scheduled_period(conn, guild_id) is not None:
                raise RaffleRefused(
                    "The first raffle period has not opened yet; !raffleinfo shows when it does."
                )
            raise RaffleRefused("There is no raffle yet; an admin starts one with !rafflestart.")
        return period

    def tickets_of(self, guild_id: int, discord_user_id: int) -> list[TicketsView]:
        """Each account the member linked (Kick's, then Twitch's) with its tickets: each holds
        its own, and each may win."""
        with self.engine.connect() as conn:
            period = self._shown_period(conn, guild_id)
            links = links_of_member(conn, discord_user_id)
            if not links:
                raise RaffleRefused(
                    "Link your Kick or Twitch account first (!link) to collect tickets."
                )
            shown = _Shown.of(conn, period)
            linked_only = read_rates(conn, guild_id, self.settings).linked_only
            next_planned = (
                periods_repository.get_settings(conn, guild_id).running
                or periods_repository.find_open_or_scheduled_period(conn, guild_id) is not None
            )
            return [
                dataclasses.replace(
                    _tickets_view(conn, shown, link.platform, link.platform_user_id, link.username),
                    linked_only=linked_only,
                    next_planned=next_planned,
                )
                for link in links
            ]

    def viewers_named(self, guild_id: int, query: NameQuery) -> list[ViewerTickets]:
        """The viewers ``query`` names (on its platforms, Kick first), each with their tickets
        in the shown period and their newest ledger lines: why they hold what they hold."""
        with self.engine.connect() as conn:
            shown = _Shown.of(conn, self._shown_period(conn, guild_id))
            keys = [
                (str(platform), user_id)
                for platform in query.platforms
                for user_id in ids_seen_in(conn, guild_id, platform, query.name, RAFFLE_VIEWERS)
            ]
            names = usernames_of(conn, keys)  # as stored, not as typed
            found = []
            for platform, user_id in keys:
                name = names.get(f"{platform}:{user_id}", query.name)
                view = _tickets_view(conn, shown, Platform(platform), user_id, name)
                entries = ledger_repository.list_viewer_ledger(
                    conn, guild_id, shown.period.id, Platform(platform), user_id, MEMBER_ENTRIES
                )
                found.append(ViewerTickets(view, entries))
        return found

    def standing(self, guild_id: int, platform: Platform, platform_user_id: str) -> Standing | None:
        """The viewer's tickets and rank in the guild's open period (by platform identity, so
        no Discord link is needed); None when no period is open."""
        with self.engine.connect() as conn:
            period = periods_repository.find_open_period(conn, guild_id)
            if period is None:
                return None
            tickets, rank, _ = _place(conn, period, platform, platform_user_id, frozen=False)
            participants = ledger_repository.count_participants(conn, guild_id, period.id)
        return Standing(tickets, rank, participants)

    def open_standings_of(self, accounts: Sequence[tuple[str, str]]) -> list[OpenStanding]:
        """These viewers' tickets and rank in every open period where they hold a balance."""
        with self.engine.connect() as conn:
            return standings_repository.list_open_standings_of(conn, accounts)

    def guilds_with_open_period(self, guild_ids: Collection[int]) -> set[int]:
        with self.engine.connect() as conn:
            return standings_repository.list_guilds_with_open_period(conn, guild_ids)

    def board(self, guild_id: int, limit: int = 10) -> BoardView:
        with self.engine.connect() as conn:
            shown = _Shown.of(conn, self._shown_period(conn, guild_id))
            # One more than shown: a tie across the board's last line shows on it.
            entries = ledger_repository.list_top_balances(
                conn, guild_id, shown.period.id, limit + 1, frozen=shown.frozen
            )
        after = entries[limit].tickets if len(entries) > limit else None
        places = place_labels([entry.tickets for entry in entries[:limit]], after=after)
        return BoardView(shown.period, entries[:limit], shown.total_tickets, places)

    def hand_changes(self, guild_id: int, limit: int = 10) -> list[HandChange]:
        """The shown period's latest tickets given or taken by hand (none before a period)."""
        with self.engine.connect() as conn:
            try:
                period = self._shown_period(conn, guild_id)
            except RaffleRefused:
                return []
            return ledger_repository.list_hand_changes(conn, guild_id, period.id, limit)

    def winner_names(self, draws: list[Draw]) -> dict[tuple[str, str], str]:
        """(platform, platform user id) -> the viewer's name, for these draws' winners known."""
        keys = [(str(w.platform), w.platform_user_id) for d in draws for w in d.winners]
        with self.engine.connect() as conn:
            names = usernames_of(conn, keys)
        return {tuple(key.split(":", 1)): name for key, name in names.items()}  # type: ignore[misc]

    def info(self, guild_id: int) -> InfoView:
        with self.engine.connect() as conn:
            current = periods_repository.find_open_or_scheduled_period(conn, guild_id)
            last_closed = periods_repository.find_last_closed_period(conn, guild_id)
            last_draw = draws_repository.find_last_draw(conn, guild_id)
            stored = periods_repository.get_settings(conn, guild_id)
            rates = resolve_rates(conn, guild_id, stored, self.settings)
        return InfoView(current, last_closed, rates, last_draw, stored.running)

    def stats(self, guild_id: int, member_id: int | None = None) -> StatsView:
        with self.engine.connect() as conn:
            period = self._shown_period(conn, guild_id)
            view = StatsView(
                period=period,
                totals_by_source=ledger_repository.period_totals_by_source(
                    conn, guild_id, period.id
                ),
                participants=ledger_repository.count_participants(
                    conn, guild_id, period.id, frozen=frozen_ranges.is_frozen(conn, period)
                ),
                ledger_entries=ledger_repository.count_ledger_entries(conn, guild_id, period.id),
                recent_gifts=earning_repository.list_recent_gifts(conn, guild_id, period.id, 5),
            )
            if member_id is None:
                return view
            links = links_of_member(conn, member_id)
            if not links:
                raise RaffleRefused("That member has not linked a Kick or Twitch account.")
            by_source: dict[str, int] = {}
            entries: list[LedgerEntry] = []
            for link in links:
                key = (link.platform, link.platform_user_id)
                mine = ledger_repository.tickets_by_source(conn, guild_id, period.id, *key)
                for source, amount in mine.items():
                    by_source[source] = by_source.get(source, 0) + amount
                entries += ledger_repository.list_viewer_ledger(
                    conn, guild_id, period.id, *key, MEMBER_ENTRIES
                )
            return dataclasses.replace(
                view,
                member_username=" / ".join(link.username for link in links),
                member_by_source=by_source,
                member_entries=sorted(entries, key=lambda e: e.id, reverse=True)[:MEMBER_ENTRIES],
            )

    def periods(self, guild_id: int, limit: int = 12) -> list[PeriodRow]:
        """The guild's recent periods, newest first, each with its draws (oldest first); not
        their frozen participants (``eligible`` None: a big guild's are megabytes each)."""
        with self.engine.connect() as conn:
            periods = periods_repository.list_recent_periods(
                conn, guild_id, limit, with_eligible=False
            )
            draws = draws_repository.list_draws_of_periods(conn, guild_id, [p.id for p in periods])
        return [PeriodRow(period, draws[period.id]) for period in periods]

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
                    period = self._shown_period(conn, guild_id)
        return self.draws.proof_of_period(period)

    def export(self, period_id: int, *, with_ledger: bool = True) -> Proof:
        """The proof and frozen ledger of any guild's period (the operator's CLI, the public
        proof page); ``with_ledger=False``: the proof and the ledger's size only."""
        with self.engine.connect() as conn:
            period = periods_repository.find_period_by_id(
                conn, period_id, with_eligible=with_ledger
            )
            if period is not None:
                time_zone = read_rates(conn, period.guild_id, self.settings).time_zone
        if period is None:
            raise RaffleRefused(f"There is no raffle period {period_id}.")
        if period.status != "closed":
            raise RaffleRefused(f"Period {period_id} is not closed yet.")
        proof = self.draws.proof_of_period(period, with_ledger=with_ledger)
        if proof.document is None:
            raise RaffleRefused(f"Period {period_id} has no draw yet, so its seed is still secret.")
        return dataclasses.replace(proof, time_zone=time_zone)

    def admins(self, period_id: int) -> dict[str, int]:
        """Pseudonym -> Discord id of each admin the period's public proof names (who changed
        tickets by hand or forced a draw): the operator's way back from a version 2 period's
        ledger (from the database, which only the operator reads)."""
        with self.engine.connect() as conn:
            period = periods_repository.find_period_by_id(conn, period_id, with_eligible=False)
            if period is None:
                raise RaffleRefused(f"There is no raffle period {period_id}.")
            if period.status == "closed" and period.snapshot_version < 2:
                raise RaffleRefused(
                    f"Period {period_id} was closed before admins had pseudonyms: its ledger "
                    "shows their Discord ids."
                )
            ids = set(snapshot_repository.list_period_actors(conn, period.guild_id, period.id))
            draws = draws_repository.list_draws_of_period(conn, period.guild_id, period.id)
        ids.update(d.forced_by for d in draws if d.forced_by is not None)
        actors = self.draws.actors_of(period)
        return dict(
            sorted((name, actor_id) for actor_id, name in actors.mapping(sorted(ids)).items())
        )


@dataclass(frozen=True)
class _Shown:
    """A period as the views count its participants: an open period's are those not excluded
    now, a closed one's those in its draw (``frozen``, see ``frozen_ranges.is_frozen``), who
    hold ``total_tickets`` in all."""

    period: Period
    frozen: bool
    total_tickets: int

    @classmethod
    def of(cls, conn: Connection, period: Period) -> _Shown:
        frozen = frozen_ranges.is_frozen(conn, period)
        total = ledger_repository.sum_tickets(conn, period.guild_id, period.id, frozen=frozen)
        return cls(period, frozen, total)


def _place(
    conn: Connection, period: Period, platform: Platform, platform_user_id: str, *, frozen: bool
) -> tuple[int, int | None, bool]:
    """A viewer's tickets in the period, their rank among its participants (None while they
    hold none or are not one) and whether they are left out (see :class:`TicketsView`);
    ``frozen`` as in :class:`_Shown`."""
    tickets = ledger_repository.get_balance(
        conn, period.guild_id, period.id, platform, platform_user_id
    )
    if frozen:
        key = fairness.participant_key(str(platform), platform_user_id)
        excluded = tickets > 0 and key not in (period.eligible or ())
    else:
        excluded = any(
            (e.platform, e.platform_user_id) == (platform, platform_user_id)
            for e in ledger_repository.list_exclusions(conn, period.guild_id)
        )
    rank = None
    if tickets > 0 and not excluded:
        ahead = ledger_repository.count_balances_ahead(
            conn, period.guild_id, period.id, tickets, frozen=frozen
        )
        rank = ahead + 1
    return tickets, rank, excluded


def _tickets_view(
    conn: Connection, shown: _Shown, platform: Platform, platform_user_id: str, username: str
) -> TicketsView:
    period = shown.period
    key = (platform, platform_user_id)
    by_source = ledger_repository.tickets_by_source(conn, period.guild_id, period.id, *key)
    tickets, rank, excluded = _place(conn, period, *key, frozen=shown.frozen)
    at_least = ledger_repository.count_balances_ahead(  # those holding as many or more
        conn, period.guild_id, period.id, tickets - 1, frozen=shown.frozen
    )
    return TicketsView(
        period, platform, username, by_source, tickets, rank, shown.total_tickets, excluded,
        tied=rank is not None and at_least > rank,
    )  # fmt: skip
