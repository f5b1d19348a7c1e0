"""The proof page checks the drand signature too (static/beacon.js with @noble/curves served by
the app): real published rounds of quicknet and the default chain verify, with the same notes as
the Python verifier; forged beacons fail with the same problems, word for word."""

from __future__ import annotations

import copy
import json

import httpx
import pytest
from playwright.sync_api import Page

from core.features.raffle.beacons import chains as drand_chains
from core.features.raffle.draws.verification import verify
from core.platforms.http import tls_context
from core.web.dashboard.public import export_bytes
from tests.features.raffle import drand_scenario
from tests.features.raffle.drand_scenario import real_rounds, signed_proof
from tests.web.browser.conftest import open_proof_page

REAL = [pytest.param(chain, row, id=f"{chain.name}-{row['round']}") for chain, row in real_rounds()]
QUICKNET_ROW = next(p.values for p in REAL if p.values[0] is drand_chains.QUICKNET)
DEFAULT_ROW = next(p.values for p in REAL if p.values[0] is drand_chains.DEFAULT)


_PROOFS: dict[tuple[str, int], tuple[dict, dict]] = {}


def _signed_proof(engine, chain, row) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """``signed_proof`` drawn once per round in this module (the draw checks the round's BLS
    signature in Python, a third of a second), a copy of it for each test."""
    key = (chain.name, row["round"])
    if key not in _PROOFS:
        _PROOFS[key] = signed_proof(engine, chain, row)
    return copy.deepcopy(_PROOFS[key])


def _js(page: Page, proof: dict, ledger: dict) -> dict:
    return page.evaluate(
        "([p, l]) => window.streamkeeperVerify(p, l)",
        [json.dumps(proof, ensure_ascii=False), json.dumps(ledger, ensure_ascii=False)],
    )


def test_the_pinned_chains_in_the_browser_are_the_codes(proof_verifier: Page):
    pinned = proof_verifier.evaluate("window.streamkeeperBeacon.PINNED")
    assert pinned == {
        chain.hash: {
            "name": chain.name,
            "scheme": chain.scheme,
            "public_key": chain.public_key,
            "genesis_time": chain.genesis_time,
            "period_seconds": chain.period_seconds,
        }
        for chain in drand_chains.PINNED.values()
    }


@pytest.mark.parametrize(("chain", "row"), REAL)
def test_a_real_round_verifies_in_the_browser_as_in_python(
    proof_verifier: Page, sqlite_engine, chain, row
):
    proof, ledger = _signed_proof(sqlite_engine, chain, row)
    expected = verify(proof, ledger)
    assert expected.problems == ()
    outcome = _js(proof_verifier, proof, ledger)
    assert outcome["problems"] == []
    assert outcome["notes"] == list(expected.notes)
    assert "pinned public key of drand" in outcome["notes"][-1]


