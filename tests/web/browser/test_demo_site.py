"""Issue 46: ``python -m core demo --dashboard`` (what ``make demo DASHBOARD=1`` runs), then a
browser with no Discord account: the demo's sign-in, then every page of the server's
navigation, the member's own page and every overlay, each answering 200 and (the dashboard's)
marked as a demo. The process is the real command on 127.0.0.1, stopped with Ctrl+C (SIGINT).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from core.platforms.http import tls_context
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[3]
STARTS_WITHIN_S = 90  # migrations, the seed and the server, on a loaded machine


@pytest.fixture
def demo(tmp_path):  # type: ignore[no-untyped-def]
    port = free_port()
    log = (tmp_path / "demo.log").open("w")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "core", "demo", "--dashboard", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTS_WITHIN_S
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            try:
                if httpx.get(url + "/", timeout=2, verify=tls_context()).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the demo did not answer: " + (tmp_path / "demo.log").read_text())
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == 0, (tmp_path / "demo.log").read_text()


def test_the_demo_opens_every_page_and_overlay_without_discord(page, demo, shot):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(demo + "/")
    expect(page.locator("#demo-banner")).to_contain_text("Demo.")
    assert page.locator("#login").count() == 0  # no "Log in with Discord" in the demo
    page.click("#demo-sign-in")
    page.wait_for_url(demo + "/dashboard/")
    page.click("text=Demo stream server")
    page.wait_for_url(re.compile(re.escape(demo) + r"/dashboard/\d+/$"))
    guild_paths = page.eval_on_selector_all(
        "nav.guild-nav a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(guild_paths) >= 13  # the overview and every area, the alerts page among them
    assert any(path.endswith("/alerts/") for path in guild_paths)
    for path in [*guild_paths, "/dashboard/", "/me/"]:
        response = page.goto(demo + path)
        assert response is not None, path
        assert response.status == 200, path
        expect(page.locator("#demo-banner")).to_be_visible()
        assert "Log in" not in page.locator("header").inner_text(), path
    shot(page, "demo-me")
    page.goto(demo + guild_paths[0] + "alerts/")
    expect(page.locator("#goal-now")).to_contain_text("Road to 50")
    assert page.locator("#replay-list li").count() >= 5  # the seeded stream's events
    page.goto(demo + guild_paths[0] + "overlays/")
    overlays = page.eval_on_selector_all(
        ".overlay-card input[readonly]", "inputs => inputs.map(i => i.value)"
    )
    assert len(overlays) == 4
    for url in overlays:
        assert url.startswith(demo + "/overlay/"), url
        response = page.goto(url)
        assert response is not None, url
        assert response.status == 200, url
        expect(page.locator("body")).to_have_attribute("data-live", "yes", timeout=10_000)


def test_a_port_in_use_is_one_plain_line(tmp_path):  # type: ignore[no-untyped-def]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "core", "demo", "--dashboard", "--port", str(port)]
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=STARTS_WITHIN_S
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Cannot listen on 127.0.0.1:{port}: another program uses that port" in done.stderr
    assert "set --port (make demo DASHBOARD=1 PORT=...) to a free port" in done.stderr
    assert done.stdout == ""  # an error, not output
    assert "Traceback" not in done.stdout + done.stderr
