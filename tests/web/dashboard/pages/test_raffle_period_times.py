"""The raffle page gives a period's dates in the server's raffle time zone, named, as the
proof page and Discord do: a Berlin March raffle starts at 2026-02-28 23:00 in UTC, and the
page said only that, so a streamer read a period starting in February."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.fakes.beacon_server import FakeBeacon
from tests.features.raffle.support import GUILD, make_service
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import pages_for


def _seen(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


@pytest.fixture
def berlin(sqlite_engine):  # type: ignore[no-untyped-def]
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    with FakeBeacon(clock=clock) as beacon:
        raffle = make_service(sqlite_engine, clock, beacon.url)
        raffle.periods.configure(GUILD, "time_zone", "Europe/Berlin")
        yield raffle


def test_the_open_period_reads_in_the_raffle_time_zone(berlin, discord) -> None:  # type: ignore[no-untyped-def]
    berlin.periods.start(GUILD, start_day=1)
    page = pages_for(discord, GUILD, raffle=berlin).get("raffle")
    assert page.status_code == 200
    now = _seen(page.text.split('id="state"')[1].split("</p>")[0])
    assert "from 1 March 2026, 00:00, ends 1 April 2026, 00:00 (Europe/Berlin)" in now
    periods = _seen(page.text.split('id="period-list"')[1].split("</tbody>")[0])
    assert "From (Europe/Berlin)" in periods
    assert "#11 March 2026, 00:001 April 2026, 00:00 open" in periods  # cell after cell
    assert "2026-02-28" not in now + periods  # no February start
    # The exact UTC moments stay on the page, for the tooltip and to compare with the proof.
    assert 'datetime="2026-02-28T23:00:00+00:00"' in page.text
    assert 'data-label="From (Europe/Berlin)"' in page.text  # the phone's card says it too


def test_starting_a_period_says_its_end_in_the_raffle_time_zone(berlin, discord) -> None:  # type: ignore[no-untyped-def]
    pages = pages_for(discord, GUILD, raffle=berlin)
    answer = pages.post("raffle", "start", {})
    assert answer.status_code == 303
    page = pages.client.get(answer.headers["Location"])
    assert "is open until 1 April 2026, 00:00 (Europe/Berlin)." in _seen(page.text)


def test_a_new_time_zone_says_the_open_period_keeps_its_end(berlin, discord) -> None:  # type: ignore[no-untyped-def]
    """The open period keeps its dates (docs/raffle.md); saving a new zone says so, with the end
    in the new zone, as ``!raffleset time_zone`` does."""
    berlin.periods.start(GUILD, start_day=1)
    pages = pages_for(discord, GUILD, raffle=berlin)
    answer = pages.post("raffle", "settings", {"time_zone": "America/New_York"})
    assert answer.status_code == 303
    shown = _seen(pages.client.get(answer.headers["Location"]).text)
    assert (
        "Saved: Time zone (e.g. Europe/Berlin). Period #1 keeps its dates: it ends 31 March "
        "2026, 18:00 (America/New_York). The new time zone counts from the next period on."
    ) in shown
    answer = pages.post("raffle", "settings", {"watch_hour": "7"})
    assert "keeps its dates" not in _seen(pages.client.get(answer.headers["Location"]).text)