FORGERIES = {
    "another-key": drand_scenario.forged_by_another_key,
    "one-byte": drand_scenario.forged_one_byte,
    "key-under-known-hash": drand_scenario.forged_key_under_known_hash,
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
@pytest.mark.parametrize(("chain", "row"), [QUICKNET_ROW, DEFAULT_ROW], ids=["quicknet", "default"])
def test_a_forged_beacon_fails_in_the_browser_with_pythons_words(
    proof_verifier: Page, sqlite_engine, chain, row, forge
):
    proof, ledger = _signed_proof(sqlite_engine, chain, row)
    forged = forge(proof, ledger)
    expected = list(verify(forged, ledger).problems)
    assert any("does not verify against the pinned public key" in p for p in expected)
    assert _js(proof_verifier, forged, ledger)["problems"] == expected


def _no_signature(proof: dict, ledger: dict) -> dict:
    del proof["draws"][0]["beacon_signature"]
    return proof


def _other_randomness(proof: dict, ledger: dict) -> dict:
    proof["draws"][0]["beacon_randomness"] = "00" * 32
    return proof


def _moved_timing(proof: dict, ledger: dict) -> dict:
    proof["beacon"]["genesis_time"] += 3
    proof["beacon"]["scheme"] = "pedersen-bls-chained"
    return proof


def _unpinned(proof: dict, ledger: dict) -> dict:
    forged = drand_scenario.forged_by_another_key(proof, ledger)
    forged["beacon"]["chain_hash"] = "ab" * 32
    forged["beacon"]["public_key"] = drand_scenario.drand_signing.public_key(
        forged["beacon"]["scheme"]
    )
    return forged


def _unpinned_without_key(proof: dict, ledger: dict) -> dict:
    forged = _unpinned(proof, ledger)
    del forged["beacon"]["public_key"]
    return forged


def _unsupported_scheme(proof: dict, ledger: dict) -> dict:
    forged = _unpinned(proof, ledger)
    forged["beacon"]["scheme"] = "bls-unchained-on-g1"
    return forged


def _signature_without_chain(proof: dict, ledger: dict) -> dict:
    del proof["beacon"]["chain_hash"]
    return proof


def _not_hex(proof: dict, ledger: dict) -> dict:
    proof["draws"][0]["beacon_signature"] = "zz" + proof["draws"][0]["beacon_signature"][2:]
    return proof


def _wrong_previous(proof: dict, ledger: dict) -> dict:
    return drand_scenario.forged_previous_signature(proof, ledger)


def _no_previous(proof: dict, ledger: dict) -> dict:
    del proof["draws"][0]["beacon_previous_signature"]
    return proof


EDITS = [
    pytest.param(QUICKNET_ROW, edit, id=f"quicknet-{edit.__name__.strip('_')}")
    for edit in (
        _no_signature,
        _other_randomness,
        _moved_timing,
        _unpinned,
        _unpinned_without_key,
        _unsupported_scheme,
        _signature_without_chain,
        _not_hex,
    )
] + [
    pytest.param(DEFAULT_ROW, edit, id=f"default-{edit.__name__.strip('_')}")
    for edit in (_wrong_previous, _no_previous, _other_randomness)
]


@pytest.mark.parametrize(("case", "edit"), EDITS)
def test_the_browser_reads_every_beacon_edit_as_python_does(
    proof_verifier: Page, sqlite_engine, case, edit
):
    chain, row = case
    proof, ledger = _signed_proof(sqlite_engine, chain, row)
    edited = edit(json.loads(json.dumps(proof)), ledger)
    expected = verify(edited, ledger)
    outcome = _js(proof_verifier, edited, ledger)
    assert (outcome["problems"], outcome["notes"]) == (
        list(expected.problems),
        list(expected.notes),
    )


def test_the_proof_page_checks_a_quicknet_round_and_refuses_a_forged_one(
    page: Page, site, sqlite_engine, tmp_path, shot
):
    chain, row = QUICKNET_ROW
    proof, ledger = _signed_proof(sqlite_engine, chain, row)
    site.exports[2] = (proof, ledger)
    response = httpx.get(f"{site.url}/raffle/2", verify=tls_context())
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    vendored = httpx.get(
        f"{site.url}/static/dashboard/vendor/noble-bls12-381.js", verify=tls_context()
    )
    assert vendored.status_code == 200
    assert vendored.text.startswith("/*! @noble/curves 2.4.0")
    open_proof_page(page, site.url, 2)
    check = page.locator("#beacon-check").inner_text()
    assert check.startswith(f"drand quicknet round {row['round']}: its BLS signature was checked")
    page.click("#verify")
    page.wait_for_selector("#verify-result .match", timeout=60_000)  # BLS in the browser
    text = page.locator("#verify-result").inner_text()
    assert text.startswith("match: 1 draw(s) recomputed, same winners")
    assert (
        f"beacon: the signature of round {row['round']} was checked against the pinned public "
        f"key of drand quicknet ({chain.hash[:8]}...)" in text
    )
    shot(page, "proof-quicknet-match")
    page.set_viewport_size({"width": 360, "height": 800})
    shot(page, "proof-quicknet-match-360")
    page.set_viewport_size({"width": 1100, "height": 800})

    forged = drand_scenario.forged_by_another_key(proof, ledger)
    proof_file = tmp_path / "raffle-2-proof.json"
    proof_file.write_bytes(export_bytes(forged))
    page.set_input_files("#proof-file", str(proof_file))
    page.click("#verify")
    page.wait_for_selector("#verify-result .mismatch")
    text = page.locator("#verify-result").inner_text()
    assert text.startswith("MISMATCH:")
    for problem in verify(forged, ledger).problems:
        assert problem in text
    shot(page, "proof-quicknet-forged")


def test_an_older_proof_page_says_its_signature_is_absent(page: Page, site):
    open_proof_page(page, site.url)
    assert "no signature was recorded" in page.locator("#beacon-check").inner_text()
    page.click("#verify")
    page.wait_for_selector("#verify-result .match")
    assert "this proof has no beacon signatures" in page.locator("#verify-result").inner_text()
