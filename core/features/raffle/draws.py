"""Draws: waiting for the beacon round, picking winners, and the proof anyone can check.

The arithmetic lives in :mod:`core.features.raffle.fairness`; this module fetches what it needs
from the database and the beacon, and records the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, utc
from core.features.raffle import (
    draws_repository,
    fairness,
    frozen_ranges,
    ledger_repository,
    periods_repository,
    resume_repository,
    snapshot_repository,
)
from core.features.raffle.draws_repository import Draw, Winner
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.periods_repository import Period
from core.features.raffle.ports import Beacon, BeaconUnavailable
from core.features.viewers.repository import usernames_of

log = logging.getLogger(__name__)
MAX_WINNERS = 25


@dataclass(frozen=True)
class Proof:
    """What ``!fair`` shows and ``python -m core raffle export`` writes."""

    period: Period
    draws: tuple[Draw, ...]
    document: dict[str, Any] | None  # None until a draw is done (the seed stays secret)
    ledger: dict[str, Any] | None


def snapshot_entries(conn: Connection, guild_id: int, period_id: int) -> list:
    return [
        fairness.SnapshotEntry(
            id=e.id,
            platform=str(e.platform),
            platform_user_id=e.platform_user_id,
            amount=e.amount,
            source=e.source,
            source_ref=e.source_ref,
            actor_id=e.actor_id,
            reason=e.reason,
            created_at=fairness.format_time(e.created_at),
        )
        for e in ledger_repository.list_ledger(conn, guild_id, period_id)
    ]


def snapshot_digest(conn: Connection, guild_id: int, period_id: int, eligible: list[str]) -> str:
    """The frozen ledger's hash (docs/raffle.md), hashed as the rows stream from the database."""
    hasher = fairness.SnapshotHasher(guild_id, period_id)
    if conn.dialect.name == "postgresql":
        for text in snapshot_repository.iter_snapshot_text(conn, guild_id, period_id):
            hasher.add_text(text)
        return hasher.finish(eligible)
    for lines in snapshot_repository.iter_snapshot_lines(conn, guild_id, period_id):
        hasher.add_lines(lines)
    return hasher.finish(eligible)


