"""The proof page's in-browser verifier (static/verify.js) against the Python verifier
(core/features/raffle/verification.verify): the same problems, word for word, on the fixture proof
(match) and on edits of it (a ticket, a winner, the seed, a beacon round, the ledger's period)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page

from core.features.raffle.beacons.chains import QUICKNET
from core.features.raffle.draws import fairness
from core.features.raffle.draws.verification import verify
from core.platforms.http import tls_context
from core.web.dashboard.public import export_bytes
from tests.features.raffle import drand_scenario
from tests.features.raffle.proof_scenario import unsigned_randomness
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


def _round_fixing_fixture() -> tuple[dict, dict]:
    """The fixture month closed in snapshot version 3 (its header fixes the beacon round)."""
    proof = json.loads((FIXTURES / "raffle-v3-1-proof.json").read_text("utf-8"))
    ledger = json.loads((FIXTURES / "raffle-v3-1-ledger.json").read_text("utf-8"))
    return proof, ledger


def _closed_later(proof: dict, ledger: dict) -> None:
    # Rewritten after the round was out: the rules would give a later round for a late close.
    proof["closed_at"] = "2026-04-01T00:10:00.000001+00:00"
    proof["beacon"]["round"] += 20
    for draw in proof["draws"]:
        draw["beacon_round"] += 20


def _ended_later(proof: dict, ledger: dict) -> None:
    proof["ends_at"] = "2026-04-01T00:00:01+00:00"


def _a_chain_named(proof: dict, ledger: dict) -> None:
    proof["beacon"]["chain_hash"] = "ab" * 32
    proof["beacon"]["public_key"] = "cd" * 48
    proof["beacon"]["scheme"] = "bls-unchained-g1-rfc9380"


def _draws_on_another_round(proof: dict, ledger: dict) -> None:
    for draw in proof["draws"]:
        draw["beacon_round"] += 1


def _forced_dressed_as_beacon(proof: dict, ledger: dict) -> None:
    proof["draws"][0]["beacon_randomness"] = ""


def test_js_refuses_a_forced_draw_dressed_up_as_a_beacon_draw(proof_verifier: Page):
    """A chain-less proof (as exported before signatures were recorded) whose draw says it
    used the beacon but has the empty randomness of a forced draw, winners to match."""
    proof, ledger = _pseudonymous_fixture()
    proof["draws"] = proof["draws"][:1]
    proof["draws"][0]["beacon_randomness"] = ""
    proof = drand_scenario.with_winners_recomputed(proof, ledger)
    expected = list(verify(proof, ledger).problems)
    assert expected == [
        f"draw {proof['draws'][0]['id']} used the beacon, but its randomness is not 64 hex digits"
    ]
    assert _js_verify(proof_verifier, proof, ledger) == expected


def test_js_says_which_draws_were_forced_as_python_does(proof_verifier: Page):
    people = [drand_scenario.entry(n, str(n), 5 + n) for n in range(1, 6)]
    keys = [f"kick:{n}" for n in range(1, 6)]
    proof, ledger = drand_scenario.composed_proof(people, keys, [(1, True), (2, False)])
    expected = verify(proof, ledger)
    forced = [note for note in expected.notes if note.startswith("draw 100 was forced: ")]
    assert forced, expected.notes
    outcome = proof_verifier.evaluate(
        "([p, l]) => window.streamkeeperVerify(p, l)",
        [json.dumps(proof, ensure_ascii=False), json.dumps(ledger, ensure_ascii=False)],
    )
    assert (outcome["problems"], outcome["notes"]) == ([], list(expected.notes))


def test_js_verifies_a_round_fixing_proof_as_python_does(proof_verifier: Page):
    page = proof_verifier
    proof, ledger = _round_fixing_fixture()
    expected = verify(proof, ledger)
    assert expected.matches
    outcome = page.evaluate(
        "([p, l]) => window.streamkeeperVerify(p, l)",
        [json.dumps(proof, ensure_ascii=False), json.dumps(ledger, ensure_ascii=False)],
    )
    assert (outcome["problems"], outcome["notes"]) == ([], list(expected.notes))
    assert outcome["notes"][1] == (
        f"round: every beacon draw used round {proof['beacon']['round']}, which the snapshot "
        "hash fixes"
    )
    edits = (
        _closed_later,
        _ended_later,
        _a_chain_named,
        _draws_on_another_round,
        _forced_dressed_as_beacon,
        _one_ticket_more,
        _other_admin,
    )
    for edit in edits:
        proof, ledger = _round_fixing_fixture()
        edit(proof, ledger)
        expected_problems = list(verify(proof, ledger).problems)
        assert expected_problems, edit.__name__
        assert _js_verify(page, proof, ledger) == expected_problems, edit.__name__


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


def _js_outcome(page: Page, proof: dict, ledger: dict) -> dict:
    return page.evaluate(
        "([p, l]) => window.streamkeeperVerify(p, l).then(r => r, e => ({error: String(e)}))",
        [json.dumps(proof, ensure_ascii=False), json.dumps(ledger, ensure_ascii=False)],
    )


_USER_IDS = st.one_of(
    st.integers(min_value=0, max_value=10**20).map(str),
    st.text(min_size=1, max_size=12),
    st.text(alphabet=st.characters(min_codepoint=0xE000, max_codepoint=0x1F6FF), max_size=4),
)


@st.composite
def _genuine_proofs(draw: st.DrawFn) -> tuple[dict, dict]:
    """A proof and ledger as the export writes them (every snapshot version; ids, amounts and
    names Python and JavaScript read differently; forced and beacon draws; a close up to a
    millisecond before the round is out)."""
    version = draw(st.sampled_from(fairness.SNAPSHOT_VERSIONS))
    people = draw(st.lists(_USER_IDS, min_size=1, max_size=8, unique=True))
    entries = []
    for n, user_id in enumerate(people):
        for k in range(draw(st.integers(1, 2))):
            actor = draw(st.none() | st.just("admin-0123456789abcdef"))
            if version == 1 and actor is not None:
                actor = draw(st.integers(1, 2**63 - 1))
            amount = draw(st.integers(-20, 300) | st.integers(2**52, 2**62))
            entries.append(drand_scenario.entry(10 * n + k + 1, user_id, amount, actor, "r"))
    keys = [f"kick:{user_id}" for user_id in people]
    eligible = draw(st.lists(st.sampled_from(keys), unique=True))
    draws = draw(st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=1, max_size=3))
    round_at = drand_scenario.round_time(QUICKNET, 1000)
    before = draw(st.none() | st.integers(min_value=1, max_value=1000))
    closed_at = None if before is None else round_at - timedelta(microseconds=before)
    return drand_scenario.composed_proof(
        entries, eligible, draws, version=version, closed_at=closed_at
    )


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(documents=_genuine_proofs())
def test_js_and_python_agree_on_generated_proofs(proof_verifier: Page, documents):
    """Genuine proofs match in both, with the same notes; moving the close to a later round
    (version 3: the hash covers it) or dressing a forced draw as a beacon draw gives the same
    problems in both."""
    proof, ledger = documents
    expected = verify(proof, ledger)
    assert expected.matches, expected.problems
    outcome = _js_outcome(proof_verifier, proof, ledger)
    assert (outcome.get("problems"), outcome.get("notes")) == ([], list(expected.notes)), outcome
    for edit in (_closed_later, _forced_dressed_as_beacon):
        edited, ledger_copy = copy.deepcopy(proof), copy.deepcopy(ledger)
        if edit is _closed_later:
            edited["closed_at"] = (
                drand_scenario.round_time(QUICKNET, 1020) - timedelta(microseconds=1)
            ).isoformat()
            edited["beacon"]["round"] = 1020
            for draw in edited["draws"]:
                if not draw["forced"]:
                    draw["beacon_round"] = 1020
        else:
            edit(edited, ledger_copy)
        problems = list(verify(edited, ledger_copy).problems)
        assert _js_outcome(proof_verifier, edited, ledger_copy).get("problems") == problems


def _reroll_on_its_own_round(proof: dict, ledger: dict) -> dict:
    """The v3 fixture's reroll (draw 2) as rerolls are drawn now: on the first round published
    after it was asked for, its winners recomputed with that round's randomness."""
    reroll = proof["draws"][1]
    beacon = proof["beacon"]
    asked_at = datetime.fromisoformat(reroll["requested_at"])
    own = fairness.first_round_after(asked_at, beacon["genesis_time"], beacon["period_seconds"])
    reroll["beacon_round"] = own
    reroll["beacon_randomness"] = unsigned_randomness(own)
    return drand_scenario.with_winners_recomputed(proof, ledger)


