"""The raffle page's force-draw button: what ``!raffleforce`` does (the same service call and
refusal), for those who may manage the server, with the page's CSRF token, shown only while a
draw waits for the beacon."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.features.raffle.support import GUILD, make_service
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import ADMIN_ID, OTHER_GUILD, assert_refused_here, pages_for


@pytest.fixture
def raffle(sqlite_engine):  # type: ignore[no-untyped-def]
    raffle = make_service(sqlite_engine, Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)))
    raffle.periods.start(GUILD)
    raffle.periods.end(GUILD)
    return raffle  # no beacon: a draw asked for waits


@pytest.fixture
def pages(raffle, discord):  # type: ignore[no-untyped-def]
    return pages_for(discord, GUILD, raffle=raffle)


def test_a_waiting_draw_is_forced_from_the_page_as_raffleforce_does(pages, raffle):
    assert 'id="force-draw"' not in pages.get("raffle").text  # nothing waits yet
    waiting = raffle.draws.request(GUILD, actor_id=1, prize="a mug")
    assert waiting.status == "waiting"
    page = pages.get("raffle").text
    assert 'id="force-draw"' in page
    assert "!raffleforce" in page
    answer = pages.post("raffle", "force", {})
    assert answer.status_code == 303
    draw = raffle.views.info(GUILD).last_draw
    assert (draw.id, draw.status, draw.forced, draw.forced_by) == (
        waiting.id,
        "done",
        True,
        ADMIN_ID,
    )
    shown = pages.client.get(answer.headers["Location"]).text
    assert f"Draw #{draw.id} is done" in shown
    assert "Drawn without the beacon." in shown


def test_with_nothing_waiting_the_refusal_is_raffleforces(pages):
    assert_refused_here(pages.post("raffle", "force", {}), "No draw is waiting for the beacon.")


def test_forcing_needs_the_pages_token_and_a_server_you_manage(pages, raffle):
    raffle.draws.request(GUILD, actor_id=1)
    assert pages.post("raffle", "force", {}, csrf=False).status_code in (400, 403)
    other = pages.client.post(
        f"/dashboard/{OTHER_GUILD}/raffle/force", data={"csrf_token": pages.csrf("raffle")}
    )
    assert other.status_code == 403
    assert raffle.views.info(GUILD).last_draw.status == "waiting"  # neither drew it


def test_a_draw_asked_for_on_the_page_says_why_it_waits(pages, raffle):
    """With no beacon to ask, the page said "Draw #1 is queued; it completes when the beacon
    round is out", though no round would ever come: only forcing draws it."""
    answer = pages.post("raffle", "draw", {"winners": "1", "prize": ""})
    assert answer.status_code == 303
    shown = pages.client.get(answer.headers["Location"]).text
    assert "Draw #1 waits for the beacon: no beacon is configured (RAFFLE_BEACON_URLS)." in shown
    assert "completes when the beacon round is out" not in shown
