"""Rerolls: a reroll waits for a beacon round published after it was asked for (so nobody, the
moderator who asks included, can know its winners before), it replaces one named winner or the
whole draw, and the proof and the verifier show and check it."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime

import pytest

from core.features.raffle.draws import fairness, verification
from core.features.raffle.errors import RaffleRefused
from tests.fakes.beacon_server import fake_randomness
from tests.features.raffle.proof_scenario import FIXTURES
from tests.features.raffle.support import GUILD, add_viewer, make_service


def _drawn_month(engine, clock, beacon, winners: int = 3):
    raffle = make_service(engine, clock, beacon.url)
    for n in range(12):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n in range(12):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=5 + 7 * n, reason="", reference=f"m{n}"
        )
    clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    raffle.run_scheduled()
    clock.advance(minutes=1)
    first = raffle.draws.request(GUILD, actor_id=1, winners=winners, prize="a hoodie")
    assert first.status == "done"
    return raffle, first


def test_a_reroll_waits_for_a_round_published_after_it_was_asked_for(engine, clock, beacon):
    """The period's round is out (the first draw used it), and the seed is public with the
    first draw: a reroll on that round could be computed by anyone before asking for it."""
    raffle, first = _drawn_month(engine, clock, beacon)
    clock.advance(seconds=40)
    period = raffle.views.info(GUILD).last_closed

    asked = raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="no answer")

    genesis, seconds = period.beacon_genesis_time, period.beacon_period_seconds
    fresh = fairness.first_round_after(clock(), genesis, seconds)
    assert fresh > period.beacon_round
    assert (asked.status, asked.beacon_round) == ("waiting", fresh)
    clock.advance(seconds=30)
    asyncio.run(raffle.complete_waiting_draws())
    proof = raffle.views.proof(GUILD)
    done = proof.document["draws"][1]
    assert (done["beacon_round"], done["beacon_randomness"]) == (fresh, fake_randomness(fresh))
    assert done["beacon_randomness"] != proof.document["draws"][0]["beacon_randomness"]
    result = verification.verify(proof.document, proof.ledger)
    assert result.matches, result.problems
    assert (
        f"draw {asked.id} is a reroll of draw {first.id}: it used round {fresh}, the first "
        f"published after it was asked for ({done['requested_at']})" in result.notes
    )


def test_a_reroll_on_another_round_than_its_own_does_not_verify(engine, clock, beacon):
    raffle, first = _drawn_month(engine, clock, beacon)
    asked = raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="no answer")
    clock.advance(seconds=30)
    asyncio.run(raffle.complete_waiting_draws())
    proof = raffle.views.proof(GUILD)
    document = copy.deepcopy(proof.document)
    document["draws"][1]["requested_at"] = "2026-04-01T00:10:00+00:00"  # later than it was
    problems = verification.verify(document, proof.ledger).problems
    assert any(
        f"draw {asked.id} is a reroll asked for at 2026-04-01T00:10:00+00:00" in p for p in problems
    ), problems


def test_a_reroll_made_on_the_periods_round_still_verifies_and_says_it_was_predictable():
    """Rerolls drawn before they waited for a round of their own reused the period's round:
    their proofs still match, and the verifier says anyone could know their winners first."""
    proof = json.loads((FIXTURES / "raffle-v3-1-proof.json").read_text("utf-8"))
    ledger = json.loads((FIXTURES / "raffle-v3-1-ledger.json").read_text("utf-8"))
    result = verification.verify(proof, ledger)
    assert result.matches, result.problems
    assert (
        "draw 2 is a reroll of draw 1 that reused round 259202, out before it was asked for: "
        "anyone who read the published seed could know its winners before it was asked for"
    ) in result.notes


def test_a_reroll_of_one_named_winner_draws_one_replacement(engine, clock, beacon):
    raffle, first = _drawn_month(engine, clock, beacon, winners=3)
    gone = first.winners[1]
    asked = raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="no answer", winner=2)
    assert asked.winners_wanted == 1
    assert asked.reason.startswith(
        f"in place of winner 2 ({gone.platform}:{gone.platform_user_id})"
    )
    assert asked.reason.endswith(": no answer")
    clock.advance(seconds=30)
    asyncio.run(raffle.complete_waiting_draws())
    (replacement,) = raffle.views.proof(GUILD, asked.id).draws[-1].winners
    keys = {(w.platform, w.platform_user_id) for w in first.winners}
    assert (replacement.platform, replacement.platform_user_id) not in keys
    proof = raffle.views.proof(GUILD)
    assert verification.verify(proof.document, proof.ledger).matches
    with pytest.raises(RaffleRefused, match="winners 1 to 3"):
        raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="x", winner=4)


def test_the_verifier_checks_which_winner_a_reroll_replaced(engine, clock, beacon):
    """The reason names the winner replaced ("in place of winner 2 (kick:u5)"): the verifier
    checks that it was that draw's winner 2 and that the reroll drew one, and that a reroll
    rerolls an earlier draw of the proof."""
    raffle, first = _drawn_month(engine, clock, beacon, winners=3)
    asked = raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="gone", winner=2)
    clock.advance(seconds=30)
    asyncio.run(raffle.complete_waiting_draws())
    proof = raffle.views.proof(GUILD)
    assert verification.verify(proof.document, proof.ledger).matches

    def problems(change) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
        document = copy.deepcopy(proof.document)
        change(document["draws"][1], document["draws"][0])
        return verification.verify(document, proof.ledger).problems

    def another_winner(reroll, drawn):  # type: ignore[no-untyped-def]
        third = drawn["winners"][2]["participant"]
        reroll["reason"] = f"in place of winner 2 ({third}): gone"

    def of_no_earlier_draw(reroll, drawn):  # type: ignore[no-untyped-def]
        reroll["reroll_of"] = asked.id + 1

    gone = proof.document["draws"][0]["winners"][2]["participant"]
    assert problems(another_winner) == (
        f"draw {asked.id} says it replaces winner 2 ({gone}) of draw {first.id}, "
        f"whose winner 2 is {proof.document['draws'][0]['winners'][1]['participant']}",
    )
    assert problems(of_no_earlier_draw) == (
        f"draw {asked.id} is a reroll of draw {asked.id + 1}, which is not an earlier draw "
        "of this proof",
    )


def test_a_whole_draw_reroll_cannot_claim_to_replace_one_winner(engine, clock, beacon):
    raffle, first = _drawn_month(engine, clock, beacon, winners=3)
    with pytest.raises(RaffleRefused, match="#2"):
        raffle.draws.reroll(
            GUILD, actor_id=1, draw_id=first.id, reason="in place of winner 2 (kick:u1): x"
        )


def test_a_reroll_cannot_be_forced_while_its_round_may_still_come(engine, clock, beacon):
    """Forced, a reroll's winners follow from the seed (public since the first draw) and the
    ledger: a moderator could reroll and force until a friend came up. Forcing waits until no
    relay has had the reroll's round for 5 minutes after its time."""
    raffle, first = _drawn_month(engine, clock, beacon)
    beacon.down = True
    asked = raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="no answer")
    with pytest.raises(RaffleRefused, match=f"beacon round {asked.beacon_round}"):
        raffle.draws.force(GUILD, actor_id=1)
    clock.advance(minutes=6)
    forced = raffle.draws.force(GUILD, actor_id=1)
    assert (forced.id, forced.status, forced.forced) == (asked.id, "done", True)
