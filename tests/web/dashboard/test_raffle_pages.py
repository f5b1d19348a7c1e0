"""A real closed raffle month (tests/features/raffle/proof_scenario.py) served by the public
proof page: the downloads are the bytes ``python -m core raffle export`` writes (the fixture
files), and a period that is open, unknown or not drawn is a 404 page, not a 500."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask

from core.features.raffle.draws.verification import verify
from core.features.raffle.service import RaffleService
from core.web.dashboard import register
from core.web.dashboard.config import DashboardConfig
from core.web.dashboard.wiring import raffle_exporter
from tests.fakes.beacon_server import FakeBeacon
from tests.features.raffle.proof_scenario import FIXTURES, build
from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.support.clock import Clock
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


def _two_viewers_closed(engine, raffle) -> int:
    for n, name in ((1, "ana"), (2, "bob")):
        add_viewer(engine, str(n), name, discord_id=10 + n)
        raffle.admin.give(GUILD, actor_id=9, member_id=10 + n, tickets=5, reason="",
                          reference=f"r{n}")  # fmt: skip
    return raffle.periods.end(GUILD).period.id


@contextmanager
def _closed_a_minute_ago(engine) -> Iterator[tuple[RaffleService, int, FakeBeacon]]:
    """A period of ana and bob (5 tickets each), closed a minute ago with the beacon up: the
    service, the period's id and the beacon, to draw while it is there."""
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    with FakeBeacon(clock=clock) as beacon:
        raffle = make_service(engine, clock, beacon.url)
        raffle.periods.start(GUILD)
        period_id = _two_viewers_closed(engine, raffle)
        clock.advance(minutes=1)
        yield raffle, period_id, beacon


def _lines(page) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r"<li>(.*?)</li>", page.text.split('class="winners">')[1].split("</ul>")[0])


def test_the_proof_page_says_how_each_draw_was_made_rerolls_forced_and_empty_ones(engine):
    with _closed_a_minute_ago(engine) as (raffle, period_id, beacon):
        first = raffle.draws.request(GUILD, actor_id=9)  # by the beacon
        beacon.down = True
        raffle.draws.reroll(GUILD, actor_id=9, draw_id=first.id, reason="no answer")
        raffle.draws.clock.advance(minutes=6)  # a reroll is forced once its round is overdue
        second = raffle.draws.force(GUILD, actor_id=9)
        raffle.draws.reroll(GUILD, actor_id=9, draw_id=second.id, reason="again")
        raffle.draws.clock.advance(minutes=6)
        third = raffle.draws.force(GUILD, actor_id=9)
    names = {"1": "ana", "2": "bob"}
    [won_first], [won_second] = (
        [names[w.platform_user_id] for w in d.winners] for d in (first, second)
    )
    assert third.winners == ()
    page = _client(raffle.views).get(f"/raffle/{period_id}")
    admin = raffle.views.export(period_id).document["draws"][1]["forced_by"]  # a pseudonym
    assert admin.startswith("admin-")
    assert _lines(page) == [
        f"draw {first.id}: #1 {won_first}",
        f"draw {second.id} (a reroll of draw {first.id}: no answer; forced without the beacon "
        f"by {admin}): #1 {won_second}",
        f"draw {third.id} (a reroll of draw {second.id}: again; forced without the beacon "
        f"by {admin}): nobody could win (no eligible tickets left)",
    ]
    assert "its signature was checked" in page.text  # draw 1's
    proof = raffle.views.export(period_id)
    assert verify(proof.document, proof.ledger).matches


def test_a_period_whose_every_draw_was_forced_claims_no_beacon_check(engine):
    """Without a beacon ever reached no round was fixed: the page said "Beacon round None of
    None" and that the round's randomness should be compared with a relay; with one, that its
    signature was checked, though no draw used it."""
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    with FakeBeacon(clock=clock) as beacon:
        for url in (None, beacon.url):
            raffle = make_service(engine, clock, url)
            raffle.periods.start(GUILD + 1)
            period_id = raffle.periods.end(GUILD + 1).period.id
            raffle.draws.request(GUILD + 1, actor_id=9)
            raffle.draws.force(GUILD + 1, actor_id=9)
            page = _client(raffle.views).get(f"/raffle/{period_id}")
            main = page.text.split("<h1>")[1]
            assert "None" not in main
            assert "signature was checked" not in main
            assert "compare its randomness" not in main
            assert "no draw used the beacon: each was forced (!raffleforce)" in main
            if url is None:
                assert "none: the beacon was not known when the period closed" in main
            assert re.search(
                r"\(forced without the beacon by admin-[0-9a-f]{16}\): "
                r"nobody could win \(no eligible tickets left\)$",
                _lines(page)[0],
            )


