"""Proof files stay byte-for-byte the same: the committed ones (exported by the code before
the set-based conversion and the balance-based draw, snapshot version 1; and the same month
closed in version 2, admins by pseudonyms; and in version 3, whose snapshot fixes the beacon
round) still verify, and the same month exported today gives the very same bytes in each
version, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from core.features.raffle.draws import fairness, verification
from core.features.raffle.draws.actors import PSEUDONYM
from tests.features.raffle.proof_scenario import FIXTURES, build, export_bytes

PROOF = FIXTURES / "raffle-1-proof.json"
LEDGER = FIXTURES / "raffle-1-ledger.json"


def test_the_committed_proof_still_verifies():
    proof = json.loads(PROOF.read_text("utf-8"))
    ledger = json.loads(LEDGER.read_text("utf-8"))
    result = verification.verify(proof, ledger)
    assert result.matches, result.problems
    assert result.draws_checked == 2


def test_the_verify_command_accepts_the_committed_files(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "core", "raffle", "verify", str(PROOF), str(LEDGER)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )
    assert (completed.returncode, completed.stderr) == (0, "")
    # Exported before signatures were recorded: it verifies as it did, and says what it lacks;
    # its round comes from its own times, which no hash covers.
    snapshot_hash = json.loads(PROOF.read_text("utf-8"))["snapshot_hash"]
    assert completed.stdout == (
        "match: 2 draw(s) recomputed from the proof and ledger\n"
        f"snapshot hash {snapshot_hash}: compare it with the one announced at the close\n"
        "round: every beacon draw used round 259202, the one the proof's own ends_at and "
        "closed_at give (a version 1 snapshot does not fix it): compare it with the round "
        "announced at the close\n"
        "beacon: this proof has no beacon signatures (exported before they were recorded); "
        "its randomness is taken as written: compare it with a drand relay yourself\n"
        # Rerolled before rerolls waited for a round of their own: it says what that allowed.
        "draw 2 is a reroll of draw 1 that reused round 259202, out before it was asked for: "
        "anyone who read the published seed could know its winners before it was asked for\n"
    )


def test_the_same_month_exports_the_same_bytes(engine):
    """Closed in snapshot version 1, as the code that exported the fixtures closed it."""
    raffle, period_id = build(engine, version=1)
    exported = export_bytes(raffle, period_id)
    assert sorted(exported) == ["raffle-1-ledger.json", "raffle-1-proof.json"]
    for name, data in exported.items():
        assert data == (FIXTURES / name).read_bytes(), name


PSEUDONYMOUS = {
    "raffle-1-proof.json": FIXTURES / "raffle-v2-1-proof.json",
    "raffle-1-ledger.json": FIXTURES / "raffle-v2-1-ledger.json",
}


def test_the_committed_pseudonymous_proof_verifies():
    """The same month closed in snapshot version 2: admins by pseudonyms, not Discord ids."""
    proof = json.loads(PSEUDONYMOUS["raffle-1-proof.json"].read_text("utf-8"))
    ledger = json.loads(PSEUDONYMOUS["raffle-1-ledger.json"].read_text("utf-8"))
    assert (proof["format"], ledger["format"]) == (
        "streamkeeper-raffle-proof/2",
        "streamkeeper-raffle-ledger/2",
    )
    admins = {e["actor"] for e in ledger["entries"]} - {None}
    assert len(admins) == 2  # the month's two admins
    assert all(PSEUDONYM.fullmatch(name) for name in admins)
    result = verification.verify(proof, ledger)
    assert result.matches, result.problems
    assert result.draws_checked == 2


def test_the_same_month_closed_in_version_2_exports_the_same_pseudonymous_bytes(engine):
    raffle, period_id = build(engine, version=2)
    for name, data in export_bytes(raffle, period_id).items():
        assert data == PSEUDONYMOUS[name].read_bytes(), name


LIMIT_BYTES = 300 * 1024 * 1024  # the address space a small machine might give the command


def _verify_within(limit: int, proof: Path, ledger: Path) -> subprocess.CompletedProcess:
    import resource

    def within() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "core", "raffle", "verify", str(proof), str(ledger)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
        preexec_fn=within,  # only sets a limit, in the child
        check=False,
    )


def test_the_verify_command_runs_with_little_memory():
    """A whole file's allowance (1 GiB) was reserved to read even a small file: under a
    300 MB limit the committed proof could not be checked at all."""
    completed = _verify_within(LIMIT_BYTES, PROOF, LEDGER)

    assert completed.returncode == 0, completed.stderr[-300:]
    assert completed.stdout.startswith("match: 2 draw(s)")


def test_a_ledger_too_big_for_the_memory_is_refused_in_one_line(tmp_path):
    """Ten MB of empty entries take some 25 times that once parsed: past the limit, the
    command says so in one line (exit 2), not a MemoryError traceback (exit 1, which means
    MISMATCH)."""
    ledger = tmp_path / "ledger.json"
    entries = 10 * 1024 * 1024 // 3
    ledger.write_text(
        '{"format": "streamkeeper-raffle-ledger/2", "entries": [' + "[]," * entries + "[]]}"
    )

    completed = _verify_within(LIMIT_BYTES, PROOF, ledger)

    assert completed.returncode == 2, completed.stderr[-300:]
    assert "Traceback" not in completed.stderr
    assert "need more memory than this machine gives the command" in completed.stderr


ROUND_FIXED = {
    "raffle-1-proof.json": FIXTURES / "raffle-v3-1-proof.json",
    "raffle-1-ledger.json": FIXTURES / "raffle-v3-1-ledger.json",
}


def _round_fixed_fixture() -> tuple[dict, dict]:
    proof = json.loads(ROUND_FIXED["raffle-1-proof.json"].read_text("utf-8"))
    ledger = json.loads(ROUND_FIXED["raffle-1-ledger.json"].read_text("utf-8"))
    return proof, ledger


def test_the_committed_round_fixing_proof_verifies():
    """The same month closed in snapshot version 3: the header fixes the end, the close and
    the beacon round, so the hash announced at the close pins the round."""
    proof, ledger = _round_fixed_fixture()
    assert (proof["format"], ledger["format"]) == (
        "streamkeeper-raffle-proof/3",
        "streamkeeper-raffle-ledger/3",
    )
    result = verification.verify(proof, ledger)
    assert result.matches, result.problems
    assert result.notes[:2] == (
        f"snapshot hash {proof['snapshot_hash']}: compare it with the one announced at the close",
        "round: every beacon draw used round 259202, which the snapshot hash fixes",
    )


def test_the_same_month_closed_now_exports_the_same_round_fixing_bytes(engine):
    raffle, period_id = build(engine)
    for name, data in export_bytes(raffle, period_id).items():
        assert data == ROUND_FIXED[name].read_bytes(), name


def test_a_version_3_proof_cannot_move_its_close_end_or_round():
    """Whoever runs the bot could rewrite ``closed_at`` after seeing later rounds, so that the
    rules (the first round after a late close) give a round they like; in version 3 the
    snapshot hash covers the times and the round."""
    genuine, ledger = _round_fixed_fixture()
    later = 259202 + 100
    close_at = datetime.fromtimestamp(
        fairness.round_time(later, genuine["beacon"]["genesis_time"], 30) - 1, UTC
    )
    edits = {
        "closed_at": lambda proof: proof.update(closed_at=close_at.isoformat()),
        "ends_at": lambda proof: proof.update(ends_at=close_at.isoformat()),
        "round": lambda proof: proof["beacon"].update(round=later),
        "chain": lambda proof: proof["beacon"].update(chain_hash="ab" * 32),
    }
    for what, edit in edits.items():
        proof = copy.deepcopy(genuine)
        edit(proof)
        problems = verification.verify(proof, ledger).problems
        assert "not to the snapshot hash" in problems[0], what

    # The draws must use the round the snapshot fixes, whatever the proof's times say.
    proof = copy.deepcopy(genuine)
    for draw in proof["draws"]:
        draw["beacon_round"] = later
    label = f"draw {proof['draws'][0]['id']}"
    assert (
        f"{label} used beacon round {later}, not round 259202, which the snapshot fixes"
        in verification.verify(proof, ledger).problems
    )
