"""The public proof page's check in a browser: what a viewer waits for after "Verify in your
browser" on the page of the pages bench's last closed period (benchmarks/pages_seed.py).

The web app the pages bench built is served on loopback (tests/support/wsgi_server.py, as the
browser tests serve it); Debian's chromium (tests/web/browser/chromium.py) opens the period's
page and waits for its verifier and the BLS library, then each round clicks the button and
times until the result shows: the download of the proof and the ledger, the ledger's hash,
every draw picked again. ``ROUNDS`` rounds on a page loaded afresh each time, so the browser's
cache of the two files is the only thing carried over (as for a viewer who checks twice).

Then the same page's verifier (``window.streamkeeperVerify``) on a small period drawn from a real
published round of each pinned drand chain (tests/features/raffle/drand_scenario.py, on a
throwaway SQLite file): the beacon's BLS signature checked in the browser, which the pages
bench's forced draws do not need. Anything but a match is a problem of the run, not a missed
target.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from flask import Flask

from core.features.raffle.beacons.chains import DEFAULT, QUICKNET
from core.storage.db import create_engine
from tests.conftest import migrated_sqlite_file
from tests.features.raffle.drand_scenario import ROUNDS as DRAND_ROUNDS
from tests.features.raffle.drand_scenario import signed_proof
from tests.services import free_port
from tests.support.wsgi_server import serving
from tests.web.browser.chromium import CHROMIUM, CHROMIUM_FLAGS

TARGET_SECONDS = 5.0  # from the click to the answer, median of the rounds
ROUNDS = 3
_LOADED = "() => typeof window.streamkeeperVerify === 'function' && !!window.nobleBls12381"
_ANSWER = "#verify-result .match, #verify-result .mismatch"
_VERIFY = """async ([proof, ledger]) => {
    const started = performance.now();
    const outcome = await window.streamkeeperVerify(proof, ledger);
    return [performance.now() - started, outcome.problems];
}"""
PAGE = "the period's page"


def browser_check(
    app: Flask, period_id: int, workdir: Path, problems: list[str]
) -> dict[str, list[float]]:
    """Seconds per round: from the click to the answer on the period's page (``PAGE``), and of
    the verifier on a proof signed by each pinned chain (by the chain's name). ``problems``
    gets what went wrong (no chromium, no Playwright, an answer other than a match)."""
    if not Path(CHROMIUM).is_file():
        problems.append(f"proof check: chromium is missing ({CHROMIUM}); run 'make services'")
        return {}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problems.append("proof check: Playwright is missing (pip install -r requirements-dev.txt)")
        return {}
    signed = _signed_proofs(workdir)
    times: dict[str, list[float]] = {PAGE: []}
    with serving(app, free_port()) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            for _ in range(ROUNDS):
                page.goto(f"{url}/raffle/{period_id}")
                page.wait_for_function(_LOADED)
                started = time.perf_counter()
                page.click("#verify")
                page.wait_for_selector(_ANSWER)
                times[PAGE].append(time.perf_counter() - started)
                answer = page.inner_text("#verify-result")
                if not answer.startswith("match"):
                    problems.append(f"proof check: the page answered {answer[:300]!r}")
                    return times
            for name, (proof, ledger) in signed.items():
                times[name] = []
                for _ in range(ROUNDS):
                    ms, found = page.evaluate(_VERIFY, [proof, ledger])
                    if found:
                        problems.append(f"proof check: the {name} proof failed: {found}")
                        break
                    times[name].append(ms / 1000)
        finally:
            browser.close()
    return times


def _signed_proofs(workdir: Path) -> dict[str, tuple[str, str]]:
    """A proof and its ledger (JSON text) drawn from the first published round of each pinned
    chain, each on a SQLite file of its own."""
    found = {}
    for chain in (QUICKNET, DEFAULT):
        path = migrated_sqlite_file(workdir / f"signed-{chain.name}.sqlite3")
        engine = create_engine(f"sqlite:///{path}")
        try:
            row = DRAND_ROUNDS[chain.name]["rounds"][0]
            proof, ledger = signed_proof(engine, chain, row)
        finally:
            engine.dispose()
        found[f"a {chain.name}-signed proof"] = (json.dumps(proof), json.dumps(ledger))
    return found
