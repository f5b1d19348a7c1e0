"""The overview's list of what the bot could not do: the guild's calls that a partner refused or
the bot gave up on in the last seven days, in words, escaped; never another guild's; and the
health line that points at them marked "look"."""

from __future__ import annotations

import asyncio

from core.outbox.store import Effect
from core.outbox.worker import Done, Refused, Retry
from tests.support.outbox_calls import end_calls
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD, Site


def _end(site: Site, *calls: tuple[Effect, object]) -> None:
    asyncio.run(end_calls(site.runtime.engine, site.runtime.clock, *calls))  # type: ignore[arg-type]


def _post(guild_id: int, n: int, who: str = "ana") -> Effect:
    return Effect(
        "discord", "slot_calls.post", guild_id, f"post:{guild_id}:{n}", {"call_id": n},
        f"post {who}'s slot call 'Gates of Olympus' in Discord",
    )  # fmt: skip


def test_the_overview_lists_the_guilds_undone_calls_in_words(site: Site):
    _end(
        site,
        (_post(GUILD, 1), Refused("not posted: the bot may not post there")),
        (_post(GUILD, 2, who="<b>bo</b>"), Retry("Forbidden: 403 Missing Permissions")),
        (_post(GUILD, 3), Done("posted")),
        (_post(GUILD, 5, who="cy"), Refused("not posted: the bot may not post there")),
        (_post(OTHER_GUILD, 4, who="other_server_viewer"), Refused("the other server's")),
    )

    page = site.client().get(f"/dashboard/{GUILD}/")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "What the bot could not do" in html
    assert "In the last 7 days, 3 things the bot had to ask of Discord" in html
    # the two refused alike share a line, named by the newest
    assert "post cy&#39;s slot call &#39;Gates of Olympus&#39; in Discord" in html
    assert '<td data-label="How often">2 times</td>' in html
    assert "post ana&#39;s" not in html
    assert html.count("not posted: the bot may not post there") == 1
    assert "post &lt;b&gt;bo&lt;/b&gt;&#39;s slot call" in html  # a viewer's name, escaped
    assert "gave up after 1 attempt: Forbidden: 403 Missing Permissions" in html
    assert '<td data-label="How often">once</td>' in html
    assert (
        '<td data-label="Check">actions</td><td data-label="State">look</td>'
        '<td data-label="Detail">3 not done in the last 7 days: listed below, under '
        "“What the bot could not do”</td>"
    ) in html
    assert "other_server_viewer" not in html
    assert "the other server&#39;s" not in html


def test_an_overview_with_nothing_undone_says_so(site: Site):
    _end(site, (_post(GUILD, 1), Done("posted")))

    html = site.client().get(f"/dashboard/{GUILD}/").get_data(as_text=True)

    assert 'id="nothing-undone"' in html
    assert "Everything the bot had to ask of Discord, Twitch, Kick or StreamElements" in html
    assert (
        '<td data-label="Check">actions</td><td data-label="State">ok</td>'
        '<td data-label="Detail">everything asked of a partner in 7 days was done</td>'
    ) in html


def test_another_guilds_overview_is_not_for_this_admin(site: Site):
    _end(site, (_post(OTHER_GUILD, 1, who="other_server_viewer"), Refused("no")))

    page = site.client().get(f"/dashboard/{OTHER_GUILD}/")

    assert page.status_code == 403
    assert "other_server_viewer" not in page.get_data(as_text=True)


def test_an_overview_with_more_kinds_than_it_lists_says_how_many_are_left_out(site: Site):
    """25 different refusals in a week, 20 lines listed: the page says the oldest 5 are not
    shown (it listed 20 and said nothing, as if they were all)."""
    _end(
        site,
        *((_post(GUILD, n), Refused(f"not posted: reason number {n}")) for n in range(1, 26)),
    )

    html = site.client().get(f"/dashboard/{GUILD}/").get_data(as_text=True)

    assert html.count('<tr id="undone-') == 20
    assert "not posted: reason number 25" in html  # the newest are the ones listed
    assert "not posted: reason number 1<" not in html
    assert "The 5 oldest kinds are not listed" in html
