"""drand signatures checked offline: real published rounds of quicknet and the default chain
(tests/fixtures/raffle/drand-rounds.json, from several public sources) verify against the pinned
keys; forged ones do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.features.raffle.beacons import chains as drand_chains
from core.features.raffle.beacons.chains import CHAINED, DEFAULT, QUICKNET, UNCHAINED_G1
from core.features.raffle.beacons.signatures import (
    SignatureRefused,
    check_signature,
    randomness_of,
)
from tests.fakes import drand_signing

ROUNDS = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "raffle" / "drand-rounds.json").read_text()
)
CHAINS = {"quicknet": QUICKNET, "default": DEFAULT}
REAL = [
    pytest.param(CHAINS[name], row, id=f"{name}-{row['round']}")
    for name in ("quicknet", "default")
    for row in ROUNDS[name]["rounds"]
]


def _flip_byte(hex_text: str, index: int) -> str:
    raw = bytearray.fromhex(hex_text)
    raw[index] ^= 0x01
    return raw.hex()


def _check(chain, row, **changes) -> None:  # type: ignore[no-untyped-def]
    values = {
        "scheme": chain.scheme,
        "public_key_hex": chain.public_key,
        "beacon_round": row["round"],
        "signature_hex": row["signature"],
        "previous_signature_hex": row.get("previous_signature"),
    }
    values.update(changes)
    check_signature(**values)


def test_the_fixture_has_several_rounds_of_each_chain_from_more_than_one_source():
    for name in ("quicknet", "default"):
        rows = ROUNDS[name]["rounds"]
        assert ROUNDS[name]["chain_hash"] == CHAINS[name].hash
        assert len(rows) >= 3
        assert len({row["source"].split()[0] for row in rows}) >= 2


@pytest.mark.parametrize("chain", [QUICKNET, DEFAULT], ids=["quicknet", "default"])
def test_each_pinned_chain_hash_is_what_drand_computes_from_its_info(chain):
    assert chain.computed_hash() == chain.hash
    assert drand_chains.pinned(chain.hash.upper()) is chain


def test_the_pinned_facts_are_those_of_the_league_of_entropy_chains():
    assert (QUICKNET.scheme, QUICKNET.genesis_time, QUICKNET.period_seconds) == (
        UNCHAINED_G1,
        1692803367,
        3,
    )
    assert (DEFAULT.scheme, DEFAULT.genesis_time, DEFAULT.period_seconds) == (
        CHAINED,
        1595431050,
        30,
    )
    assert drand_chains.chain_hash_of("quicknet") == QUICKNET.hash
    assert drand_chains.chain_hash_of(" Default ") == DEFAULT.hash
    with pytest.raises(ValueError, match="64 hex digits"):
        drand_chains.chain_hash_of("mainnet")


@pytest.mark.parametrize(("chain", "row"), REAL)
def test_a_real_published_round_verifies_against_the_pinned_key(chain, row):
    _check(chain, row)
    assert randomness_of(row["signature"]) == row["randomness"]


@pytest.mark.parametrize(("chain", "row"), REAL)
def test_one_byte_of_the_signature_changed_fails(chain, row):
    for index in (0, 20, len(row["signature"]) // 2 - 1):
        with pytest.raises(SignatureRefused):
            _check(chain, row, signature_hex=_flip_byte(row["signature"], index))


@pytest.mark.parametrize(("chain", "row"), REAL)
def test_the_same_signature_for_another_round_fails(chain, row):
    with pytest.raises(SignatureRefused, match="does not verify"):
        _check(chain, row, beacon_round=row["round"] + 1)


@pytest.mark.parametrize("chain", [QUICKNET, DEFAULT], ids=["quicknet", "default"])
def test_a_self_consistent_round_signed_by_another_key_fails_against_the_pinned_key(chain):
    row = next(r for r in ROUNDS[chain.name]["rounds"])
    previous = row.get("previous_signature")
    forged = drand_signing.sign(row["round"], chain.scheme, previous)
    # It is a good signature of its own key...
    check_signature(
        chain.scheme, drand_signing.public_key(chain.scheme), row["round"], forged, previous
    )
    # ...but not of the chain's.
    with pytest.raises(SignatureRefused, match="does not verify"):
        _check(chain, row, signature_hex=forged)


@pytest.mark.parametrize(
    "row", [pytest.param(r, id=str(r["round"])) for r in ROUNDS["default"]["rounds"]]
)
def test_a_chained_round_with_a_wrong_previous_signature_fails(row):
    with pytest.raises(SignatureRefused, match="does not verify"):
        _check(DEFAULT, row, previous_signature_hex=_flip_byte(row["previous_signature"], 5))
    with pytest.raises(SignatureRefused, match="needs its previous signature"):
        _check(DEFAULT, row, previous_signature_hex=None)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"signature_hex": "zz"}, "not hexadecimal"),
        ({"signature_hex": "ab" * 47}, "48 bytes"),
        ({"signature_hex": "00" * 48}, "not a point of the curve"),
        # The point at infinity (the compressed flag bits 0b110): never a signature.
        ({"signature_hex": "c0" + "00" * 47}, "subgroup"),
        ({"public_key_hex": QUICKNET.public_key[:-2]}, "96 bytes"),
        ({"scheme": "bls-unchained-on-g1"}, "not supported"),
    ],
    ids=["not-hex", "short", "off-curve", "infinity", "short-key", "other-scheme"],
)
def test_malformed_inputs_are_refused_with_words(changes, words):
    row = ROUNDS["quicknet"]["rounds"][0]
    with pytest.raises(SignatureRefused, match=words):
        _check(QUICKNET, row, **changes)


def test_the_default_chain_key_under_quicknet_fails():
    row = ROUNDS["quicknet"]["rounds"][0]
    with pytest.raises(SignatureRefused, match="96 bytes"):
        _check(QUICKNET, row, public_key_hex=DEFAULT.public_key)


def test_checking_leaves_the_interpreters_recursion_limit_alone():
    # py_ecc raises it to 100,000 when imported; elsewhere deep JSON would overflow the C stack.
    import subprocess
    import sys

    signature = ROUNDS["quicknet"]["rounds"][1]["signature"]
    code = (
        "import sys; before = sys.getrecursionlimit()\n"
        "from core.features.raffle.beacons.chains import QUICKNET\n"
        "from core.features.raffle.beacons.signatures import check_signature\n"
        f"check_signature(QUICKNET.scheme, QUICKNET.public_key, 1000, {signature!r})\n"
        "print(before, sys.getrecursionlimit())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
        check=True,
    )
    before, after = done.stdout.split()
    assert before == after
