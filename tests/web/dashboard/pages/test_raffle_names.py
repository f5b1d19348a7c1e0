"""The raffle page names people (issue 27): who gave or took tickets by hand and who asked for
a draw, by their name in this server (the directory), and the draws' winners by their viewer
name; a member the bot never saw keeps their id, and another server's names never show."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest

from core.features.directory.repository import Member
from core.features.directory.service import DirectoryService
from tests.features.raffle.proof_scenario import built
from tests.features.raffle.support import GUILD
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import ADMIN_ID, OTHER_GUILD, pages_for

UNSEEN = 2  # the scenario's second admin: the directory never saw them


@pytest.fixture
def month(sqlite_engine):  # type: ignore[no-untyped-def]
    raffle, _period_id = built(sqlite_engine)
    return raffle


@pytest.fixture
def directory(sqlite_engine):  # type: ignore[no-untyped-def]
    found = DirectoryService(sqlite_engine, Clock(datetime(2026, 4, 2, tzinfo=UTC)))
    found.record_members(GUILD, [Member(1, "Ana Admin"), Member(ADMIN_ID, "Bea <mod>")])
    found.record_members(OTHER_GUILD, [Member(UNSEEN, "Elsewhere Eve")])
    return found


@pytest.fixture
def pages(month, directory, discord):  # type: ignore[no-untyped-def]
    return pages_for(discord, GUILD, raffle=month, directory=directory)


def _part(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_tickets_changed_by_hand_name_the_admin_and_the_viewer(pages, month):
    month.admin.give(GUILD, actor_id=ADMIN_ID, member_id=103, tickets=9, reason="quiz",
                     reference="h1")  # fmt: skip
    month.admin.give(GUILD, actor_id=UNSEEN, member_id=103, tickets=-2, reason="",
                     reference="h2")  # fmt: skip
    text = pages.get("raffle").text
    changes = _part(text, 'id="hand-changes"', "</table>")
    rows = changes.split("<tr>")[2:]  # newest first, after the header's row
    assert "viewer3" in rows[0]
    assert "-2" in rows[0]
    assert "removed" in rows[0]
    assert '<code title="a member the bot has not seen">2</code>' in rows[0]
    assert "viewer3" in rows[1]
    assert "+9" in rows[1]
    assert "quiz" in rows[1]
    assert '<span class="member">Bea &lt;mod&gt;</span>' in rows[1]  # escaped
    assert "Elsewhere Eve" not in text  # another server's name for that id


def test_the_draws_name_their_winners_and_who_asked(pages, month):
    text = pages.get("raffle").text
    last = month.views.info(GUILD).last_draw
    assert last is not None
    assert last.reroll_of is not None
    names = month.views.winner_names([last])
    shown = unescape(re.sub(r"<[^>]+>", "", _part(text, 'id="last-draw"', "</p>")))
    assert f"Last draw: #{last.id} (done) for a hoodie, asked by Ana Admin; won by" in shown
    for winner in last.winners:
        name = names[(str(winner.platform), winner.platform_user_id)]
        assert name.startswith("viewer") or name in ("nürnberger", "unlinked")
        assert f"{name} (ticket {winner.ticket:,})" in shown
    periods = unescape(_part(text, 'id="period-list"', "</table>"))
    first = month.views.periods(GUILD)[1].draws[0]  # period 1's first draw, rerolled since
    assert first.winners
    assert first.id != last.id
    named = month.views.winner_names([first])
    spans = "".join(
        f'<span class="winner">{named[(str(w.platform), w.platform_user_id)]}</span>, '
        for w in first.winners
    )
    assert f"#{first.id} done: {spans.removesuffix(', ')}; " in periods


def test_before_any_period_the_page_has_no_hand_changes(discord, sqlite_engine, directory):
    from tests.features.raffle.support import make_service

    raffle = make_service(sqlite_engine, Clock(datetime(2026, 4, 2, tzinfo=UTC)))
    page = pages_for(discord, GUILD, raffle=raffle, directory=directory).get("raffle")
    assert page.status_code == 200
    assert 'id="hand-changes"' not in page.text
    assert 'id="last-draw"' not in page.text
