"""Draws: waiting for the beacon round, picking winners, and the proof anyone can check.

The arithmetic lives in :mod:`core.features.raffle.draws.fairness`; this module fetches what it
needs from the database and the beacon, and records the result.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, utc
from core.features.raffle.beacons import chains as drand_chains
from core.features.raffle.beacons.relays import pinned_info
from core.features.raffle.draws import fairness, frozen_ranges, proofs, rounds, snapshot_repository
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.actors import ActorPseudonyms
from core.features.raffle.draws.proofs import Proof, snapshot_entries
from core.features.raffle.draws.repository import Draw, Winner
from core.features.raffle.draws.snapshot_repository import snapshot_digest
from core.features.raffle.errors import DrawNotDue, RaffleRefused, checked_text, visible
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods import resume_repository
from core.features.raffle.periods.repository import Period
from core.features.raffle.ports import Beacon, BeaconInfo, BeaconRound, BeaconUnavailable

__all__ = ["MAX_WINNERS", "Proof", "RaffleDraws", "snapshot_digest", "snapshot_entries"]

log = logging.getLogger(__name__)
MAX_WINNERS = 25


class RaffleDraws:
    def __init__(
        self,
        engine: Engine,
        beacon: Beacon | None,
        clock: Callable[[], datetime],
        actor_secret: str,
    ) -> None:
        """``actor_secret``: the deployment's secret the admins' pseudonyms are keyed by
        (:mod:`core.features.raffle.draws.actors`)."""
        self.engine = engine
        self.beacon = beacon
        self.clock = clock
        self.actor_secret = actor_secret

    def actors_of(self, period: Period) -> ActorPseudonyms:
        """The pseudonyms of the period's admins (in the ledger of a version 2 period): by the
        key kept at its close, else (a period not closed yet) derived from the secret now."""
        if period.actor_key:
            return ActorPseudonyms(bytes.fromhex(period.actor_key))
        return ActorPseudonyms.of_period(self.actor_secret, period.guild_id, period.id)

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
        try_now: bool = True,
        if_due: bool = False,
    ) -> Draw:
        """Queue a draw of the guild's last closed period (or of ``period_id``, one of the
        guild's closed periods) and try it at once (unless not ``try_now``: the scheduler's
        own draws wait for :meth:`complete_waiting`, so a beacon that hangs holds no period's
        close). Clears the period's ``draw_due``; with ``if_due`` (the automatic draw),
        :class:`DrawNotDue` when it was not due any more once the period was locked."""
        if not 1 <= winners <= MAX_WINNERS:
            raise RaffleRefused(f"Pick from 1 to {MAX_WINNERS} winners.")
        prize = checked_text(prize.strip(), "prize")
        reason = checked_text(reason, "reason")
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
            if not draws_repository.take_period_for_draws(conn, period.id) and if_due:
                raise DrawNotDue("The automatic draw of that period was requested already.")
            waiting = draws_repository.has_waiting_draw(conn, guild_id, period.id)
            resume_repository.clear_draw_due(conn, period.id)
            if waiting:
                raise RaffleRefused(
                    "A draw of this period is already waiting for the beacon; "
                    "!raffleforce completes it without."
                )
            draw_id = draws_repository.create_draw(
                conn,
                beacon_round=None if reroll_of is None else rounds.reroll_round(period, now),
                guild_id=guild_id,
                period_id=period.id,
                winners_wanted=winners,
                prize=prize,
                requested_by=actor_id,
                now=now,
                reroll_of=reroll_of,
                reason=reason,
            )
            if not try_now:
                return draws_repository.get_draw(conn, draw_id)
        return self.complete(draw_id)

    def reroll(
        self, guild_id: int, *, actor_id: int, draw_id: int, reason: str, winner: int | None = None
    ) -> Draw:
        """Draw again for draw ``draw_id``: one winner in place of its winner number ``winner``,
        or (None) as many as it drew. It waits for a round of its own (:mod:`rounds`)."""
        reason = checked_text(reason.strip(), "reason")
        if not visible(reason):
            raise RaffleRefused("Say why you reroll: !rafflereroll <draw> [#winner] <reason>.")
        with self.engine.connect() as conn:
            draw = draws_repository.find_draw(conn, guild_id, draw_id)
            last = periods_repository.find_last_closed_period(conn, guild_id)
        if draw is None:
            raise RaffleRefused(f"There is no draw #{draw_id} in this server.")
        if draw.status != "done":
            raise RaffleRefused(f"Draw #{draw_id} has not been drawn yet.")
        if last is None or last.id != draw.period_id:
            raise RaffleRefused("Only draws of the last closed period can be rerolled.")
        count, reason = rounds.replacement(draw, winner, reason)
        return self.request(
            guild_id,
            actor_id=actor_id,
            winners=count,
            prize=draw.prize,
            reroll_of=draw.id,
            reason=reason,
            period_id=draw.period_id,  # not the last closed one again: one may close meanwhile
        )

    def force(self, guild_id: int, *, actor_id: int) -> Draw:
        """Complete the guild's waiting draw without the beacon (the proof says so)."""
        with self.engine.connect() as conn:
            waiting = draws_repository.list_waiting_draws(conn, guild_id)
        if not waiting:
            raise RaffleRefused("No draw is waiting for the beacon.")
        with self.engine.connect() as conn:
            period = periods_repository.find_period_by_id(conn, waiting[0].period_id)
        if period is not None:
            rounds.refuse_early_force(waiting[0], period, utc(self.clock()))
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
        """Draw now if the beacon round is out (or the draw is forced); else note why not.

        A forced draw needs nothing from outside, so it reads the draw and its period once,
        in the transaction that completes it."""
        fetched: BeaconRound | None = None
        beacon_round: int | None = None
        period: Period | None = None
        if forced_by is None:
            with self.engine.connect() as conn:
                draw = draws_repository.get_draw(conn, draw_id)
                period = periods_repository.find_period(
                    conn, draw.guild_id, draw.period_id, with_eligible=False
                )
            if draw.status != "waiting" or period is None:
                return draw
            try:
                period = self.fix_round(period)
                beacon_round = rounds.round_of(draw, period)
                fetched = self._fetch(period, beacon_round)
            except BeaconUnavailable as exc:
                return self._note(draw_id, str(exc), beacon_round)
            if fetched is None:
                why = rounds.not_out(period, beacon_round or 0, utc(self.clock()))
                return self._note(draw_id, why, beacon_round)
        randomness = fetched.randomness if fetched else None
        now = utc(self.clock())
        with self.engine.begin() as conn:
            draw, total = draws_repository.lock_draw_with_total(conn, draw_id)
            if draw.status != "waiting":
                return draw
            if period is None:  # forced: not read before
                period = periods_repository.find_period(
                    conn, draw.guild_id, draw.period_id, with_eligible=False
                )
                if period is None:
                    return draw
            earlier = draws_repository.winners_before_with_ranges(
                conn, draw.guild_id, draw.period_id, draw.id
            )
            already_won = [key for key, _ in earlier]
            out_of_play = sorted({laid_out for _, laid_out in earlier if laid_out is not None})
            picks = _pick(conn, period, draw, total, randomness or "", already_won, out_of_play)
            winners = [
                Winner(position, *_split(pick.participant), pick.ticket, pick.counter)
                for position, pick in enumerate(picks, start=1)
            ]
            done = dataclasses.replace(
                draw,
                status="done",
                drawn_at=now,
                forced=forced_by is not None,
                forced_by=forced_by,
                beacon_round=beacon_round,
                beacon_randomness=randomness,
                beacon_signature=fetched.signature if fetched else None,
                beacon_previous_signature=fetched.previous_signature if fetched else None,
                first_counter=len(already_won),
                last_error=None,
                winners=tuple(winners),
            )
            draws_repository.complete_draw(conn, done)
        log.info("guild %s: draw #%s done with %d winner(s)", done.guild_id, draw_id, len(winners))
        return done

    def fix_round(self, period: Period) -> Period:
        """Store the period's beacon round and chain (hash, scheme, key, timing) if it has none
        yet. A period fixed before chains were recorded keeps its timing: it is matched to the
        beacon's chain, or else to the pinned chain with that timing."""
        if self.beacon is None:
            raise BeaconUnavailable("no beacon is configured (RAFFLE_BEACON_URLS)")
        if period.status == "closed" and period.snapshot_version >= fairness.ROUND_FIXED_FROM:
            if period.beacon_round is None:  # its snapshot hash fixes no round: none verifies
                raise BeaconUnavailable(
                    "the period closed before its beacon chain was known, so no round was "
                    "fixed; !raffleforce draws without the beacon"
                )
            return period  # the close fixed the round, and the snapshot hash covers it
        chain = chain_of(period)
        if chain is None:
            chain = self.beacon.info()
            timing = (period.beacon_genesis_time, period.beacon_period_seconds)
            if timing[0] is not None and timing != (chain.genesis_time, chain.period_seconds):
                chain = rounds.pinned_by_timing(timing[0], timing[1] or 0)
        genesis, seconds = chain.genesis_time, chain.period_seconds
        if period.closed_at is not None:
            number = fairness.expected_round(period.ends_at, period.closed_at, genesis, seconds)
        else:
            number = fairness.first_round_after(period.ends_at, genesis, seconds)
        stored = (
            period.beacon_round,
            period.beacon_genesis_time,
            period.beacon_period_seconds,
            period.beacon_chain_hash,
            period.beacon_scheme,
            period.beacon_public_key,
        )
        wanted = (number, genesis, seconds, chain.chain_hash, chain.scheme, chain.public_key)
        if wanted != stored:
            with self.engine.begin() as conn:
                periods_repository.set_beacon_round(
                    conn,
                    period.id,
                    number,
                    genesis,
                    seconds,
                    chain_hash=chain.chain_hash,
                    scheme=chain.scheme,
                    public_key=chain.public_key,
                )
                return periods_repository.get_period(conn, period.id)
        return period

    def _fetch(self, period: Period, number: int | None) -> BeaconRound | None:
        genesis, seconds = period.beacon_genesis_time, period.beacon_period_seconds
        if self.beacon is None or number is None or genesis is None or not seconds:
            raise BeaconUnavailable("no beacon round to fetch")
        # Without a recorded chain only a beacon without signatures (a test's) can answer.
        chain = chain_of(period) or BeaconInfo(genesis, seconds)
        fetched = self.beacon.fetch_round(number, chain)
        if fetched is not None and chain.chain_hash and not fetched.signature:
            raise BeaconUnavailable("the beacon gave a round without its signature")
        return fetched

    def _note(self, draw_id: int, error: str, beacon_round: int | None) -> Draw:
        """The waiting draw, with the round it waits for (None: not fixed), which a draw
        records only once done."""
        with self.engine.begin() as conn:
            draws_repository.note_draw_attempt(conn, draw_id, error)
            draw = draws_repository.get_draw(conn, draw_id)
        log.info("draw #%s waits: %s", draw_id, error)
        return dataclasses.replace(draw, beacon_round=beacon_round)

    # --- proofs ----------------------------------------------------------------------------

    def proof_of_period(self, period: Period, *, with_ledger: bool = True) -> Proof:
        beacon_url = self.beacon.url if self.beacon else None
        actors = self.actors_of(period) if period.snapshot_version > 1 else None
        return proofs.proof_of_period(
            self.engine, beacon_url, period, actors, with_ledger=with_ledger
        )


