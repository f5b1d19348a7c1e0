"""A draw's edge cases (nobody, one participant, everyone excluded, more winners wanted than
participants), proofs tampered with in one place, and draws kept to their own server."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta

import pytest

from core.features.raffle.draws import fairness, frozen_ranges, verification
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.periods import repository as periods_repository
from tests.fakes.beacon_server import FakeBeacon
from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.support.clock import Clock

OTHER_GUILD = 1002


def _closed_month(engine, raffle, clock, tickets: list[int], *, excluded: int = 0):
    for n in range(len(tickets)):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n, count in enumerate(tickets):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=count, reason="", reference=f"m{n}"
        )
    for n in range(excluded):
        raffle.admin.exclude(GUILD, actor_id=1, member_id=100 + n, username=None)
    clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    raffle.run_scheduled()
    clock.advance(minutes=1)


@pytest.mark.parametrize(
    ("tickets", "excluded", "wanted", "winners"),
    [
        ([], 0, 1, 0),  # nobody took part
        ([7], 0, 1, 1),  # one participant
        ([7], 0, 5, 1),  # more winners wanted than participants
        ([3, 4, 5], 3, 2, 0),  # everyone excluded
        ([3, 4, 5], 1, 3, 2),
    ],
)
def test_a_draw_with_few_or_no_participants_verifies(
    engine, clock, beacon, tickets, excluded, wanted, winners
):
    raffle = make_service(engine, clock, beacon.url)
    _closed_month(engine, raffle, clock, tickets, excluded=excluded)
    draw = raffle.draws.request(GUILD, actor_id=1, winners=wanted)
    assert (draw.status, len(draw.winners)) == ("done", winners)
    again = raffle.draws.request(GUILD, actor_id=1, winners=1)  # nobody is left, or one less
    proof = raffle.views.proof(GUILD)
    assert [d["id"] for d in proof.document["draws"]] == [draw.id, again.id]
    result = verification.verify(proof.document, proof.ledger)
    assert result.matches, result.problems


def test_a_proof_with_another_winner_or_eligible_list_does_not_verify(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    _closed_month(engine, raffle, clock, [3, 40, 5, 9])
    raffle.draws.request(GUILD, actor_id=1, winners=2)
    proof = raffle.views.proof(GUILD)
    assert verification.verify(proof.document, proof.ledger).matches

    def problems(change) -> tuple[str, ...]:
        document, ledger = copy.deepcopy(proof.document), copy.deepcopy(proof.ledger)
        change(document, ledger)
        return verification.verify(document, ledger).problems

    def other_winner(document, ledger):
        winner = document["draws"][0]["winners"][0]
        others = [key for key in ledger["eligible"] if key != winner["participant"]]
        winner["participant"] = others[0]

    def other_ticket(document, _ledger):
        document["draws"][0]["winners"][0]["ticket"] += 1

    def fewer_eligible(document, ledger):
        ledger["eligible"].remove(document["draws"][0]["winners"][0]["participant"])

    def other_round(document, _ledger):
        document["beacon"]["round"] += 1
        for draw in document["draws"]:
            draw["beacon_round"] += 1

    def other_snapshot(document, _ledger):
        document["snapshot_hash"] = "0" * 64

    assert "recomputed winners" in problems(other_winner)[0]
    assert "recomputed winners" in problems(other_ticket)[0]
    assert "snapshot hash" in problems(fewer_eligible)[0]
    assert problems(other_round)
    assert "snapshot hash" in problems(other_snapshot)[0]


def test_another_servers_draw_and_period_cannot_be_drawn_rerolled_or_shown(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    _closed_month(engine, raffle, clock, [3, 4])
    draw = raffle.draws.request(GUILD, actor_id=1)
    period = raffle.views.info(GUILD).last_closed
    raffle.periods.start(OTHER_GUILD)
    raffle.periods.end(OTHER_GUILD)
    with pytest.raises(RaffleRefused, match=f"no draw #{draw.id}"):
        raffle.draws.reroll(OTHER_GUILD, actor_id=9, draw_id=draw.id, reason="mine now")
    with pytest.raises(RaffleRefused):
        raffle.draws.request(OTHER_GUILD, actor_id=9, period_id=period.id)
    with pytest.raises(RaffleRefused, match="No draw is waiting"):
        raffle.draws.force(OTHER_GUILD, actor_id=9)
    with pytest.raises(RaffleRefused, match=f"no draw #{draw.id} in this server"):
        raffle.views.proof(OTHER_GUILD, draw.id)


def test_a_reroll_stays_in_its_draws_period_when_the_next_period_closes_meanwhile(
    engine, clock, beacon, monkeypatch
):
    """``!rafflereroll`` checks that the draw is of the last closed period, then asks for the
    draw: a period closing in between (the scheduler's close at a month's end) must not get
    the reroll, a draw of the wrong month pointing at another period's draw."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no close can come in between")
    raffle = make_service(engine, clock, beacon.url)
    _closed_month(engine, raffle, clock, [3, 4, 5])
    first = raffle.draws.request(GUILD, actor_id=1)
    march = raffle.views.info(GUILD).last_closed
    raffle.admin.give(GUILD, actor_id=1, member_id=100, tickets=2, reason="", reference="april")
    real = periods_repository.find_last_closed_period
    calls = []

    def and_then_a_close(conn, guild_id):  # type: ignore[no-untyped-def]
        found = real(conn, guild_id)
        if not calls:  # the reroll's check: the next period closes right after it
            calls.append(found)
            raffle.periods.end(GUILD)
        return found

    monkeypatch.setattr(periods_repository, "find_last_closed_period", and_then_a_close)
    clock.advance(minutes=1)
    second = raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="no answer")
    assert (second.period_id, second.reroll_of) == (march.id, first.id)
    clock.advance(seconds=30)  # the reroll's own round
    asyncio.run(raffle.complete_waiting_draws())
    proof = raffle.views.export(march.id)
    assert [d["id"] for d in proof.document["draws"]] == [first.id, second.id]
    assert verification.verify(proof.document, proof.ledger).matches


