"""Proof files stay byte-for-byte the same: the committed ones (exported by the code before
the set-based conversion and the balance-based draw, snapshot version 1; and the same month
closed in version 2, admins by pseudonyms) still verify, and the same month exported today
gives the very same bytes in either version, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.features.raffle.draws import verification
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
    # Exported before signatures were recorded: it verifies as it did, and says what it lacks.
    assert completed.stdout == (
        "match: 2 draw(s) recomputed from the proof and ledger\n"
        "beacon: this proof has no beacon signatures (exported before they were recorded); "
        "its randomness is taken as written: compare it with a drand relay yourself\n"
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


def test_the_same_month_closed_now_exports_the_same_pseudonymous_bytes(engine):
    raffle, period_id = build(engine)
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
