"""The raffle standings' live part: the page wraps them in an element live.js refreshes (the
``raffle`` topic's stream and the standings route), and the standings route answers the same
rows as the page, for a guild the user manages only."""

from __future__ import annotations

import pytest

from core.features.live.backends import MemoryLive
from tests.features.raffle.proof_scenario import built
from tests.features.raffle.support import GUILD
from tests.web.dashboard.pages.conftest import OTHER_GUILD, pages_for


@pytest.fixture
def month(sqlite_engine):  # type: ignore[no-untyped-def]
    raffle, _period_id = built(sqlite_engine)
    return raffle


@pytest.fixture
def pages(month, discord):  # type: ignore[no-untyped-def]
    return pages_for(discord, GUILD, raffle=month, live_backend=MemoryLive())


def test_the_page_wraps_the_standings_for_live_updates(pages):
    page = pages.get("raffle")
    assert page.status_code == 200
    assert f'data-live-stream="/dashboard/{GUILD}/live/raffle"' in page.text
    assert f'data-live-url="/dashboard/{GUILD}/raffle/standings"' in page.text
    assert "live.js" in page.text


def test_the_standings_route_answers_the_rows_and_follows_a_change(pages, month):
    assert "Nobody holds tickets yet." in pages.get("raffle", "standings").text
    month.admin.give(GUILD, actor_id=1, member_id=103, tickets=9, reason="", reference="a")

    before = pages.get("raffle", "standings")
    assert before.status_code == 200
    assert "<html" not in before.text  # the part alone
    assert _row(1, "viewer3", 9) in before.text

    month.admin.give(GUILD, actor_id=1, member_id=104, tickets=500, reason="", reference="b")

    after = pages.get("raffle", "standings").text
    assert _row(1, "viewer4", 500) in after  # the new leader is at the top
    assert _row(2, "viewer3", 9) in after


def test_another_guilds_standings_are_403(pages):
    answer = pages.get("raffle", "standings", guild_id=OTHER_GUILD)
    assert answer.status_code == 403
    assert "viewer3" not in answer.text


def test_without_live_updates_the_page_has_no_live_part(month, discord):
    month.admin.give(GUILD, actor_id=1, member_id=103, tickets=9, reason="", reference="a")
    page = pages_for(discord, GUILD, raffle=month).get("raffle")
    assert page.status_code == 200
    assert "data-live-stream" not in page.text
    assert "viewer3" in page.text  # the standings, by reload


def _row(rank: int | str, name: str, tickets: int) -> str:
    """A standings row of a Kick viewer (the platform is a line under the name on a phone)."""
    return (
        f'<td>{rank}</td><td class="name">{name}<span class="platform-tag">Kick</span></td>'
        f"<td>Kick</td><td>{tickets}</td>"
    )


def test_equal_tickets_share_a_rank_as_tickets_says(pages, month):
    """The standings numbered two viewers with as many tickets 1 and 2, where `!tickets` and
    the /me page give both rank 1: they now share it, "=1", as the watchtime table shows ties."""
    month.admin.give(GUILD, actor_id=1, member_id=103, tickets=9, reason="", reference="a")
    month.admin.give(GUILD, actor_id=1, member_id=104, tickets=9, reason="", reference="b")

    standings = pages.get("raffle", "standings").text

    assert _row("=1", "viewer3", 9) in standings
    assert _row("=1", "viewer4", 9) in standings


def test_a_closed_periods_standings_say_it_is_closed(pages, month):
    """Between periods the page showed the last one's standings as if it were still running."""
    month.admin.give(GUILD, actor_id=1, member_id=103, tickets=9, reason="", reference="a")
    closing = month.periods.end(GUILD)

    standings = pages.get("raffle", "standings").text

    period = closing.period
    closed = period.closed_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f"Period #{period.id} (closed " in standings
    assert f">{closed}</time>), 9 tickets in all." in standings
    assert _row(1, "viewer3", 9) in standings


def test_a_closed_period_without_tickets_says_nobody_held_any(pages, month):
    closing = month.periods.end(GUILD)

    standings = pages.get("raffle", "standings").text

    assert f"Nobody held tickets in period #{closing.period.id}." in standings