def test_the_proof_page_says_what_each_draw_was_for(engine):
    """Two draws of one period for two prizes: the announcement said "Raffle draw #3 for a
    headset", the page listed only "draw 3: #1 ana", so a viewer could not tell which winner
    won what."""
    with _closed_a_minute_ago(engine) as (raffle, period_id, _beacon):
        headset = raffle.draws.request(GUILD, actor_id=9, prize="a <b>headset</b>")
        plain = raffle.draws.request(GUILD, actor_id=9)
    names = {"1": "ana", "2": "bob"}
    [won_headset], [won_plain] = (
        [names[w.platform_user_id] for w in d.winners] for d in (headset, plain)
    )
    page = _client(raffle.views).get(f"/raffle/{period_id}")
    assert _lines(page) == [
        f"draw {headset.id} for a &lt;b&gt;headset&lt;/b&gt;: #1 {won_headset}",
        f"draw {plain.id}: #1 {won_plain}",
    ]


def test_a_period_number_written_otherwise_is_no_page(engine):
    """A proof page has one address: "/raffle/01", or the 1 written in Arabic-Indic or
    full-width digits, served period 1's page and files under an address no link makes, as if
    each were another period's."""
    raffle, period_id = build(engine)
    client = _client(raffle.views)
    arabic = chr(0x0660 + period_id)
    wide = chr(0xFF10 + period_id)
    for number in (f"0{period_id}", f"00{period_id}", arabic, wide, f"{period_id}{arabic}"):
        for path in (f"/raffle/{number}", f"/raffle/{number}/proof.json"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert answer.mimetype == "text/html"
    assert client.get(f"/raffle/{period_id}").status_code == 200


def _seen(html: str) -> str:
    """The page's text as a viewer reads it (no tags, spaces run together)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_proof_page_shows_its_times_in_the_raffle_time_zone(engine):
    """A Berlin March raffle starts at 2026-02-28T23:00:00+00:00 in UTC: the page showed only
    that, so a viewer read a February start. It also said "with 1 ledger entries"."""
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    with FakeBeacon(clock=clock) as beacon:
        raffle = make_service(engine, clock, beacon.url)
        raffle.periods.configure(GUILD, "time_zone", "Europe/Berlin")
        raffle.periods.start(GUILD, start_day=1, end_day=31)
        add_viewer(engine, "1", "ana", discord_id=11)
        raffle.admin.give(GUILD, actor_id=9, member_id=11, tickets=5, reason="", reference="r1")
        period_id = raffle.periods.end(GUILD).period.id
        clock.advance(minutes=1)
        raffle.draws.request(GUILD, actor_id=9)
    proof = raffle.views.export(period_id)
    assert proof.document["starts_at"] == "2026-02-28T23:00:00+00:00"
    assert proof.entry_count == 1
    page = _client(raffle.views).get(f"/raffle/{period_id}")
    assert page.status_code == 200
    seen = _seen(page.text.split("<h1>")[1].split('<dl class="proof">')[0])
    first = seen.split(" with ")[0]
    assert first.startswith("Raffle period")
    assert "From 1 March 2026, 00:00 (Europe/Berlin) to 10 March 2026, 13:00" in first
    assert "+00:00" not in first
    assert "February" not in first
    assert "with 1 ledger entry." in seen
    # The exact UTC values of the proof file stay on the page, for comparing with it.
    for key in ("starts_at", "ends_at", "closed_at"):
        assert f'datetime="{proof.document[key]}"' in page.text
        assert proof.document[key] in seen
    assert proof.document["snapshot_hash"] in page.text
