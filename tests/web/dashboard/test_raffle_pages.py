"""A real closed raffle month (tests/features/raffle/proof_scenario.py) served by the public
proof page: the downloads are the bytes ``python -m core raffle export`` writes (the fixture
files), and a period that is open, unknown or not drawn is a 404 page, not a 500."""

from __future__ import annotations

import json

from flask import Flask

from core.features.raffle.draws.verification import verify
from core.web.dashboard import register
from core.web.dashboard.config import DashboardConfig
from core.web.dashboard.wiring import raffle_exporter
from tests.features.raffle.proof_scenario import FIXTURES, build
from tests.support.statements import statements_of


def _client(views):  # type: ignore[no-untyped-def]
    app = Flask(__name__)
    register(
        app, DashboardConfig(secret="s", public_url=None, raffle_export=raffle_exporter(views))
    )
    return app.test_client()


def test_proof_page_serves_the_export_bytes(engine):
    raffle, period_id = build(engine)
    client = _client(raffle.views)
    page = client.get(f"/raffle/{period_id}")
    assert page.status_code == 200
    proof_bytes = client.get(f"/raffle/{period_id}/proof.json").data
    ledger_bytes = client.get(f"/raffle/{period_id}/ledger.json").data
    assert proof_bytes == (FIXTURES / "raffle-v3-1-proof.json").read_bytes()
    assert ledger_bytes == (FIXTURES / "raffle-v3-1-ledger.json").read_bytes()
    import json

    proof = json.loads(proof_bytes)
    assert verify(proof, json.loads(ledger_bytes)).matches
    assert proof["commitment"] in page.text
    assert proof["snapshot_hash"] in page.text
    assert str(proof["beacon"]["round"]) in page.text
    assert "viewer6" in page.text  # a winner


def test_open_or_unknown_periods_are_404_pages(engine):
    raffle, period_id = build(engine)
    open_period = raffle.periods.start(1002)  # another guild's open period
    client = _client(raffle.views)
    for path in (
        f"/raffle/{period_id + 1000}",
        f"/raffle/{period_id + 1000}/proof.json",
        f"/raffle/{open_period.id}",
        f"/raffle/{period_id}/other.json",
        "/raffle/99999999999999999999999",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.mimetype == "text/html"


def test_proof_page_counts_the_ledger_without_reading_it(engine):
    """A busy period's ledger is tens of thousands of rows: the page shows their number and the
    proof, and only the ledger.json download reads them (issue 27's pages bench found the page
    reading them all: 1.2 s for 10,000 viewers)."""
    raffle, period_id = build(engine)
    whole = raffle.views.export(period_id)
    light = raffle.views.export(period_id, with_ledger=False)
    assert light.document == whole.document
    assert light.ledger is None
    assert light.entry_count == whole.entry_count == len(whole.ledger["entries"]) > 10
    client = _client(raffle.views)
    with statements_of(engine) as statements:
        page = client.get(f"/raffle/{period_id}")
    assert page.status_code == 200
    assert f"with {whole.entry_count} ledger entries" in page.text
    ledger_reads = [s for s in statements if "raffle_ledger" in s]
    assert ledger_reads
    assert all("count(" in s for s in ledger_reads), ledger_reads
    assert not any("raffle_periods.eligible" in s for s in statements), "eligible was read"
    ledger = client.get(f"/raffle/{period_id}/ledger.json")
    assert len(json.loads(ledger.data)["entries"]) == whole.entry_count