def test_js_checks_rerolls_as_python_does(proof_verifier: Page):
    """A reroll on a round of its own, one that reused the period's round (made before rerolls
    had their own), and one whose round is not the first after it was asked for."""
    page = proof_verifier
    legacy, ledger = _round_fixing_fixture()
    own = _reroll_on_its_own_round(*_round_fixing_fixture())
    moved = copy.deepcopy(own)
    moved["draws"][1]["requested_at"] = "2026-04-01T00:20:00.5+00:00"
    # One winner replaced, as "!rafflereroll 1 #2 ..." records it; then another one named.
    one = copy.deepcopy(own)
    second = one["draws"][0]["winners"][1]["participant"]
    one["draws"][1].update(winners_wanted=1, reason=f"in place of winner 2 ({second}): gone")
    one = drand_scenario.with_winners_recomputed(one, ledger)
    named_wrong = copy.deepcopy(one)
    third = one["draws"][0]["winners"][2]["participant"]
    named_wrong["draws"][1]["reason"] = f"in place of winner 2 ({third}): gone"
    of_nothing = copy.deepcopy(one)
    of_nothing["draws"][1]["reroll_of"] = 5
    cases = [(legacy, True), (own, True), (moved, False), (one, True)]
    cases += [(named_wrong, False), (of_nothing, False)]
    for proof, matches in cases:
        expected = verify(proof, ledger)
        assert expected.matches is matches, expected.problems
        lines = expected.notes + expected.problems
        assert any("is a reroll" in line or "replaces winner" in line for line in lines)
        outcome = page.evaluate(
            "([p, l]) => window.streamkeeperVerify(p, l)",
            [json.dumps(proof, ensure_ascii=False), json.dumps(ledger, ensure_ascii=False)],
        )
        assert (outcome["problems"], outcome["notes"]) == (
            list(expected.problems),
            list(expected.notes),
        )
