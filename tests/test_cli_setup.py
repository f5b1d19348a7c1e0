"""``python -m core web`` logs the setup page's address with its one-time token once at start;
the token opens the page once, over real HTTP."""

from __future__ import annotations

import queue
import re
import threading
import time

import httpx

from core.platforms.http import tls_context
from tests.services import free_port
from tests.support.waiting import PROCESS_HANG_SECONDS
from tests.test_cli import _start, cli_env  # noqa: F401 (cli_env: the fixture)

SETUP_LINE = re.compile(r"Set up StreamKeeper in your browser: (http://\S+/setup\?token=(\S+))")


def _wait_for_line(  # type: ignore[no-untyped-def]
    lines: queue.Queue[str], pattern: re.Pattern[str], timeout: float = PROCESS_HANG_SECONDS
):
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        found = pattern.search(line)
        if found:
            return found, seen
    raise AssertionError("no setup line in the log:\n" + "".join(seen))


def test_web_logs_the_setup_address_and_its_token_opens_the_page_once(cli_env):  # noqa: F811
    port = free_port()
    cli_env.update(PORT=str(port), DISCORD_CLIENT_SECRET="a-discord-client-secret-value")
    process = _start(cli_env, "web")
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in iter(process.stdout.readline, "")],  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        found, _seen = _wait_for_line(lines, SETUP_LINE)
        url, token = found.group(1), found.group(2)
        assert url == f"http://127.0.0.1:{port}/setup?token={token}"
        forwarded = {"X-Forwarded-For": "198.51.100.4"}  # as a reverse proxy would send it
        with httpx.Client(headers=forwarded, timeout=10, verify=tls_context()) as browser:
            assert browser.get(f"http://127.0.0.1:{port}/setup").status_code == 404
            opened = browser.get(url, follow_redirects=True)
            assert opened.status_code == 200
            assert "Discord client secret" in opened.text
        with httpx.Client(headers=forwarded, timeout=10, verify=tls_context()) as other_browser:
            assert other_browser.get(url).status_code == 404
    finally:
        process.terminate()
        process.wait(30)
        reader.join(5)
        process.stdout.close()  # type: ignore[union-attr]
    output = "".join(lines.queue)
    assert "a-discord-client-secret-value" not in output
    assert _seen[-1].count(token) == 1
