"""The heist page's charts (issue 27): heists per day by outcome and points staked and paid out
per day, for the last 30 days, each with its table; only this guild's heists, cancelled stakes
(refunded) not counted as staked, and a sentence instead of an empty chart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.features.heist.test_history import add_heist
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD

PAGE = f"/dashboard/{GUILD}/heist/"


def _table(html: str, figure_id: str) -> dict[str, list[str]]:
    """A chart's table: the row's day -> its cells, and "" -> the column names."""
    figure = re.search(rf'<figure class="chart" id="{figure_id}".*?</figure>', html, re.S)
    assert figure is not None, figure_id
    head = re.findall(r'<th scope="col">([^<]*)</th>', figure.group(0))
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', figure.group(0), re.S)
    table = {day: re.findall(r'<td data-value="[^"]*">([^<]*)</td>', cells) for day, cells in rows}
    return {"": head, **table}


def test_heists_by_outcome_and_points_per_day(site):
    now = datetime.now(UTC)
    today, yesterday = now.strftime("%b %d"), (now - timedelta(days=1)).strftime("%b %d")
    with site.runtime.engine.begin() as conn:
        add_heist(conn, GUILD, "resolved", now - timedelta(days=1), [(100, True, 150)])
        add_heist(conn, GUILD, "resolved", now, [(1_000, True, 2_500), (40, False, 0)])
        add_heist(conn, GUILD, "resolved", now, [(30, False, 0)])
        add_heist(conn, GUILD, "cancelled", now, [(500, None, None)])
        add_heist(conn, GUILD, "resolved", now - timedelta(days=31), [(7, True, 7)])
        add_heist(conn, OTHER_GUILD, "resolved", now, [(9_999, True, 99_999)])

    page = site.client().get(PAGE)
    assert page.status_code == 200
    outcomes = _table(page.text, "heist-outcomes")
    assert outcomes[""] == [
        "When", "Everyone got away", "Some got away", "All caught", "Cancelled"
    ]  # fmt: skip
    assert len(outcomes) == 1 + 30  # every day of the last 30, zero where none
    assert outcomes[today] == ["0", "1", "1", "1"]
    assert outcomes[yesterday] == ["1", "0", "0", "0"]
    points = _table(page.text, "heist-points")
    assert points[""] == ["When", "Staked", "Paid out"]
    assert points[today] == ["1,070", "2,500"]  # the refunded 500 is not a stake
    assert points[yesterday] == ["100", "150"]
    assert "9,999" not in page.text  # another guild's heist: neither its stake nor its payout
    assert 'aria-label="Heists per day by outcome, last 30 days (UTC): the numbers' in page.text
    assert "charts.js" in page.text


def test_no_heists_say_so_instead_of_an_empty_chart(site):
    with site.runtime.engine.begin() as conn:
        add_heist(conn, OTHER_GUILD, "resolved", datetime.now(UTC), [(5, True, 9)])
        add_heist(conn, GUILD, "cancelled", datetime.now(UTC) - timedelta(days=40))
    page = site.client().get(PAGE).text
    assert "No heist finished in the last 30 days." in page
    assert "No heist paid out or took stakes in the last 30 days." in page
    assert "<canvas" not in page