def test_a_close_that_freezes_late_fixes_a_round_not_out_when_it_froze(engine, monkeypatch):
    """The scheduler reads the time once and then closes every ended period in turn: the
    1,000th guild's close (a beacon to ask first, big ledgers before it) freezes its ledger
    seconds after that time, when the first round after it is out on a 3-second chain. Who
    could still change that ledger (an exclusion, a gift voided) would know the randomness the
    draw uses. The round must be the first after the freeze, whatever the time read before."""
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    with FakeBeacon(clock=clock, period_seconds=3) as beacon:
        raffle = make_service(engine, clock, beacon.url)
        add_viewer(engine, "u0", "viewer0", discord_id=100)
        raffle.periods.start(GUILD)
        raffle.admin.give(GUILD, actor_id=1, member_id=100, tickets=3, reason="", reference="m")
        freeze = frozen_ranges.freeze
        froze_at = []

        def slowly(*args, **kwargs):  # type: ignore[no-untyped-def]
            clock.advance(seconds=20)  # the closes before this one, at the month's end
            froze_at.append(clock())
            return freeze(*args, **kwargs)

        monkeypatch.setattr(frozen_ranges, "freeze", slowly)
        clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
        raffle.run_scheduled()
        closed = raffle.views.info(GUILD).last_closed
        published = fairness.round_time(closed.beacon_round, beacon.genesis_time, 3)
        assert published > froze_at[0].timestamp()
        assert closed.closed_at >= froze_at[0]
        clock.advance(minutes=1)
        raffle.draws.request(GUILD, actor_id=1)
    proof = raffle.views.export(closed.id)
    assert verification.verify(proof.document, proof.ledger).matches


def test_a_round_long_due_that_no_relay_has_is_not_said_to_be_not_out_yet(engine, clock):
    """Relays that answer 404 for every round (a RAFFLE_BEACON_URLS with a wrong path, a relay
    not serving the chain) made the draw say "beacon round N is not out yet" for days, though
    the round was out: nothing told the admin the relays were the trouble."""
    with FakeBeacon(clock=clock, published={}) as relay:  # it knows no round
        raffle = make_service(engine, clock, relay.url)
        _closed_month(engine, raffle, clock, [3, 4])
        period = raffle.views.info(GUILD).last_closed
        round_at = fairness.round_time(
            period.beacon_round, period.beacon_genesis_time, period.beacon_period_seconds
        )
        clock.now = datetime.fromtimestamp(round_at, UTC) + timedelta(seconds=30)
        soon = raffle.draws.request(GUILD, actor_id=1)
        assert soon.last_error == f"beacon round {period.beacon_round} is not out yet"
        clock.now = datetime.fromtimestamp(round_at, UTC) + timedelta(hours=2)
        [late] = raffle.draws.complete_waiting() or [raffle.views.info(GUILD).last_draw]

    assert late.status == "waiting"
    assert "not out yet" not in late.last_error
    assert f"beacon round {period.beacon_round} is out since" in late.last_error
    assert "RAFFLE_BEACON_URLS" in late.last_error
