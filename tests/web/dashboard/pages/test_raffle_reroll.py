"""The raffle page's reroll form: what ``!rafflereroll`` does, with the winner to replace as a
field of its own (empty: every winner of the draw)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import assert_refused_here, pages_for


@pytest.fixture
def raffle(sqlite_engine):  # type: ignore[no-untyped-def]
    raffle = make_service(sqlite_engine, Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)))
    for n in range(4):
        add_viewer(sqlite_engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n in range(4):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=5, reason="", reference=f"m{n}"
        )
    raffle.periods.end(GUILD)
    raffle.draws.request(GUILD, actor_id=1, winners=3)  # no beacon: waits
    raffle.draws.force(GUILD, actor_id=1)
    return raffle


@pytest.fixture
def pages(raffle, discord):  # type: ignore[no-untyped-def]
    return pages_for(discord, GUILD, raffle=raffle)


def test_a_reroll_from_the_page_replaces_the_winner_named(pages, raffle):
    assert 'name="reroll_winner"' in pages.get("raffle").text
    first = raffle.views.info(GUILD).last_draw
    form = {"draw_id": str(first.id), "reroll_winner": "2", "reroll_reason": "gone"}
    answer = pages.post("raffle", "reroll", form)
    assert answer.status_code == 303
    draw = raffle.views.info(GUILD).last_draw
    gone = first.winners[1]
    assert (draw.reroll_of, draw.winners_wanted) == (first.id, 1)
    assert draw.reason == f"in place of winner 2 ({gone.platform}:{gone.platform_user_id}): gone"


def test_without_a_winner_the_whole_draw_is_rerolled(pages, raffle):
    first = raffle.views.info(GUILD).last_draw
    pages.post("raffle", "reroll", {"draw_id": str(first.id), "reroll_reason": "all gone"})
    draw = raffle.views.info(GUILD).last_draw
    assert (draw.reroll_of, draw.winners_wanted, draw.reason) == (first.id, 3, "all gone")


def test_a_winner_the_draw_does_not_have_is_refused(pages, raffle):
    first = raffle.views.info(GUILD).last_draw
    answer = pages.post(
        "raffle", "reroll", {"draw_id": str(first.id), "reroll_winner": "4", "reroll_reason": "x"}
    )
    assert_refused_here(answer, f"Draw #{first.id} has winners 1 to 3; pick one of them.")
