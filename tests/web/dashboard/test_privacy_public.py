"""What a public raffle proof needs, and /privacy saying what is public.

The public ledger.json carries admins' typed reasons and row numbers counted across every server,
and names each admin by a per-period pseudonym (a period closed before pseudonyms: by Discord
id). The snapshot hash published when the period closed covers every field of every row, so a
ledger without them (or with other values) no longer verifies; they stay, and /privacy says so,
field by field."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from core.features.raffle.draws.fairness import ACTOR_FIELDS, SnapshotEntry
from core.features.raffle.draws.verification import verify

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "raffle"


def documents(version: int = 1) -> tuple[dict, dict]:
    """The fixture month closed in snapshot ``version`` (2: admins by pseudonyms)."""
    prefix = "raffle-1" if version == 1 else f"raffle-v{version}-1"
    proof = json.loads((FIXTURES / f"{prefix}-proof.json").read_text())
    ledger = json.loads((FIXTURES / f"{prefix}-ledger.json").read_text())
    return proof, ledger


@pytest.mark.parametrize("version", [1, 2])
def test_the_public_ledger_holds_only_what_the_snapshot_hash_covers(version):
    _proof, ledger = documents(version)
    fields = (field.name for field in dataclasses.fields(SnapshotEntry))
    hashed = {ACTOR_FIELDS[version] if name == "actor" else name for name in fields}
    assert {key for entry in ledger["entries"] for key in entry} == hashed
    assert set(ledger) == {"format", "guild_id", "period_id", "entries", "eligible"}


@pytest.mark.parametrize(
    "change",
    [
        {"actor_id": None},  # the admin's Discord id dropped
        {"actor_id": 2},  # replaced by another number
        {"reason": ""},  # the typed reason dropped
        {"id": 10_000},  # the row number replaced
    ],
    ids=["no-admin-id", "other-admin-id", "no-reason", "renumbered"],
)
def test_a_ledger_without_the_admin_fields_no_longer_verifies(change):
    proof, ledger = documents()
    assert verify(proof, ledger).matches
    changed = copy.deepcopy(ledger)
    for entry in changed["entries"]:
        if entry["actor_id"] is not None:
            entry.update(change)
    result = verify(proof, changed)
    assert not result.matches
    assert any("snapshot hash" in problem for problem in result.problems)


def test_privacy_says_what_is_public(site):
    page = site.app.test_client().get("/privacy")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "What is public" in text
    assert "/raffle/&lt;period&gt;/ledger.json" in text
    assert "that admin&#39;s pseudonym for the period" in text
    assert "only the operator can map it back to a Discord id" in text
    assert "counted across every server" in text
    assert "METRICS_TOKEN" in text


def test_privacy_says_a_wager_row_names_the_shuffle_account_and_the_dollars(site):
    """A wager's row is ``shuffle:<name>:<tickets>`` with the reason "$1,000.00 wagered on
    Shuffle as alice" (tests/features/raffle/test_wager_replies.py): both are public in the
    ledger, next to the viewer's Kick or Twitch id, and /privacy did not say so."""
    text = site.app.test_client().get("/privacy").get_data(as_text=True)
    assert (
        "a wager&#39;s reference and reason name the viewer&#39;s Shuffle account and the "
        "dollars wagered on it in the period" in text
    )
