"""Draws from real published drand rounds: the relay's round is checked before it is used, the
proof carries the chain and the signature, and `python -m core raffle verify` checks the
signature against the pinned key; forged beacons fail."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from core.features.raffle.beacons.chains import DEFAULT, QUICKNET
from core.features.raffle.draws.verification import verify
from tests.features.raffle import drand_scenario
from tests.features.raffle.drand_scenario import real_rounds, signed_proof
from tests.support.cli import run as run_cli

ROOT = Path(__file__).resolve().parents[3]
CASES = [
    pytest.param(chain, row, id=f"{chain.name}-{row['round']}") for chain, row in real_rounds()
]


def _cli_verify(tmp_path: Path, proof: dict, ledger: dict) -> subprocess.CompletedProcess[str]:
    proof_path, ledger_path = tmp_path / "proof.json", tmp_path / "ledger.json"
    proof_path.write_text(json.dumps(proof), "utf-8")
    ledger_path.write_text(json.dumps(ledger), "utf-8")
    return run_cli(os.environ, "raffle", "verify", str(proof_path), str(ledger_path), cwd=ROOT)


@pytest.mark.parametrize(("chain", "row"), CASES)
def test_a_draw_from_a_real_round_verifies_with_its_signature(sqlite_engine, chain, row):
    proof, ledger = signed_proof(sqlite_engine, chain, row)
    beacon = proof["beacon"]
    assert (beacon["chain_hash"], beacon["scheme"], beacon["public_key"]) == (
        chain.hash,
        chain.scheme,
        chain.public_key,
    )
    [draw] = proof["draws"]
    assert draw["beacon_round"] == row["round"]
    assert draw["beacon_signature"] == row["signature"]
    assert draw["beacon_randomness"] == row["randomness"]
    assert draw.get("beacon_previous_signature") == row.get("previous_signature")
    result = verify(proof, ledger)
    assert result.problems == ()
    assert result.notes == (
        f"snapshot hash {proof['snapshot_hash']}: compare it with the one announced at the close",
        f"round: every beacon draw used round {row['round']}, which the snapshot hash fixes",
        f"beacon: the signature of round {row['round']} was checked against the pinned public "
        f"key of drand {chain.name} ({chain.hash[:8]}...)",
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("chain", "row"),
    [CASES[-1], next(c for c in CASES if c.values[0] is QUICKNET)],
)
def test_the_cli_says_the_signature_was_checked_and_refuses_forgeries(
    sqlite_engine, tmp_path, chain, row
):
    proof, ledger = signed_proof(sqlite_engine, chain, row)
    good = _cli_verify(tmp_path, proof, ledger)
    assert (good.returncode, good.stderr) == (0, "")
    assert good.stdout.splitlines() == [
        "match: 1 draw(s) recomputed from the proof and ledger",
        f"snapshot hash {proof['snapshot_hash']}: compare it with the one announced at the close",
        f"round: every beacon draw used round {row['round']}, which the snapshot hash fixes",
        f"beacon: the signature of round {row['round']} was checked against the pinned public "
        f"key of drand {chain.name} ({chain.hash[:8]}...)",
    ]
    forged = _cli_verify(tmp_path, drand_scenario.forged_by_another_key(proof, ledger), ledger)
    assert forged.returncode == 1
    assert forged.stdout.splitlines() == [
        "MISMATCH:",
        f"- draw {proof['draws'][0]['id']}: the signature of beacon round {row['round']} does "
        f"not verify against the pinned public key of drand {chain.name} ({chain.hash[:8]}...)",
    ]


FORGERIES = {
    "another-key": drand_scenario.forged_by_another_key,
    "one-byte": drand_scenario.forged_one_byte,
    "key-under-known-hash": drand_scenario.forged_key_under_known_hash,
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
@pytest.mark.parametrize(
    ("chain", "row"),
    [
        next(c for c in CASES if c.values[0] is QUICKNET),
        next(c for c in CASES if c.values[0] is DEFAULT),
    ],
)
def test_a_forged_beacon_fails_though_the_winners_match_its_randomness(
    sqlite_engine, chain, row, forge
):
    proof, ledger = signed_proof(sqlite_engine, chain, row)
    forged = forge(proof, ledger)
    problems = verify(forged, ledger).problems
    label = f"draw {proof['draws'][0]['id']}"
    expected = [
        f"{label}: the signature of beacon round {row['round']} does not verify against the "
        f"pinned public key of drand {chain.name} ({chain.hash[:8]}...)"
    ]
    if forge is drand_scenario.forged_key_under_known_hash:
        expected.insert(
            0,
            f"the proof names the chain hash of drand {chain.name} with another public key "
            "than the pinned one",
        )
    assert list(problems) == expected


def test_a_chained_round_with_a_wrong_previous_signature_fails(sqlite_engine):
    chain, row = next((c, r) for c, r in real_rounds() if c is DEFAULT and r["round"] > 1)
    proof, ledger = signed_proof(sqlite_engine, chain, row)
    problems = verify(drand_scenario.forged_previous_signature(proof, ledger), ledger).problems
    assert problems == (
        f"draw {proof['draws'][0]['id']}: the signature of beacon round {row['round']} does not "
        f"verify against the pinned public key of drand default ({chain.hash[:8]}...)",
    )
    del proof["draws"][0]["beacon_previous_signature"]
    assert verify(proof, ledger).problems == (
        f"draw {proof['draws'][0]['id']} has no beacon_previous_signature, which the chained "
        "scheme signs",
    )


def test_a_proof_cannot_move_a_pinned_chains_timing_or_scheme(sqlite_engine):
    chain, row = real_rounds()[0]
    proof, ledger = signed_proof(sqlite_engine, chain, row)
    moved = json.loads(json.dumps(proof))
    moved["beacon"]["genesis_time"] += 3
    moved["beacon"]["scheme"] = "pedersen-bls-chained"
    problems = verify(moved, ledger).problems
    assert problems == (
        "the proof names the chain hash of drand quicknet with another scheme than the pinned one",
        "the proof names the chain hash of drand quicknet with another genesis time than the "
        "pinned one",
    )


def test_a_signed_proof_without_a_signature_or_with_other_randomness_fails(sqlite_engine):
    chain, row = real_rounds()[0]
    proof, ledger = signed_proof(sqlite_engine, chain, row)
    label = f"draw {proof['draws'][0]['id']}"
    unsigned = json.loads(json.dumps(proof))
    del unsigned["draws"][0]["beacon_signature"]
    assert verify(unsigned, ledger).problems == (
        f"{label} has no beacon_signature, though the proof names a chain",
    )
    other = json.loads(json.dumps(proof))
    other["draws"][0]["beacon_randomness"] = "00" * 32
    assert verify(other, ledger).problems[0] == (
        f"{label}: the beacon randomness is not SHA-256 of the signature"
    )
    stray = json.loads(json.dumps(proof))
    del stray["beacon"]["chain_hash"]
    assert f"{label} carries a beacon signature, but the proof names no chain" in (
        verify(stray, ledger).problems
    )


def test_an_unpinned_chain_needs_its_key_in_the_proof_and_is_said_to_be_unpinned(sqlite_engine):
    chain, row = real_rounds()[0]
    proof, ledger = signed_proof(sqlite_engine, chain, row)
    unpinned = drand_scenario.forged_by_another_key(proof, ledger)
    unpinned["beacon"]["chain_hash"] = "ab" * 32
    unpinned["beacon"]["public_key"] = drand_scenario.drand_signing.public_key(chain.scheme)
    unpinned = drand_scenario.rehashed(unpinned, ledger)  # as if closed with that chain
    result = verify(unpinned, ledger)
    assert result.problems == ()
    assert result.notes[2:] == (
        f"beacon: the signature of round {row['round']} was checked against the public key in "
        "the proof; chain abababab... is not pinned, so whoever ran the bot could have made "
        "that key",
    )
    del unpinned["beacon"]["public_key"]
    assert verify(unpinned, ledger).problems[0] == (
        "the beacon's chain abababab... is not pinned and the proof has no public_key to check "
        "its signatures with"
    )


def test_a_later_round_chosen_by_moving_the_close_does_not_verify(sqlite_engine):
    """The period closed a second before quicknet round 1000, so its round is 1000. Whoever
    runs the bot could wait for round 2000, like its winners, and publish a proof saying the
    ledger was frozen just before it (the rules then fix round 2000 for a late close): the
    signature is genuine, the winners follow from it, but the snapshot hash fixed at the
    close covers the close's time and round 1000."""
    rows = {row["round"]: row for chain, row in real_rounds() if chain is QUICKNET}
    proof, ledger = signed_proof(sqlite_engine, QUICKNET, rows[1000])
    assert proof["beacon"]["round"] == 1000
    later = json.loads(json.dumps(proof))
    closed_at = drand_scenario.round_time(QUICKNET, 2000) - timedelta(seconds=1)
    later["closed_at"] = closed_at.isoformat()
    later["beacon"]["round"] = 2000
    for draw in later["draws"]:
        draw["beacon_round"] = 2000
        draw["beacon_signature"] = rows[2000]["signature"]
        draw["beacon_randomness"] = rows[2000]["randomness"]
    later = drand_scenario.with_winners_recomputed(later, ledger)
    assert later["draws"][0]["winners"] != proof["draws"][0]["winners"]
    [problem] = verify(later, ledger).problems
    assert problem.startswith("the ledger hashes to ")
    assert problem.endswith(
        f", not to the snapshot hash {proof['snapshot_hash']} recorded when the period closed"
    )


