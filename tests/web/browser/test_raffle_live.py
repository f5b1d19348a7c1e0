"""Issue 15: the raffle standings on the open raffle page change without a reload when tickets
are awarded. The real web app of a Runtime (SQLite, served on 127.0.0.1, the live hub on the
``live_changes`` table); the award is the service call ``!rafflegive`` makes, committed by this
process the way the bot's side does it."""

from __future__ import annotations

from core.events import Platform
from tests.features.raffle.support import add_viewer
from tests.features.viewers.guild_support import chatted_in
from tests.web.browser.test_settings_pages import GUILD, _log_in


def test_an_award_changes_the_open_standings_without_reload(page, site, discord, shot):  # type: ignore[no-untyped-def]
    raffle = site.runtime.raffle
    raffle.periods.start(GUILD)
    add_viewer(site.runtime.engine, "70001", "quizwinner")  # a Kick viewer the bot has seen
    chatted_in(site.runtime.engine, GUILD, Platform.KICK, "70001")  # here
    _log_in(page, site, discord)
    page.goto(f"{site.url}/dashboard/{GUILD}/raffle/")
    standings = page.locator("#raffle-standings")
    assert "Nobody holds tickets yet." in standings.inner_text()
    page.wait_for_function(
        "() => document.getElementById('raffle-standings-live-state').textContent"
        " === 'Updates live.'"
    )
    page.evaluate("window.notReloaded = true")

    # !rafflegive 42 to a Kick name (no Discord link needed).
    raffle.admin.give(GUILD, actor_id=1, member_id=None, username="quizwinner", tickets=42,
                      reason="quiz", reference="browser-live")  # fmt: skip

    page.wait_for_selector("#raffle-standings table.standings", timeout=10_000)
    row = standings.locator("tbody tr").first.inner_text()
    assert "quizwinner" in row
    assert "42" in row
    assert page.evaluate("window.notReloaded") is True  # the same page, never reloaded
    shot(page, "dashboard-raffle-standings-live")
