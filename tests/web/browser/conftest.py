"""Browser tests: Playwright driving Debian's chromium (/usr/bin/chromium, installed by
``make test`` through scripts/install-test-services.sh) against the real web app on loopback,
with a fake Discord OAuth2 and API (tests/fakes/discord_oauth.py).

Nothing here skips: without chromium or Playwright the tests fail and say how to install them.
A failing test leaves a screenshot of its page under its pytest temp dir (``failure.png``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from core.config import load_settings
from core.runtime import Runtime
from core.web.dashboard import Dashboard
from core.web.dashboard.config import ProofFiles
from tests.conftest import TEST_FERNET_KEY, with_migrated_sqlite
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, FakeDiscordOAuth
from tests.services import free_port
from tests.support.loopback_only import NOBODY
from tests.support.wsgi_server import serving
from tests.web.browser.chromium import CHROMIUM, CHROMIUM_FLAGS

if TYPE_CHECKING:  # imported by the fixtures, which say how to install it when it is missing
    from playwright.sync_api import Page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "raffle"
FIXTURE_PERIOD = 1


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    # Per module, not per session: Playwright's sync API keeps an asyncio loop running in this
    # thread while it is started, and every asyncio test after it would fail
    # ("asyncio.run() cannot be called from a running event loop").
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"chromium is missing ({CHROMIUM}): run 'make services' (it installs Debian's "
            "chromium package) or set CHROMIUM_PATH",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -r requirements-dev.txt", pytrace=False)
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh, empty user-data directory of its own.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, request, tmp_path):  # type: ignore[no-untyped-def]
    page = _new_page(browser)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failing page: {shot}")  # noqa: T201
    page.context.close()


@pytest.fixture
def shot():  # type: ignore[no-untyped-def]
    """Screenshot a page into $SCREENSHOT_DIR when it is set and ``keep`` (how
    docs/dashboard-*.png and docs/screenshots/ are made: ``make screenshots``), else nowhere: no
    test reads them, and a full-page screenshot is the browser's dearest step (a failing test's
    page is still kept, as ``failure.png``)."""

    def take(page, name: str, *, keep: bool = True) -> Path | None:  # type: ignore[no-untyped-def]
        folder = os.environ.get("SCREENSHOT_DIR")
        if not (keep and folder):
            return None
        path = Path(folder, f"{name}.png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def discord() -> Iterator[FakeDiscordOAuth]:
    with FakeDiscordOAuth() as fake:
        yield fake


def fixture_export(period_id: int):  # type: ignore[no-untyped-def]
    """The exported proof and ledger in tests/fixtures/raffle/, as the runtime would give them."""
    if period_id != FIXTURE_PERIOD:
        raise LookupError(period_id)
    proof = json.loads((FIXTURES / "raffle-1-proof.json").read_text("utf-8"))
    ledger = json.loads((FIXTURES / "raffle-1-ledger.json").read_text("utf-8"))
    return proof, ledger


def proof_files(proof: dict, ledger: dict) -> ProofFiles:
    """The (proof, ledger) documents as the dashboard's raffle export hands them over."""
    return ProofFiles(proof, len(ledger["entries"]), lambda: ledger)


class DashboardSite:
    def __init__(self, runtime: Runtime, url: str, app: Flask) -> None:
        self.runtime = runtime
        self.url = url
        self.app = app
        # More published periods: period id -> (proof, ledger), served beside the fixture's.
        self.exports: dict[int, tuple[dict, dict]] = {}

    def export(self, period_id: int):  # type: ignore[no-untyped-def]
        if period_id in self.exports:
            return self.exports[period_id]
        return fixture_export(period_id)

    @property
    def dashboard(self) -> Dashboard:
        return self.app.extensions["dashboard"]


@pytest.fixture
def site_settings() -> dict[str, str]:
    """More settings for ``site`` (a test module overrides this fixture)."""
    return {}


@pytest.fixture
def site(tmp_path, discord, site_settings) -> Iterator[DashboardSite]:
    """The real web app of a Runtime on SQLite, served on 127.0.0.1, logging in at the fake
    Discord; raffle period 1 is the fixture proof."""
    with served_site(tmp_path / "data", discord, site_settings) as served:
        yield served


@contextmanager
def served_site(
    data_dir: Path, discord: FakeDiscordOAuth, settings: dict[str, str]
) -> Iterator[DashboardSite]:
    """What ``site`` serves, for fixtures of any scope."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    values = {
        "DATA_DIR": str(data_dir),
        "OAUTH_BASE_URL": url,
        "FLASK_SECRET_KEY": "browser-tests-secret-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "KICK_PUSHER_ENABLED": "false",
        "DISCORD_CLIENT_ID": CLIENT_ID,
        "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
        "DISCORD_API_BASE_URL": discord.api_base_url,
        "DISCORD_OAUTH_BASE_URL": discord.oauth_base_url,
        "OPERATOR_NAME": "Ana Operator",
        "OPERATOR_CONTACT": "privacy@operator.example",
        "RAFFLE_BEACON_URL": NOBODY,  # no drand relay: a draw waits, or is forced
        **settings,
    }
    runtime = Runtime(with_migrated_sqlite(load_settings(values, env_file=None)))
    runtime.migrate()
    services = runtime.web_services()
    assert services.dashboard is not None
    exports: dict[str, DashboardSite] = {}
    services = replace(
        services,
        dashboard=replace(
            services.dashboard,
            raffle_export=lambda period_id: proof_files(*exports["site"].export(period_id)),
        ),
    )
    from core.web.app import create_app

    app = create_app(services)
    try:
        with serving(app, port):
            exports["site"] = DashboardSite(runtime, url, app)
            yield exports["site"]
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def proof_verifier(browser, tmp_path_factory) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """One proof page (the fixture's period 1), loaded once for the module, whose verifier
    (``window.streamkeeperVerify``, with the BLS library) the tests call on proofs of their
    own. The function reads nothing of the page, so the tests can share it: loading the page
    and compiling the BLS library again for each of them was most of their time."""
    with (
        FakeDiscordOAuth() as discord,
        served_site(tmp_path_factory.mktemp("verifier") / "data", discord, {}) as served,
    ):
        page = _new_page(browser)
        open_proof_page(page, served.url)
        yield page
        page.context.close()


def _new_page(browser):  # type: ignore[no-untyped-def]
    """A page in a context of its own, at the tests' desktop size."""
    page = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.set_default_timeout(10_000)
    return page


def open_proof_page(page: Page, url: str, period_id: int = 1) -> None:
    """A period's public proof page, once its verifier and the BLS library are loaded."""
    page.goto(f"{url}/raffle/{period_id}")
    page.wait_for_function(
        "() => typeof window.streamkeeperVerify === 'function' && !!window.nobleBls12381"
    )