def _dressed_as_beacon_draws(proof: dict, ledger: dict) -> dict:
    """``proof`` with its chain and signatures removed and each draw's randomness the empty one
    of a forced draw, winners to match, while the draws still say ``"forced": false``."""
    dressed = json.loads(json.dumps(proof))
    for field in ("chain_hash", "scheme", "public_key"):
        dressed["beacon"].pop(field, None)
    for draw in dressed["draws"]:
        draw.pop("beacon_signature", None)
        draw.pop("beacon_previous_signature", None)
        draw["beacon_randomness"] = ""
    return drand_scenario.with_winners_recomputed(dressed, ledger)


def test_a_forced_draw_dressed_up_as_a_beacon_draw_does_not_verify():
    """The empty randomness makes the winners known before any round. Without a chain (a proof
    exported before signatures were recorded) nothing else gave it away; a beacon's randomness
    is 64 hex digits (SHA-256 of its signature)."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "raffle"
    unsigned = tuple(
        json.loads((fixtures / f"raffle-v2-1-{kind}.json").read_text("utf-8"))
        for kind in ("proof", "ledger")
    )
    people = [drand_scenario.entry(n, str(n), 5 + n) for n in range(1, 6)]
    keys = [f"kick:{n}" for n in range(1, 6)]
    for version in (2, 3):
        proofs = [drand_scenario.composed_proof(people, keys, [(2, False)], version=version)]
        if version == 2:
            proofs.append(unsigned)
        for proof, ledger in proofs:
            assert verify(proof, ledger).matches
            dressed = _dressed_as_beacon_draws(proof, ledger)
            assert dressed["draws"][0]["forced"] is False
            problems = verify(dressed, ledger).problems
            assert (
                f"draw {proof['draws'][0]['id']} used the beacon, but its randomness is not "
                "64 hex digits" in problems
            ), problems
            if version == 3:  # the chain hash is in the snapshot's header too
                assert "not to the snapshot hash" in problems[0]


def test_verify_names_each_forced_draw_after_the_snapshot_and_the_round():
    people = [drand_scenario.entry(n, str(n), 5 + n) for n in range(1, 6)]
    keys = [f"kick:{n}" for n in range(1, 6)]
    proof, ledger = drand_scenario.composed_proof(people, keys, [(1, True), (2, False), (1, True)])
    result = verify(proof, ledger)
    assert result.problems == ()

    def forced(draw_id: int) -> str:
        return (
            f"draw {draw_id} was forced: it skipped the beacon, so its winners follow from the "
            "seed and the ledger alone, and whoever ran the bot could know them in advance"
        )

    assert result.notes == (
        f"snapshot hash {proof['snapshot_hash']}: compare it with the one announced at the close",
        "round: every beacon draw used round 1000, which the snapshot hash fixes",
        forced(100),
        "beacon: the signature of round 1000 was checked against the pinned public key of "
        f"drand quicknet ({QUICKNET.hash[:8]}...)",
        forced(102),
    )
