"""The raffle page's "A viewer's tickets": a viewer found by name (Kick or Twitch) with their
tickets in the shown period by source, their rank and the newest ledger lines that explain them;
another server's tickets never shown; a name that names nobody answered in words."""

from __future__ import annotations

import re

from core.events import Platform
from core.features.viewers.search import NOT_A_NAME
from tests.features.raffle.support import GUILD
from tests.features.viewers.guild_support import chatted_in
from tests.web.dashboard.pages.conftest import ADMIN_ID, OTHER_GUILD
from tests.web.dashboard.pages.test_raffle_settings import month, pages

__all__ = ["month", "pages"]


def _search(pages, typed: str) -> str:  # type: ignore[no-untyped-def]
    answer = pages.client.get(pages.url("raffle"), query_string={"q": typed})
    assert answer.status_code == 200
    return answer.text.replace("&#39;", "'")


def _found(text: str) -> str:
    """The search's part of the page: from its heading to the next section."""
    found = re.search(r'<h3 id="viewer-tickets">(.*?)</section>', text, re.S)
    assert found is not None
    return found.group(1)


def test_a_viewer_found_by_name_shows_their_tickets_and_why(pages, month):
    month.admin.give(
        GUILD, actor_id=ADMIN_ID, member_id=103, tickets=9, reason="quiz winner", reference="q"
    )
    part = _found(_search(pages, "@VIEWER3"))
    assert '<h4 class="name">viewer3 (Kick)</h4>' in part  # the stored name, not as typed
    assert "9 tickets in period #2: Given by admins 9." in part
    assert "Rank #1." in part
    assert '<td data-label="Tickets">+9</td>' in part
    assert '<td data-label="Why">quiz winner</td>' in part


def test_another_servers_tickets_are_not_shown(pages, month, sqlite_engine):
    month.periods.start(OTHER_GUILD)
    chatted_in(sqlite_engine, OTHER_GUILD, Platform.KICK, "u5")  # viewer5 chatted there too
    month.admin.give(OTHER_GUILD, actor_id=1, member_id=None, username="kick:viewer5",
                     tickets=50, reason="elsewhere", reference="o")  # fmt: skip
    part = _found(_search(pages, "kick:viewer5"))
    assert '<h4 class="name">viewer5 (Kick)</h4>' in part
    assert "0 tickets in period #2" in part
    assert "elsewhere" not in part
    assert "+50" not in part


def test_a_name_that_names_nobody_is_answered_in_words(pages):
    assert 'id="not-found"' in _found(_search(pages, "twitch:viewer3"))  # viewer3 is on Kick
    for typed in ("x" * 65, "kick:", "@"):
        part = _found(_search(pages, typed))
        assert 'aria-invalid="true"' in part
        assert NOT_A_NAME in part
    assert "aria-invalid" not in _found(_search(pages, "  "))  # no search at all
