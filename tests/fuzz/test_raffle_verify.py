"""Fuzz: ``python -m core raffle verify`` over hostile files. A published proof and ledger
(tests/fixtures/raffle/) with one value replaced by anything JSON can hold (huge and infinite
numbers, deep nesting, text where a number goes), or arbitrary bytes.

Property: the verification answers (match or mismatch) or refuses in one line with
:class:`BadInput`; never another exception, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from core.cli import BadInput
from core.cli.raffle import verify_documents
from tests.fuzz.conftest import record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "raffle"
PROOF = json.loads((FIXTURES / "raffle-1-proof.json").read_text("utf-8"))
LEDGER = json.loads((FIXTURES / "raffle-1-ledger.json").read_text("utf-8"))
# The same month closed in snapshot version 2 (admins by pseudonyms, format /2).
PROOF_V2 = json.loads((FIXTURES / "raffle-v2-1-proof.json").read_text("utf-8"))
LEDGER_V2 = json.loads((FIXTURES / "raffle-v2-1-ledger.json").read_text("utf-8"))
# And in version 3 (its snapshot's header fixes the times, the chain and the round).
PROOF_V3 = json.loads((FIXTURES / "raffle-v3-1-proof.json").read_text("utf-8"))
LEDGER_V3 = json.loads((FIXTURES / "raffle-v3-1-ledger.json").read_text("utf-8"))

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**80)
    | st.floats()
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``document`` a value sits, as a path of keys and indexes."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            found += _paths(value, (*prefix, index))
    return found


PROOF_PATHS, LEDGER_PATHS = _paths(PROOF)[1:], _paths(LEDGER)[1:]
PROOF_V2_PATHS, LEDGER_V2_PATHS = _paths(PROOF_V2)[1:], _paths(LEDGER_V2)[1:]
PROOF_V3_PATHS = _paths(PROOF_V3)[1:]


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    place = copy
    for step in path[:-1]:
        place = place[step]
    place[path[-1]] = value
    return copy


def _check(proof: bytes, ledger: bytes, target: str) -> None:
    try:
        result = verify_documents(proof, ledger)
    except BadInput as refused:
        said = str(refused)
    else:
        record(target, "match" if result.matches else "mismatch")
        return
    assert "\n" not in said
    assert said.startswith("Could not read the proof and ledger")
    record(target, "refused")


def test_the_published_proof_verifies():
    proof, ledger = json.dumps(PROOF).encode(), json.dumps(LEDGER).encode()
    assert verify_documents(proof, ledger).matches
    proof, ledger = json.dumps(PROOF_V2).encode(), json.dumps(LEDGER_V2).encode()
    assert verify_documents(proof, ledger).matches
    proof, ledger = json.dumps(PROOF_V3).encode(), json.dumps(LEDGER_V3).encode()
    assert verify_documents(proof, ledger).matches


@given(
    which=st.sampled_from(["proof", "ledger"]),
    index=st.integers(min_value=0),
    value=VALUES,
)
@example(which="ledger", index=0, value=float("inf"))
def test_one_hostile_value_is_answered_or_refused(which, index, value):
    paths = PROOF_PATHS if which == "proof" else LEDGER_PATHS
    path = paths[index % len(paths)]
    proof = _replaced(PROOF, path, value) if which == "proof" else PROOF
    ledger = _replaced(LEDGER, path, value) if which == "ledger" else LEDGER
    # allow_nan: JSON files can say Infinity and NaN, and Python's reader takes them.
    _check(json.dumps(proof).encode(), json.dumps(ledger).encode(), "raffle-verify-value")


@given(
    which=st.sampled_from(["proof", "ledger"]),
    index=st.integers(min_value=0),
    value=VALUES,
)
@example(which="ledger", index=0, value={"actor": 1})
def test_one_hostile_value_in_a_pseudonymous_proof_is_answered_or_refused(which, index, value):
    paths = PROOF_V2_PATHS if which == "proof" else LEDGER_V2_PATHS
    path = paths[index % len(paths)]
    proof = _replaced(PROOF_V2, path, value) if which == "proof" else PROOF_V2
    ledger = _replaced(LEDGER_V2, path, value) if which == "ledger" else LEDGER_V2
    _check(json.dumps(proof).encode(), json.dumps(ledger).encode(), "raffle-verify-value")


@given(index=st.integers(min_value=0), value=VALUES)
@example(index=PROOF_V3_PATHS.index(("beacon", "round")), value=float("inf"))
@example(index=PROOF_V3_PATHS.index(("closed_at",)), value="2026-04-01T00:00:05+99:00")
def test_one_hostile_value_in_a_round_fixing_proof_is_answered_or_refused(index, value):
    """Version 3 puts the proof's times, chain hash and round in the hashed header."""
    proof = _replaced(PROOF_V3, PROOF_V3_PATHS[index % len(PROOF_V3_PATHS)], value)
    _check(json.dumps(proof).encode(), json.dumps(LEDGER_V3).encode(), "raffle-verify-value")


@given(
    st.binary(max_size=300) | st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n)
)
@example(b"[" * 100_000 + b"]" * 100_000)
@example(b'{"amount": 1e999}')
def test_any_bytes_are_answered_or_refused(data):
    _check(data, json.dumps(LEDGER).encode(), "raffle-verify-bytes")
    _check(json.dumps(PROOF).encode(), data, "raffle-verify-bytes")
