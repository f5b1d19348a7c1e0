"""The proof page's in-browser verifier (static/verify.js) against the Python verifier
(core/features/raffle/verification.verify): the same problems, word for word, on the fixture proof
(match) and on edits of it (a ticket, a winner, the seed, a beacon round, the ledger's period)."""

from __future__ import annotations

import copy
import json

import pytest
from playwright.sync_api import Page

from core.features.raffle.draws.verification import verify
from core.platforms.http import tls_context
from core.web.dashboard.public import export_bytes
from tests.web.browser.conftest import FIXTURES, fixture_export, open_proof_page


def _js_verify(page: Page, proof: dict, ledger: dict) -> list[str]:
    outcome = page.evaluate(
        "([p, l]) => window.streamkeeperVerify(p, l)",
        [json.dumps(proof, ensure_ascii=False), json.dumps(ledger, ensure_ascii=False)],
    )
    return outcome["problems"]


def _one_ticket_more(proof: dict, ledger: dict) -> None:
    ledger["entries"][0]["amount"] += 1


def _another_winner(proof: dict, ledger: dict) -> None:
    proof["draws"][0]["winners"][0]["ticket"] += 1


def _wrong_seed(proof: dict, ledger: dict) -> None:
    proof["seed"] = "00" * 32


def _later_round(proof: dict, ledger: dict) -> None:
    proof["beacon"]["round"] += 1
    proof["draws"][0]["beacon_round"] += 1


def _other_period(proof: dict, ledger: dict) -> None:
    ledger["period_id"] = 2


def _names_python_and_js_sort_differently(proof: dict, ledger: dict) -> None:
    # U+FF46 sorts before U+1F600 by code point (Python) but after it by UTF-16 unit (JS's <).
    for n, user in enumerate(("\uff46", "\U0001f600")):
        entry = dict(ledger["entries"][0], id=10_000 + n, platform_user_id=user, amount=5)
        ledger["entries"].append(entry)
        ledger["eligible"].append(f"kick:{user}")


def _forced(proof: dict, ledger: dict) -> None:
    proof["draws"][1]["forced"] = True  # empty randomness: other winners


def _no_beacon_timing(proof: dict, ledger: dict) -> None:
    del proof["beacon"]["genesis_time"]


def _big_ids(proof: dict, ledger: dict) -> None:
    # Discord snowflakes do not fit a double: the JS must keep them exact.
    ledger["entries"][0]["actor_id"] = 987654321987654321


@pytest.mark.parametrize(
    "edit",
    [
        _one_ticket_more,
        _another_winner,
        _wrong_seed,
        _later_round,
        _other_period,
        _big_ids,
        _forced,
        _no_beacon_timing,
        _names_python_and_js_sort_differently,
    ],
)
def test_js_finds_the_same_problems_as_python(proof_verifier: Page, edit):
    proof, ledger = fixture_export(1)
    edit(proof, ledger)
    expected = list(verify(proof, ledger).problems)
    assert expected, "every edit breaks the proof"
    assert _js_verify(proof_verifier, proof, ledger) == expected


def _pseudonymous_fixture() -> tuple[dict, dict]:
    """The fixture month closed in snapshot version 2 (admins by pseudonyms)."""
    proof = json.loads((FIXTURES / "raffle-v2-1-proof.json").read_text("utf-8"))
    ledger = json.loads((FIXTURES / "raffle-v2-1-ledger.json").read_text("utf-8"))
    return proof, ledger


def _other_admin(proof: dict, ledger: dict) -> None:
    entry = next(e for e in ledger["entries"] if e["actor"] is not None)
    entry["actor"] = "admin-0123456789abcdef"


def _discord_id_for_a_pseudonym(proof: dict, ledger: dict) -> None:
    entry = next(e for e in ledger["entries"] if e["actor"] is not None)
    entry["actor"] = 987654321987654321


def _version_1_proof(proof: dict, ledger: dict) -> None:
    proof["format"] = "streamkeeper-raffle-proof/1"


def test_js_verifies_a_pseudonymous_proof_as_python_does(proof_verifier: Page):
    page = proof_verifier
    proof, ledger = _pseudonymous_fixture()
    assert verify(proof, ledger).matches
    assert _js_verify(page, proof, ledger) == []
    for edit in (_other_admin, _discord_id_for_a_pseudonym, _version_1_proof, _one_ticket_more):
        proof, ledger = _pseudonymous_fixture()
        edit(proof, ledger)
        expected = list(verify(proof, ledger).problems)
        assert expected, edit.__name__
        assert _js_verify(page, proof, ledger) == expected, edit.__name__


def test_js_matches_the_fixture_proof(proof_verifier: Page):
    proof, ledger = fixture_export(1)
    assert verify(proof, ledger).matches
    assert _js_verify(proof_verifier, proof, ledger) == []


def test_downloads_are_the_export_bytes(site):
    import httpx

    for kind in ("proof", "ledger"):
        body = httpx.get(f"{site.url}/raffle/1/{kind}.json", verify=tls_context()).content
        assert body == (FIXTURES / f"raffle-1-{kind}.json").read_bytes()
        document = json.loads(body)
        assert body == export_bytes(document)
    assert httpx.get(f"{site.url}/raffle/2", verify=tls_context()).status_code == 404
    assert httpx.get(f"{site.url}/raffle/1/secrets.json", verify=tls_context()).status_code == 404


def test_verify_button_says_match_then_mismatch_after_a_one_ticket_edit(
    page: Page, site, tmp_path, shot
):
    open_proof_page(page, site.url)
    page.click("#verify")
    page.wait_for_selector("#verify-result .match")
    draws = verify(*fixture_export(1)).draws_checked
    assert page.locator("#verify-result").inner_text().startswith(f"match: {draws} draw(s)")
    shot(page, "proof-match")

    proof, ledger = fixture_export(1)
    edited = copy.deepcopy(ledger)
    edited["entries"][3]["amount"] += 1
    ledger_file = tmp_path / "raffle-1-ledger.json"
    ledger_file.write_bytes(export_bytes(edited))
    page.set_input_files("#ledger-file", str(ledger_file))
    page.click("#verify")
    page.wait_for_selector("#verify-result .mismatch")
    text = page.locator("#verify-result").inner_text()
    assert text.startswith("MISMATCH:")
    for problem in verify(proof, edited).problems:
        assert problem in text
    shot(page, "proof-mismatch")
