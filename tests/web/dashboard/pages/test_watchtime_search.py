"""The watchtime page's leaderboard and its search: each viewer's platform beside the name, a
viewer found by name with their rank (both platforms, or one with ``kick:`` / ``twitch:``),
another guild's viewers never found, and a name that names nobody answered in words; on a real
database."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.config import WatchtimeSettings
from core.events import Platform, Viewer
from core.features.viewers.repository import remember_viewers
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watchtime
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import OTHER_GUILD, pages_for

GUILD = 111111111111111111
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _watched(engine, platform: Platform, user_id: str, name: str, seconds: int, guild_id=GUILD):
    with engine.begin() as conn:
        remember_viewers(conn, platform, [Viewer(user_id, name)], NOW)
        conn.execute(
            sa.insert(watchtime),
            {"guild_id": guild_id, "platform": str(platform), "platform_user_id": user_id,
             "seconds": seconds},
        )  # fmt: skip


@pytest.fixture
def client(engine, discord):  # type: ignore[no-untyped-def]
    _watched(engine, Platform.KICK, "1", "top_viewer", 36_000)
    _watched(engine, Platform.TWITCH, "1", "cy", 7_200)  # the same id on another platform
    _watched(engine, Platform.KICK, "2", "cy", 3_600)
    _watched(engine, Platform.KICK, "3", "elsewhere", 99_000, guild_id=OTHER_GUILD)
    service = WatchtimeService(engine, WatchtimeSettings(), Clock(NOW))
    return pages_for(discord, GUILD, watchtime=service).client


PAGE = f"/dashboard/{GUILD}/watchtime/"


def _found(text: str) -> list[list[str]]:
    table = re.search(r'<table class="found ranked" id="found">(.*?)</table>', text, re.S)
    assert table is not None, "no table of found viewers"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]
    return [[_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in rows]


def _text(cell: str) -> str:
    """A cell without the platform's line under the name (shown on a phone only)."""
    return re.sub(r'<span class="platform-tag">\w+</span>', "", cell)


def test_the_leaderboard_names_each_viewers_platform(client):
    page = client.get(PAGE)
    assert page.status_code == 200
    assert (
        '<td>1</td><td class="name">top_viewer<span class="platform-tag">Kick</span></td>'
        "<td>Kick</td><td>10 h 00 min</td>" in page.text
    )
    assert (
        '<td>2</td><td class="name">cy<span class="platform-tag">Twitch</span></td>'
        "<td>Twitch</td><td>2 h 00 min</td>" in page.text
    )
    assert "elsewhere" not in page.text  # another guild's viewer


def test_a_shared_rank_reads_as_on_the_leaderboard_in_discord(engine, client):
    """Equal watchtime shares the rank, shown "=2" as !leaderboard and !watchtime show it."""
    _watched(engine, Platform.KICK, "4", "dee", 7_200)  # as much as cy on Twitch
    page = client.get(PAGE)
    assert '<td>=2</td><td class="name">cy<span class="platform-tag">Twitch</span>' in page.text
    assert '<td>=2</td><td class="name">dee<span class="platform-tag">Kick</span>' in page.text
    assert '<td>4</td><td class="name">cy<span class="platform-tag">Kick</span>' in page.text
    assert '<td>1</td><td class="name">top_viewer' in page.text
    assert [row[0] for row in _found(client.get(PAGE + "?q=dee").text)] == ["=2"]


def test_a_name_finds_the_viewer_on_each_platform_with_their_rank(client):
    assert _found(client.get(PAGE, query_string={"q": "CY"}).text) == [
        ["3", "cy", "Kick", "1 h 00 min"],
        ["2", "cy", "Twitch", "2 h 00 min"],
    ]
    assert _found(client.get(PAGE, query_string={"q": "twitch: @cy"}).text) == [
        ["2", "cy", "Twitch", "2 h 00 min"]
    ]
    assert _found(client.get(PAGE, query_string={"q": "@top_viewer"}).text) == [
        ["1", "top_viewer", "Kick", "10 h 00 min"]
    ]


def test_a_viewer_of_another_guild_or_nobody_is_not_found(client):
    for name in ("elsewhere", "nobody", "kick:cy_not", "twitch:top_viewer"):
        page = client.get(PAGE, query_string={"q": name})
        assert page.status_code == 200
        assert 'id="not-found"' in page.text, name
        assert 'id="found"' not in page.text


def test_a_name_that_names_nobody_is_answered_in_words(client):
    for typed in ("x" * 65, "kick:", "@", "twitch:  "):
        page = client.get(PAGE, query_string={"q": typed})
        assert page.status_code == 200
        assert 'aria-invalid="true"' in page.text
        assert "Type a viewer&#39;s Kick or Twitch name (up to 64 characters)" in page.text


def test_without_a_name_there_is_no_search(client):
    page = client.get(PAGE, query_string={"q": "   "})
    assert 'id="not-found"' not in page.text
    assert 'id="found"' not in page.text
    assert "aria-invalid" not in page.text


def test_what_was_typed_is_shown_escaped(client):
    page = client.get(PAGE, query_string={"q": "<b>bold</b>"})
    assert "<b>bold</b>" not in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
