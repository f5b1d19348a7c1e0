"""When the server goes away (a restart, an outage), every open overlay of every streamer loses
its live connection at the same moment. They must not all knock again together, nor every
second or two for as long as the server is away: in chromium, an overlay whose connection
dropped waits a random while in a window that doubles with each failed try, up to 30 s, and
starts again from the short window once a connection has stayed up.

The page's own clock is Playwright's (``page.clock``), so minutes of waiting take a moment; the
page runs its live hub itself (no SharedWorker, whose clock the test cannot drive), the same
code as the shared one. While the server is "away", the page's live requests are aborted.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.web.browser.test_overlay_rotated_while_away import GUILD, _drop_live_connections

STEP_MS = 250  # the page's clock moves by this much between looks: the waits' precision
WATCH = """
(draw) => {
  window.SharedWorker = undefined;  // the page's own hub, on the page's (driven) clock
  const Real = window.EventSource;
  window.__tries = [];
  window.__fails = 0;
  window.__opens = [];
  window.__pending = 0;  // tries not yet answered (opened or failed)
  window.__urls = [];
  function Watched(url, init) {
    const source = new Real(url, init);
    let answered = false;
    const answer = () => { if (!answered) { answered = true; window.__pending -= 1; } };
    window.__tries.push(Date.now());
    window.__urls.push(String(url));
    window.__pending += 1;
    source.addEventListener("open", () => { answer(); window.__opens.push(Date.now()); });
    source.addEventListener("error", () => { answer(); window.__fails += 1; });
    return source;
  }
  Watched.prototype = Real.prototype;
  window.EventSource = Watched;
  if (draw !== null) { Math.random = () => draw; }
}
"""


def _until(page, expression: str, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait (real time) until ``expression`` holds in the page (its policy allows no eval, so
    wait_for_function cannot be used)."""
    ends = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < ends, f"never: {expression}"
        time.sleep(0.02)


def _away(page) -> None:  # type: ignore[no-untyped-def]
    page.route("**/live?*", lambda route: route.abort())


def _back(page) -> None:  # type: ignore[no-untyped-def]
    page.unroute("**/live?*")


def _open_overlay(page, site, draw: float | None) -> None:  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    site.runtime.overlays.goal.save(GUILD, {"measure": "follows", "target": "50", "title": "Goal"})
    page.add_init_script(f"({WATCH})({'null' if draw is None else draw})")
    page.clock.install()
    page.goto(site.runtime.overlays.url(GUILD, "goal"))
    expect(page.locator("#goal")).to_be_visible(timeout=15_000)
    _until(page, "window.__opens.length >= 1")
    now = page.evaluate("Date.now()")
    page.clock.pause_at(now / 1000 + 5)  # seconds; ahead of the page's time however slow this is


def _settled(page) -> None:  # type: ignore[no-untyped-def]
    """Every try so far has failed or opened (the network answers in real time)."""
    _until(page, "window.__pending === 0")


def _waits_after_drop(page, site, tries: int, limit_ms: int = 600_000) -> list[float]:  # type: ignore[no-untyped-def]
    """Drop the live connection (as a server restart does) and return, in seconds, the waits
    before each of the next ``tries`` tries, the page's clock moving STEP_MS at a time."""
    before = page.evaluate("window.__fails")
    _drop_live_connections(site)
    _until(page, f"window.__fails > {before}")
    start = len(page.evaluate("window.__tries"))
    last = page.evaluate("Date.now()")
    waits: list[float] = []
    moved = 0
    while len(waits) < tries and moved < limit_ms:
        page.clock.run_for(STEP_MS)
        moved += STEP_MS
        times = page.evaluate("window.__tries")
        for at in times[start + len(waits) :]:
            waits.append((at - last) / 1000)
            last = at
        _settled(page)
    return waits


def _close(waits: list[float], expected: list[float]) -> bool:
    slack = 2 * STEP_MS / 1000
    pairs = zip(waits, expected, strict=False)
    close = all(want - 0.05 <= got <= want + slack for got, want in pairs)
    return close and len(waits) == len(expected)


@pytest.mark.parametrize(
    ("draw", "expected"),
    [
        # the top of each window: 4 s, then (no answer) 16 s, then the 30 s cap
        (0.99999, [4.0, 16.0, 30.0, 30.0, 30.0]),
        # the bottom: a quarter of each window
        (0.0, [1.0, 4.0, 7.5, 7.5, 7.5]),
    ],
)
def test_a_dropped_overlay_waits_longer_after_each_failed_try_up_to_30_s(
    page, site, draw, expected
):  # type: ignore[no-untyped-def]
    _open_overlay(page, site, draw)
    _away(page)
    waits = _waits_after_drop(page, site, len(expected))
    assert _close(waits, expected), waits


def test_overlays_dropped_together_come_back_spread_out(page, site):  # type: ignore[no-untyped-def]
    """Real randomness: the waits fall anywhere in their windows, not on one instant."""
    _open_overlay(page, site, None)
    _away(page)
    waits = _waits_after_drop(page, site, 6)
    windows = [(1.0, 4.0), (4.0, 16.0)] + [(7.5, 30.0)] * 4
    slack = 2 * STEP_MS / 1000
    for got, (low, high) in zip(waits, windows, strict=True):
        assert low - 0.05 <= got <= high + slack, waits
    assert len({round(w, 1) for w in waits[2:]}) > 1, waits  # not one fixed wait


def test_a_connection_that_stayed_up_starts_again_from_the_short_wait(page, site):  # type: ignore[no-untyped-def]
    _open_overlay(page, site, 0.99999)
    _away(page)
    waits = _waits_after_drop(page, site, 3)
    assert _close(waits, [4.0, 16.0, 30.0]), waits
    _back(page)
    page.clock.run_for(31_000)  # the next try, now answered
    _settled(page)
    assert page.evaluate("window.__opens.length") == 2, page.evaluate("window.__tries")
    page.clock.run_for(15_000)  # it stays up
    _away(page)
    waits = _waits_after_drop(page, site, 2)
    assert _close(waits, [4.0, 16.0]), waits


def test_a_page_joining_while_the_server_is_away_does_not_cut_the_wait_short(page, site):  # type: ignore[no-untyped-def]
    """Another overlay or dashboard part subscribing during the wait (a source reloaded in OBS)
    joins the next try; it does not knock at once."""
    _open_overlay(page, site, 0.99999)
    _away(page)
    assert _close(_waits_after_drop(page, site, 1), [4.0])
    tries = len(page.evaluate("window.__tries"))
    page.evaluate("window.StreamKeeperLive.subscribe('d:1:vip', null, () => {})")
    page.clock.run_for(2_000)
    _settled(page)
    assert len(page.evaluate("window.__tries")) == tries  # still waiting its 16 s
    page.clock.run_for(15_000)
    _settled(page)
    assert len(page.evaluate("window.__tries")) == tries + 1
    assert "d%3A1%3Avip" in page.evaluate("window.__urls[window.__urls.length - 1]")
