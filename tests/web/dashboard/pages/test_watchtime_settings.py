"""The watchtime page: tracking switched as ``!tracking on|off`` does, how it is counted, and the
leaderboard a page at a time (guild-scoped), on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.config import WatchtimeSettings
from core.features.watchtime.history import record
from core.features.watchtime.service import WatchtimeService
from tests.features.raffle.support import add_viewer, set_watchtime
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import OTHER_GUILD, assert_refused_here, pages_for

GUILD = 111111111111111111


@pytest.fixture
def watchtime(engine):  # type: ignore[no-untyped-def]
    for n in range(30):
        add_viewer(engine, f"u{n}", f"viewer{n}")
        set_watchtime(engine, f"u{n}", 3600 * n + 60, guild_id=GUILD)
    set_watchtime(engine, "u0", 999_999, guild_id=OTHER_GUILD)
    return WatchtimeService(engine, WatchtimeSettings(), Clock(datetime(2026, 3, 1, tzinfo=UTC)))


@pytest.fixture
def pages(watchtime, discord):  # type: ignore[no-untyped-def]
    return pages_for(discord, GUILD, watchtime=watchtime)


def test_the_leaderboard_a_page_at_a_time(pages):
    first = pages.get("watchtime")
    assert first.status_code == 200
    assert (
        '<td>1</td><td class="name">viewer29<span class="platform-tag">Kick</span></td>'
        in first.text
    )
    assert "<td>Kick</td><td>29 h 01 min</td>" in first.text
    assert "viewer4<" not in first.text  # rank 26: the next page
    assert "277 h" not in first.text  # the other guild's watchtime
    second = pages.client.get(pages.url("watchtime") + "?page=2")
    assert '<td>26</td><td class="name">viewer4<span' in second.text
    for odd in ("0", "-1", "x", "99999999999999999999", "9" * 5000, "%D9%A3"):
        assert pages.client.get(pages.url("watchtime") + f"?page={odd}").status_code == 200


def test_a_page_past_the_end_shows_the_last_page(pages):
    # A page number from an old link or typed by hand: an empty page whose Previous leads to
    # another empty page, one at a time, would be of no use.
    answer = pages.client.get(pages.url("watchtime") + "?page=9")
    assert answer.status_code == 200
    assert "Page 2 of 2." in answer.text
    assert '<td>26</td><td class="name">viewer4<span' in answer.text
    assert "page=1#leaderboard" in answer.text  # Previous: the first page


def test_tracking_switched_here_is_the_services(pages, watchtime):
    assert watchtime.tracking_status(GUILD).enabled  # on until switched off
    answer = pages.post("watchtime", "tracking", {"tracking": "off"})
    assert answer.status_code == 303
    assert not watchtime.tracking_status(GUILD).enabled
    assert watchtime.tracking_status(OTHER_GUILD).enabled
    page = pages.client.get(answer.headers["Location"])
    assert "Tracking is off; the totals so far are kept." in page.text
    assert 'for="tracking"' in page.text
    assert pages.post("watchtime", "tracking", {"tracking": "on"}).status_code == 303
    assert watchtime.tracking_status(GUILD).enabled


def test_a_bad_tracking_value_is_refused(pages, watchtime):
    answer = pages.post("watchtime", "tracking", {"tracking": "nope"})
    assert_refused_here(answer, "Choose on or off.")
    assert watchtime.tracking_status(GUILD).enabled


def test_writes_need_the_csrf_token_and_a_guild_the_user_manages(pages, watchtime):
    assert pages.post("watchtime", "tracking", {"tracking": "off"}, csrf=False).status_code == 403
    form = {"tracking": "off", "csrf_token": pages.csrf("watchtime")}
    other = pages.client.post(pages.url("watchtime", "tracking", OTHER_GUILD), data=form)
    assert other.status_code == 403
    assert watchtime.tracking_status(GUILD).enabled
    assert watchtime.tracking_status(OTHER_GUILD).enabled
    assert pages.get("watchtime", guild_id=OTHER_GUILD).status_code == 403


def test_charts_of_hours_per_day_and_the_crowd_come_with_their_numbers(pages, watchtime, engine):
    now = watchtime.clock()  # 2026-03-01 00:00 UTC
    with engine.begin() as conn:
        record(conn, {GUILD: 12, OTHER_GUILD: 500}, 60, now - timedelta(days=1, hours=2))
        record(conn, {GUILD: 30}, 3600, now - timedelta(hours=5))  # 30 h in one hour's row
        record(conn, {GUILD: 7}, 60, now - timedelta(days=40))  # before the charts' window
    page = pages.get("watchtime").text
    per_day = page.split('id="per-day"')[1].split("</figure>")[0]
    assert per_day.count('<tr><th scope="row">') == 30  # every day, zero or not
    assert '<tr><th scope="row">Feb 27</th><td data-value="0.2">0.2 h</td></tr>' in per_day
    assert '<tr><th scope="row">Feb 28</th><td data-value="30.0">30.0 h</td></tr>' in per_day
    crowd = page.split('id="crowd"')[1].split("</figure>")[0]
    assert '<th scope="row">Feb 28 19:00</th><td data-value="30">30</td>' in crowd
    assert "500" not in page  # the other guild's crowd
    assert "vendor/chart.umd.min.js" in page


def test_a_guild_nobody_watched_says_so_instead_of_an_empty_chart(pages):
    page = pages.get("watchtime").text
    assert "Nobody was credited watchtime in the last 30 days." in page
    assert "Nobody was present in the last 48 hours." in page
    assert "<canvas" not in page