def chain_of(period: Period) -> BeaconInfo | None:
    """The chain the period's round comes from, as recorded (a pinned chain's facts from the
    code); None until it is recorded."""
    genesis, seconds = period.beacon_genesis_time, period.beacon_period_seconds
    if genesis is None or seconds is None:
        return None
    pinned = drand_chains.pinned(period.beacon_chain_hash)
    if pinned is not None:
        return pinned_info(pinned)
    if period.beacon_chain_hash is None and period.beacon_scheme is None:
        return None  # fixed before chains were recorded: fix_round finds it
    return BeaconInfo(
        genesis,
        seconds,
        period.beacon_chain_hash,
        period.beacon_scheme,
        period.beacon_public_key,
    )


def _closed_period_of(conn: Connection, guild_id: int, period_id: int) -> Period | None:
    period = periods_repository.find_period_by_id(conn, period_id)
    if period is None or period.guild_id != guild_id or period.status != "closed":
        return None
    return period


def _split(participant: str) -> tuple[Platform, str]:
    platform, user_id = participant.split(":", 1)
    return Platform(platform), user_id


def _pick(
    conn: Connection,
    period: Period,
    draw: Draw,
    total: int | None,
    randomness: str,
    already_won: list[str],
    out_of_play: list[tuple[int, int]],
) -> list[fairness.Pick]:
    """The draw's picks: one index seek per winner in the ticket ranges the close stored
    (``total`` tickets in them; ``out_of_play``: the earlier winners' ranges there); a period
    closed before they existed (``total`` None) reads its balances (one row per participant)."""
    inputs = fairness.DrawInputs(
        seed_hex=period.seed,
        snapshot_hash_hex=period.snapshot_hash or "",
        randomness_hex=randomness,
        already_won=already_won,
        first_counter=len(already_won),
        count=draw.winners_wanted,
    )
    if total is not None:
        return frozen_ranges.pick_winners(
            conn, period.id, inputs, total=total, out_of_play=out_of_play
        )
    # The frozen balances are the ledger summed per participant: one row each.
    tickets = snapshot_repository.participant_tickets(conn, draw.guild_id, draw.period_id)
    full = periods_repository.get_period(conn, period.id)  # with its eligible participants
    return fairness.pick_winners_fast(inputs, balances_=tickets, eligible=full.eligible or ())