class RaffleDraws:
    def __init__(
        self, engine: Engine, beacon: Beacon | None, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.beacon = beacon
        self.clock = clock

    # --- asking for draws ------------------------------------------------------------------

    def request(
        self,
        guild_id: int,
        *,
        actor_id: int | None,
        winners: int = 1,
        prize: str = "",
        reroll_of: int | None = None,
        reason: str = "",
        period_id: int | None = None,
    ) -> Draw:
        """Queue a draw of the guild's last closed period (or of ``period_id``, one of the
        guild's closed periods) and try it at once. Clears the period's ``draw_due``."""
        if not 1 <= winners <= MAX_WINNERS:
            raise RaffleRefused(f"Pick from 1 to {MAX_WINNERS} winners.")
        now = utc(self.clock())
        with self.engine.begin() as conn:
            period = (
                periods_repository.find_last_closed_period(conn, guild_id)
                if period_id is None
                else _closed_period_of(conn, guild_id, period_id)
            )
            if period is None:
                current = periods_repository.find_open_period(conn, guild_id)
                if current is not None:
                    raise RaffleRefused(
                        "The raffle period is still open; end it with !raffleend first."
                    )
                raise RaffleRefused("There is no closed raffle period to draw from.")
            draws = draws_repository.list_draws_of_period(conn, guild_id, period.id)
            resume_repository.clear_draw_due(conn, period.id)
            if any(d.status == "waiting" for d in draws):
                raise RaffleRefused(
                    "A draw of this period is already waiting for the beacon; "
                    "!raffleforce completes it without."
                )
            draw_id = draws_repository.create_draw(
                conn,
                guild_id=guild_id,
                period_id=period.id,
                winners_wanted=winners,
                prize=prize,
                requested_by=actor_id,
                now=now,
                reroll_of=reroll_of,
                reason=reason,
            )
        return self.complete(draw_id)

    def reroll(self, guild_id: int, *, actor_id: int, draw_id: int, reason: str) -> Draw:
        reason = reason.strip()
        if not reason:
            raise RaffleRefused("Say why you reroll: !rafflereroll <draw> <reason>.")
        with self.engine.connect() as conn:
            draw = draws_repository.find_draw(conn, guild_id, draw_id)
            last = periods_repository.find_last_closed_period(conn, guild_id)
        if draw is None:
            raise RaffleRefused(f"There is no draw #{draw_id} in this server.")
        if draw.status != "done":
            raise RaffleRefused(f"Draw #{draw_id} has not been drawn yet.")
        if last is None or last.id != draw.period_id:
            raise RaffleRefused("Only draws of the last closed period can be rerolled.")
        return self.request(
            guild_id,
            actor_id=actor_id,
            winners=draw.winners_wanted,
            prize=draw.prize,
            reroll_of=draw.id,
            reason=reason,
        )

    def force(self, guild_id: int, *, actor_id: int) -> Draw:
        """Complete the guild's waiting draw without the beacon (the proof says so)."""
        with self.engine.connect() as conn:
            waiting = [
                d for d in draws_repository.list_waiting_draws(conn) if d.guild_id == guild_id
            ]
        if not waiting:
            raise RaffleRefused("No draw is waiting for the beacon.")
        return self.complete(waiting[0].id, forced_by=actor_id)

    # --- completing them -------------------------------------------------------------------

    def complete_waiting(self) -> list[Draw]:
        """Try every waiting draw again (the scheduler's retry); return those now done."""
        with self.engine.connect() as conn:
            waiting = draws_repository.list_waiting_draws(conn)
        done = []
        for draw in waiting:
            result = self.complete(draw.id)
            if result.status == "done":
                done.append(result)
        return done

    def complete(self, draw_id: int, *, forced_by: int | None = None) -> Draw:
        """Draw now if the beacon round is out (or the draw is forced); else note why not."""
        with self.engine.connect() as conn:
            draw = draws_repository.get_draw(conn, draw_id)
            period = periods_repository.find_period(
                conn, draw.guild_id, draw.period_id, with_eligible=False
            )
        if draw.status != "waiting" or period is None:
            return draw
        randomness: str | None = None
        beacon_round: int | None = None
        if forced_by is None:
            try:
                period = self.fix_round(period)
                beacon_round = period.beacon_round
                fetched = self._fetch(beacon_round)
            except BeaconUnavailable as exc:
                return self._note(draw_id, str(exc))
            if fetched is None:
                return self._note(draw_id, f"beacon round {beacon_round} is not out yet")
            randomness = fetched
        now = utc(self.clock())
        with self.engine.begin() as conn:
            draw = draws_repository.get_draw(conn, draw_id, lock=True)
            if draw.status != "waiting":
                return draw
            earlier = [
                d
                for d in draws_repository.list_draws_of_period(conn, draw.guild_id, draw.period_id)
                if d.status == "done" and d.id < draw.id
            ]
            already_won = [
                fairness.participant_key(str(w.platform), w.platform_user_id)
                for d in earlier
                for w in d.winners
            ]
            picks = _pick(conn, period, draw, randomness or "", already_won)
            winners = [
                Winner(position, *_split(pick.participant), pick.ticket, pick.counter)
                for position, pick in enumerate(picks, start=1)
            ]
            draws_repository.complete_draw(
                conn,
                draw_id,
                guild_id=draw.guild_id,
                now=now,
                forced=forced_by is not None,
                beacon_round=beacon_round,
                beacon_randomness=randomness,
                first_counter=len(already_won),
                winners=winners,
                forced_by=forced_by,
            )
            done = draws_repository.get_draw(conn, draw_id)
        log.info("guild %s: draw #%s done with %d winner(s)", done.guild_id, draw_id, len(winners))
        return done

    def fix_round(self, period: Period) -> Period:
        """Store the period's beacon round (and the chain's timing) if it has none yet."""
        if self.beacon is None:
            raise BeaconUnavailable("no beacon is configured (RAFFLE_BEACON_URL)")
        genesis, seconds = period.beacon_genesis_time, period.beacon_period_seconds
        if genesis is None or seconds is None:
            info = self.beacon.info()
            genesis, seconds = info.genesis_time, info.period_seconds
        if period.closed_at is not None:
            number = fairness.expected_round(period.ends_at, period.closed_at, genesis, seconds)
        else:
            number = fairness.first_round_after(period.ends_at, genesis, seconds)
        if (number, genesis, seconds) != (
            period.beacon_round,
            period.beacon_genesis_time,
            period.beacon_period_seconds,
        ):
            with self.engine.begin() as conn:
                periods_repository.set_beacon_round(conn, period.id, number, genesis, seconds)
                return periods_repository.get_period(conn, period.id)
        return period

    def _fetch(self, beacon_round: int | None) -> str | None:
        if self.beacon is None or beacon_round is None:
            raise BeaconUnavailable("no beacon round to fetch")
        fetched = self.beacon.fetch_round(beacon_round)
        return None if fetched is None else fetched.randomness

    def _note(self, draw_id: int, error: str) -> Draw:
        with self.engine.begin() as conn:
            draws_repository.note_draw_attempt(conn, draw_id, error)
            draw = draws_repository.get_draw(conn, draw_id)
        log.info("draw #%s waits: %s", draw_id, error)
        return draw

    # --- proofs ----------------------------------------------------------------------------

    def proof_of_period(self, period: Period) -> Proof:
        with self.engine.connect() as conn:
            draws = tuple(draws_repository.list_draws_of_period(conn, period.guild_id, period.id))
            done = [d for d in draws if d.status == "done"]
            if period.status != "closed" or not done:
                return Proof(period, draws, None, None)
            entries = snapshot_entries(conn, period.guild_id, period.id)
            keys = sorted(
                {fairness.participant_key(str(w.platform), w.platform_user_id)
                 for d in done for w in d.winners}
            )  # fmt: skip
            names = usernames_of(conn, [tuple(k.split(":", 1)) for k in keys])
        document = {
            "format": fairness.PROOF_FORMAT,
            "guild_id": period.guild_id,
            "period_id": period.id,
            "starts_at": utc(period.starts_at).isoformat(),
            "ends_at": utc(period.ends_at).isoformat(),
            "closed_at": utc(period.closed_at or period.ends_at).isoformat(),
            "commitment": period.commitment,
            "seed": period.seed,
            "snapshot_hash": period.snapshot_hash,
            "beacon": {
                "url": self.beacon.url if self.beacon else None,
                "round": period.beacon_round,
                "genesis_time": period.beacon_genesis_time,
                "period_seconds": period.beacon_period_seconds,
            },
            "draws": [_draw_document(d, names) for d in done],
        }
        ledger = {
            "format": fairness.LEDGER_FORMAT,
            "guild_id": period.guild_id,
            "period_id": period.id,
            "entries": [entry.__dict__ for entry in entries],
            "eligible": sorted(period.eligible or ()),
        }
        return Proof(period, draws, document, ledger)


def _closed_period_of(conn: Connection, guild_id: int, period_id: int) -> Period | None:
    period = periods_repository.find_period_by_id(conn, period_id)
    if period is None or period.guild_id != guild_id or period.status != "closed":
        return None
    return period


def _draw_document(draw: Draw, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": draw.id,
        "requested_at": utc(draw.requested_at).isoformat(),
        "drawn_at": utc(draw.drawn_at).isoformat() if draw.drawn_at else None,
        "winners_wanted": draw.winners_wanted,
        "prize": draw.prize,
        "reroll_of": draw.reroll_of,
        "reason": draw.reason,
        "forced": draw.forced,
        "forced_by": draw.forced_by,
        "beacon_round": draw.beacon_round,
        "beacon_randomness": draw.beacon_randomness,
        "first_counter": draw.first_counter,
        "winners": [
            {
                "position": w.position,
                "participant": (
                    key := fairness.participant_key(str(w.platform), w.platform_user_id)
                ),
                "username": names.get(key),
                "ticket": w.ticket,
                "counter": w.counter,
            }
            for w in draw.winners
        ],
    }


def _split(participant: str) -> tuple[Platform, str]:
    platform, user_id = participant.split(":", 1)
    return Platform(platform), user_id


def _pick(
    conn: Connection, period: Period, draw: Draw, randomness: str, already_won: list[str]
) -> list[fairness.Pick]:
    """The draw's picks: one index seek per winner in the ticket ranges the close stored; a
    period closed before they existed reads its balances (one row per participant)."""
    common = {
        "seed_hex": period.seed,
        "snapshot_hash_hex": period.snapshot_hash or "",
        "randomness_hex": randomness,
        "already_won": already_won,
        "first_counter": len(already_won),
        "count": draw.winners_wanted,
    }
    total = frozen_ranges.total_tickets(conn, period.id)
    if total is not None:
        return frozen_ranges.pick_winners(conn, period.id, total=total, **common)
    # The frozen balances are the ledger summed per participant: one row each.
    tickets = snapshot_repository.participant_tickets(conn, draw.guild_id, draw.period_id)
    full = periods_repository.get_period(conn, period.id)  # with its eligible participants
    return fairness.pick_winners_fast(balances_=tickets, eligible=full.eligible or (), **common)
