"""Verifiable draws: the beacon, winners in proportion to tickets, proofs that verify, and
proofs that stop verifying when anything in them is changed."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime

import pytest

from core.features.raffle.beacons.relays import HttpBeacon
from core.features.raffle.draws import fairness, verification
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.ports import BeaconUnavailable
from tests.fakes.beacon_server import FakeBeacon, fake_randomness, fake_signature
from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.support.cli import run as run_cli
from tests.support.cli import run_process
from tests.support.clock import Clock
from tests.support.statements import statements_of

PARTICIPANTS = {"kick:a": 10, "kick:b": 20, "kick:c": 30, "kick:d": 40}


def _seed(n: int) -> str:
    return hashlib.sha256(f"chi:{n}".encode()).hexdigest()


def test_winners_come_in_proportion_to_tickets():
    """Chi-square over 4,000 fixed seeds: the same every run, so it cannot flake."""
    counts = dict.fromkeys(PARTICIPANTS, 0)
    for n in range(4000):
        inputs = fairness.DrawInputs(
            seed_hex=_seed(n),
            snapshot_hash_hex="ab" * 32,
            randomness_hex="cd" * 32,
            already_won=(),
            first_counter=0,
            count=1,
        )
        (pick,) = fairness.pick_winners(inputs, balances_=PARTICIPANTS, eligible=PARTICIPANTS)
        counts[pick.participant] += 1
    total = sum(PARTICIPANTS.values())
    chi_square = sum(
        (counts[key] - 4000 * tickets / total) ** 2 / (4000 * tickets / total)
        for key, tickets in PARTICIPANTS.items()
    )
    assert chi_square < 16.27  # 3 degrees of freedom, p = 0.001
    # ... and the draw is not degenerate: it really does depend on the tickets.
    assert counts["kick:d"] > counts["kick:c"] > counts["kick:b"] > counts["kick:a"]


def test_later_winners_never_repeat_and_skip_the_ineligible():
    inputs = fairness.DrawInputs(
        seed_hex=_seed(1),
        snapshot_hash_hex="ab" * 32,
        randomness_hex="",
        already_won=["kick:d"],
        first_counter=5,
        count=10,
    )
    picks = fairness.pick_winners(
        inputs, balances_={**PARTICIPANTS, "kick:e": 1000}, eligible=PARTICIPANTS
    )
    assert sorted(p.participant for p in picks) == ["kick:a", "kick:b", "kick:c"]
    assert [p.counter for p in picks] == [5, 6, 7]


def test_beacon_rounds_follow_the_chain_timing():
    genesis = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    end = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)  # exactly round 3's time
    assert fairness.first_round_after(end, genesis, 30) == 4
    assert fairness.expected_round(end, end, genesis, 30) == 4
    late = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)  # frozen after round 4 was out
    assert fairness.expected_round(end, late, genesis, 30) == 12


def test_the_fake_beacon_answers_like_drand(tmp_path):
    clock = Clock(datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    with FakeBeacon(clock=clock) as fake:
        beacon = HttpBeacon(fake.url)
        info = beacon.info()
        assert info.period_seconds == 30
        assert (info.chain_hash, info.public_key) == (fake.chain_hash, fake.chain.public_key)
        fetched = beacon.fetch_round(3, info)
        assert fetched.randomness == fake_randomness(3)
        assert fetched.signature == fake_signature(3)
        assert beacon.fetch_round(4, info) is None  # not out yet
        fake.down = True
        with pytest.raises(BeaconUnavailable, match="503"):
            beacon.fetch_round(3, info)
    with pytest.raises(BeaconUnavailable, match="did not answer"):
        HttpBeacon(fake.url).info()


# --- through the service ------------------------------------------------------------------


def _month_with_tickets(engine, raffle, clock):
    for n in range(12):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    add_viewer(engine, "ghost", "unlinked")  # holds tickets but cannot win
    raffle.periods.start(GUILD)
    for n in range(12):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=5 + 7 * n, reason="", reference=f"m{n}"
        )
    raffle.admin.exclude(GUILD, actor_id=1, member_id=111, username=None)
    clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    raffle.run_scheduled()


def test_the_automatic_draw_at_a_close_asks_no_relay_and_the_waiting_draws_job_draws_it(
    engine, clock, beacon
):
    """A period's close runs after the watchtime tick; the drand relays, slow or gone at
    times, are the waiting draws' job alone, so they never hold the tick."""
    raffle = make_service(engine, clock, beacon.url, auto_draw=True)
    for n in range(3):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n in range(3):
        raffle.admin.give(GUILD, actor_id=1, member_id=100 + n, tickets=3, reason="",
                          reference=f"m{n}")  # fmt: skip
    clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)

    raffle.run_scheduled()

    draw = raffle.views.info(GUILD).last_draw
    assert (draw.status, draw.attempts) == ("waiting", 0)
    assert [path for path in beacon.requests if "/public/" in path] == []
    clock.advance(minutes=2)
    asyncio.run(raffle.complete_waiting_draws())
    assert raffle.views.info(GUILD).last_draw.status == "done"


