"""The event log's live part: the page wraps its dead and recent events in an element live.js
refreshes (the ``events`` topic's stream and the live part's route, keeping the type filter),
and that route answers this guild's rows only; another guild's id answers 403."""

from __future__ import annotations

from tests.web.dashboard.conftest import GUILD, OTHER_GUILD
from tests.web.dashboard.test_events_page import _queue, _row

PAGE = f"/dashboard/{GUILD}/events/"
PART = f"/dashboard/{GUILD}/events/live"


def test_the_page_wraps_the_events_for_live_updates(site):
    page = site.client().get(PAGE, query_string={"kind": "chat_message_sent"})
    assert page.status_code == 200
    assert f'data-live-stream="/dashboard/{GUILD}/live/events"' in page.text
    assert f'data-live-url="{PART}?kind=chat_message_sent"' in page.text
    assert "live.js" in page.text


def test_the_live_part_answers_this_guilds_recent_and_dead_events(site):
    client = site.client()
    assert "until this server follows a Kick or Twitch channel" in client.get(PART).text
    _mine, mine_dead, theirs_dead = _queue(site)

    part = client.get(PART)

    assert part.status_code == 200
    assert "<html" not in part.text  # the part alone
    assert part.text.count('name="ref"') == 1  # one dead event: ours, with its Retry
    assert f'value="{_row(site, mine_dead.key).id}"' in part.text
    assert f'value="{_row(site, theirs_dead.key).id}"' not in part.text
    assert 'name="csrf_token"' in part.text
    recent = part.text.split('id="recent"')[1].split("</table>")[0]
    assert recent.count("<tr class=") == 2
    assert "Chat (2)" in part.text


def test_the_live_part_keeps_the_filter_and_refuses_a_bad_one(site):
    _queue(site)
    client = site.client()
    filtered = client.get(PART, query_string={"kind": "followed"})
    assert filtered.status_code == 200
    recent = filtered.text.split('id="recent-title"')[1]
    assert "No follows among this server's latest events." in recent  # none of that type
    assert "Dead events (1)" in filtered.text  # the dead ones are not filtered
    bad = client.get(PART, query_string={"kind": "nonsense"})
    assert bad.status_code == 200
    assert "No such event type." in bad.text


def test_another_guilds_live_part_is_403(site):
    _queue(site)
    answer = site.client().get(f"/dashboard/{OTHER_GUILD}/events/live")
    assert answer.status_code == 403
    assert "RuntimeError: boom" not in answer.text
