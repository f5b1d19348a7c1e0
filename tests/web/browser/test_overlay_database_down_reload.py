"""An overlay served while the database was down is a blank page that loads itself again: not
every overlay of every streamer at the same second (a stampede on a database just back), but
each after a random while between the 10 s the server names and twice that, in chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.web.browser.test_overlay_rotated_while_away import GUILD
from tests.web.test_oauth import take_database_down

STEP_MS = 250
START = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


def _reload_after_s(page, site, draw: float) -> float:  # type: ignore[no-untyped-def]
    url = site.runtime.overlays.url(GUILD, "goal")  # made while the database answers
    take_database_down(site.runtime, str(site.runtime.engine.url), None)
    asked: list[str] = []
    page.on("request", lambda r: r.url == url and asked.append(r.url))
    page.add_init_script(f"Math.random = () => {draw};")
    page.clock.install(time=START)
    page.clock.pause_at(START + timedelta(seconds=1))  # the page's time stands until moved
    page.goto(url)
    assert page.evaluate("document.body.innerHTML") == ""  # nothing over the stream
    moved = 0
    while len(asked) < 2 and moved < 60_000:
        page.clock.run_for(STEP_MS)
        moved += STEP_MS
    assert len(asked) == 2, "it never loaded itself again"
    return moved / 1000


@pytest.mark.parametrize(("draw", "low", "high"), [(0.0, 10.0, 10.5), (0.99999, 19.75, 20.5)])
def test_an_overlay_loads_itself_again_after_a_random_while(page, site, draw, low, high):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    waited = _reload_after_s(page, site, draw)
    assert low <= waited <= high, waited