def test_a_draw_waits_for_its_beacon_round_then_verifies(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    _month_with_tickets(engine, raffle, clock)
    closed = raffle.views.info(GUILD).last_closed
    assert "kick:u11" not in closed.eligible  # excluded
    assert len(closed.eligible) == 11

    beacon.down = True
    draw = raffle.draws.request(GUILD, actor_id=1, winners=3, prize="a hoodie")
    assert (draw.status, draw.attempts) == ("waiting", 1)
    assert "503" in draw.last_error
    with pytest.raises(RaffleRefused, match="already waiting"):
        raffle.draws.request(GUILD, actor_id=1)
    assert raffle.views.proof(GUILD).document is None  # the seed stays secret until a draw is done

    beacon.down = False
    clock.advance(minutes=1)
    raffle.run_scheduled()  # periods and tickets: it leaves the waiting draw alone
    assert raffle.views.proof(GUILD).document is None
    asyncio.run(raffle.complete_waiting_draws())  # the job of its own
    proof = raffle.views.proof(GUILD)
    (done,) = proof.draws
    assert done.status == "done"
    assert done.beacon_randomness == fake_randomness(closed.beacon_round)
    assert len({(w.platform, w.platform_user_id) for w in done.winners}) == 3
    result = verification.verify(proof.document, proof.ledger)
    assert result.matches, result.problems


def test_verification_fails_when_anything_is_changed(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    _month_with_tickets(engine, raffle, clock)
    clock.advance(minutes=1)
    raffle.draws.request(GUILD, actor_id=1, winners=2)
    proof = raffle.views.proof(GUILD)
    assert verification.verify(proof.document, proof.ledger).matches

    def broken(change) -> tuple[str, ...]:
        document, ledger = copy.deepcopy(proof.document), copy.deepcopy(proof.ledger)
        change(document, ledger)
        result = verification.verify(document, ledger)
        assert not result.matches
        return result.problems

    def one_more_ticket(_document, ledger):
        ledger["entries"][3]["amount"] += 1

    def other_viewer(_document, ledger):
        ledger["entries"][0]["platform_user_id"] = "u11"

    def other_seed(document, _ledger):
        document["seed"] = "00" + document["seed"][2:]

    def other_beacon(document, _ledger):
        document["draws"][0]["beacon_randomness"] = fake_randomness(1)

    def dropped_row(_document, ledger):
        del ledger["entries"][5]

    def other_counter(document, _ledger):
        document["draws"][0]["first_counter"] = 1

    assert "snapshot hash" in broken(one_more_ticket)[0]
    assert "snapshot hash" in broken(other_viewer)[0]
    assert "snapshot hash" in broken(dropped_row)[0]
    assert "commitment" in broken(other_seed)[0]
    # The randomness no longer matches the recorded signature, and other winners come out.
    assert "not SHA-256 of the signature" in broken(other_beacon)[0]
    assert "recomputed winners" in broken(other_beacon)[1]
    assert "counter" in broken(other_counter)[0]


def test_an_admin_can_force_a_draw_without_the_beacon(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    _month_with_tickets(engine, raffle, clock)
    beacon.down = True
    with pytest.raises(RaffleRefused, match="No draw is waiting"):
        raffle.draws.force(GUILD, actor_id=1)
    raffle.draws.request(GUILD, actor_id=1)
    draw = raffle.draws.force(GUILD, actor_id=7)
    assert (draw.status, draw.forced, draw.forced_by, draw.beacon_randomness) == (
        "done",
        True,
        7,
        None,
    )
    proof = raffle.views.proof(GUILD, draw.id)
    assert proof.document["draws"][0]["forced"] is True
    assert verification.verify(proof.document, proof.ledger).matches


def test_force_reads_only_its_own_guilds_waiting_draws(engine, clock, beacon):
    """Every query is scoped to its guild: forcing a draw never reads another server's."""
    raffle = make_service(engine, clock, beacon.url)
    _month_with_tickets(engine, raffle, clock)
    beacon.down = True
    raffle.draws.request(GUILD, actor_id=1)
    with statements_of(engine) as seen:
        raffle.draws.force(GUILD, actor_id=7)
    (listing,) = [s for s in seen if "WHERE raffle_draws.status" in s]
    assert "raffle_draws.guild_id" in listing.split("WHERE", 1)[1], listing


def test_verify_says_that_a_forced_draw_skipped_the_beacon(engine, clock, beacon, tmp_path):
    """A forced draw's winners follow from the seed and the ledger alone, both the operator's:
    ``raffle verify`` says so under its "match", not just that the draw was recomputed."""
    raffle = make_service(engine, clock, beacon.url)
    _month_with_tickets(engine, raffle, clock)
    beacon.down = True
    raffle.draws.request(GUILD, actor_id=1)
    draw = raffle.draws.force(GUILD, actor_id=7)
    proof = raffle.views.proof(GUILD, draw.id)
    forced = (
        f"draw {draw.id} was forced: it skipped the beacon, so its winners follow from the seed "
        "and the ledger alone, and whoever ran the bot could know them in advance"
    )
    assert verification.verify(proof.document, proof.ledger).notes == (
        f"snapshot hash {proof.document['snapshot_hash']}: compare it with the one announced "
        "at the close",
        forced,
    )
    verified = _verify_command(tmp_path, proof.document, proof.ledger)
    assert (verified.returncode, verified.stderr) == (0, "")
    assert (
        verified.stdout.splitlines()[0] == "match: 1 draw(s) recomputed from the proof and ledger"
    )
    assert verified.stdout.splitlines()[-1] == forced


def test_rerolls_are_recorded_and_pick_someone_new(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    _month_with_tickets(engine, raffle, clock)
    clock.advance(minutes=1)
    first = raffle.draws.request(GUILD, actor_id=1)
    with pytest.raises(RaffleRefused, match="Say why"):
        raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason=" ")
    with pytest.raises(RaffleRefused, match="no draw #999"):
        raffle.draws.reroll(GUILD, actor_id=1, draw_id=999, reason="x")
    asked = raffle.draws.reroll(GUILD, actor_id=1, draw_id=first.id, reason="no answer in 48 h")
    assert asked.status == "waiting"  # for a round of its own, not out yet
    clock.advance(seconds=30)
    asyncio.run(raffle.complete_waiting_draws())
    second = raffle.views.proof(GUILD, asked.id).draws[-1]
    assert (second.reroll_of, second.reason, second.first_counter) == (
        first.id,
        "no answer in 48 h",
        1,
    )
    assert second.winners[0].platform_user_id != first.winners[0].platform_user_id
    proof = raffle.views.proof(GUILD)
    assert [d["id"] for d in proof.document["draws"]] == [first.id, second.id]
    assert verification.verify(proof.document, proof.ledger).matches


def test_draw_refusals(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    with pytest.raises(RaffleRefused, match="no closed raffle period"):
        raffle.draws.request(GUILD, actor_id=1)
    raffle.periods.start(GUILD)
    with pytest.raises(RaffleRefused, match="still open"):
        raffle.draws.request(GUILD, actor_id=1)
    with pytest.raises(RaffleRefused, match="from 1 to 25"):
        raffle.draws.request(GUILD, actor_id=1, winners=26)


# --- forged proofs and the verify command ---------------------------------------------------


def _drawn_proof(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    _month_with_tickets(engine, raffle, clock)
    clock.advance(minutes=1)
    raffle.draws.request(GUILD, actor_id=1, winners=2)
    proof = raffle.views.proof(GUILD)
    assert verification.verify(proof.document, proof.ledger).matches
    return proof


def test_a_proof_that_hides_the_beacon_timing_cannot_pick_its_own_round(engine, clock, beacon):
    """Without the chain's timing the verifier cannot tell which round the rules fixed, so an
    operator could pick any published round that suits them; such a proof must not verify."""
    proof = _drawn_proof(engine, clock, beacon)
    document = copy.deepcopy(proof.document)
    other_round = document["beacon"]["round"] + 7
    document["beacon"].update(round=other_round, genesis_time=None, period_seconds=None)
    (draw,) = document["draws"]
    draw.update(beacon_round=other_round, beacon_randomness=fake_randomness(other_round))
    inputs = fairness.DrawInputs(
        seed_hex=document["seed"],
        snapshot_hash_hex=document["snapshot_hash"],
        randomness_hex=draw["beacon_randomness"],
        already_won=(),
        first_counter=0,
        count=2,
    )
    picks = fairness.pick_winners(
        inputs,
        balances_=fairness.balances(verification.entries_from_export(proof.ledger)),
        eligible=proof.ledger["eligible"],
    )
    draw["winners"] = [
        {"position": n, "participant": p.participant, "ticket": p.ticket, "counter": p.counter}
        for n, p in enumerate(picks, start=1)
    ]
    result = verification.verify(document, proof.ledger)
    assert not result.matches
    # (In version 3 the snapshot hash, which covers the round, no longer matches either.)
    assert any("lacks the beacon's genesis_time" in problem for problem in result.problems)


def test_swapping_the_order_of_two_ledger_rows_breaks_the_hash(engine, clock, beacon):
    proof = _drawn_proof(engine, clock, beacon)
    ledger = copy.deepcopy(proof.ledger)
    first, second = ledger["entries"][0], ledger["entries"][1]
    first["id"], second["id"] = second["id"], first["id"]
    result = verification.verify(proof.document, ledger)
    assert "snapshot hash" in result.problems[0]


def _verify_command(
    tmp_path, proof: object, ledger: object, *, run=run_cli
) -> subprocess.CompletedProcess[str]:
    """``python -m core raffle verify`` in a clean directory with a database it cannot reach
    (``run``: in this process, or ``run_process``): it must need nothing but the two files."""
    proof_path, ledger_path = tmp_path / "proof.json", tmp_path / "ledger.json"
    proof_path.write_text(json.dumps(proof), "utf-8")
    ledger_path.write_text(json.dumps(ledger), "utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",
        "REDIS_URL": "redis://127.0.0.1:9/0",
    }
    return run(env, "raffle", "verify", str(proof_path), str(ledger_path), cwd=tmp_path)


def test_the_verify_command_needs_only_the_two_files(engine, clock, beacon, tmp_path):
    proof = _drawn_proof(engine, clock, beacon)
    verified = _verify_command(tmp_path, proof.document, proof.ledger, run=run_process)
    assert (verified.returncode, verified.stderr) == (0, "")
    assert verified.stdout.startswith("match: 1 draw(s)")


@pytest.mark.parametrize(
    ("proof", "ledger"),
    [
        ([], {}),
        ({"format": "x"}, []),
        ("proof", "ledger"),
        (None, None),
        ({}, {}),
        (
            {"guild_id": 1, "period_id": 1, "seed": "00", "commitment": "", "snapshot_hash": ""}
            | {"beacon": [1], "draws": []},
            {"guild_id": 1, "period_id": 1, "entries": [], "eligible": []},
        ),
    ],
)
def test_the_verify_command_explains_files_that_are_not_a_proof(tmp_path, proof, ledger):
    result = _verify_command(tmp_path, proof, ledger)
    assert result.returncode == 2
    assert result.stderr.startswith("Could not read the proof and ledger")
    assert "Traceback" not in result.stderr


def test_a_missing_field_is_named_as_missing(tmp_path):
    result = _verify_command(tmp_path, {}, {})
    assert result.returncode == 2
    assert result.stderr == "Could not read the proof and ledger: 'guild_id' is missing.\n"


def test_a_mismatch_prints_the_files_values_as_short_printable_lines(
    engine, clock, beacon, tmp_path
):
    """A problem line quotes what the file says (here a draw's id, which nothing else reads):
    a terminal escape and a line break in it are written as escapes, and a megabyte of it as
    its first characters and its length."""
    proof = _drawn_proof(engine, clock, beacon)
    document = copy.deepcopy(proof.document)
    hostile = "\x1b[2J\nfake: match\n" + "f" * 1_000_000
    document["draws"][0]["id"] = hostile
    document["draws"][0]["first_counter"] = 5  # a mismatch that names the draw
    result = _verify_command(tmp_path, document, proof.ledger)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "MISMATCH:"
    assert not any(line.startswith("fake") for line in lines)
    assert "\x1b" not in result.stdout
    [said] = lines[1:]  # draw <its id> should start at counter 0, cut in its id
    assert said.startswith("- draw \\x1b[2J\\nfake: match\\nfff")
    problem = f"draw {hostile} should start at counter 0"
    assert said.endswith(f"... ({len(problem):,} characters)")
    assert all(len(line) < 600 for line in lines)


def test_the_verify_command_refuses_hostile_files_in_one_line(engine, clock, beacon, tmp_path):
    """An infinite amount, a value nested 100,000 deep: one line and exit 2, no traceback."""
    proof = _drawn_proof(engine, clock, beacon)
    ledger_path = tmp_path / "ledger.json"
    proof_path = tmp_path / "proof.json"
    proof_path.write_text(json.dumps(proof.document), "utf-8")
    hostile = {}
    entries = copy.deepcopy(proof.ledger)
    entries["entries"][0]["amount"] = "__HUGE__"
    hostile["infinite"] = json.dumps(entries).replace('"__HUGE__"', "1e999")
    hostile["deep"] = "[" * 100_000 + "]" * 100_000
    for name, body in hostile.items():
        ledger_path.write_text(body, "utf-8")
        result = run_cli(
            {"PATH": os.environ.get("PATH", "")},
            "raffle", "verify", str(proof_path), str(ledger_path),
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.count("\n") == 1, (name, result.stderr)
        assert result.stderr.startswith("Could not read the proof and ledger"), name


def test_a_draw_costs_the_same_statements_however_many_draws_came_before(engine, clock, beacon):
    """Earlier winners are read with their ticket ranges in one query and the draw row once:
    the 21st draw of a period (20 earlier winners, others left to win) sends exactly the
    statements the first did."""
    raffle = make_service(engine, clock, beacon.url)
    for n in range(24):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n in range(24):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=1 + n, reason="", reference=f"m{n}"
        )
    clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    raffle.run_scheduled()
    clock.advance(minutes=1)
    with statements_of(engine) as first:
        raffle.draws.request(GUILD, actor_id=1)
    for _ in range(19):
        raffle.draws.request(GUILD, actor_id=1)
    with statements_of(engine) as twenty_first:
        draw = raffle.draws.request(GUILD, actor_id=1)
    assert (draw.first_counter, len(draw.winners)) == (20, 1)
    assert len(twenty_first) == len(first), "\n".join(twenty_first)
