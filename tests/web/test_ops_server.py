"""A bot process's own ``/health`` and ``/metrics`` (``BOT_METRICS_PORT``, core/web/ops.py), on a
real server on loopback: what they answer, the token they want, and that nothing else is there.
The whole split deployment scraping a bot process is in tests/test_cli.py."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "bot-scrape-token-0123456789"


@pytest.fixture
def ops(make_runtime):
    """A bot process's runtime with its ops server started (a free port on 127.0.0.1)."""
    runtime = make_runtime(BOT_METRICS_PORT="0", METRICS_TOKEN=TOKEN)
    server = runtime.start_ops_server()
    assert server is not None
    yield runtime, server.url
    server.close()


def _get(url: str, *, token: str | None = TOKEN) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.get(url, headers=headers, timeout=10)


def test_without_the_setting_a_bot_process_serves_nothing(make_runtime):
    assert make_runtime().start_ops_server() is None


def test_it_listens_on_loopback_and_answers_health_as_the_web_side_does(ops):
    runtime, url = ops
    assert url.startswith("http://127.0.0.1:")
    answer = _get(f"{url}/health", token=None)
    assert answer.status_code == 200
    assert answer.json() == runtime.health().as_json()
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_its_metrics_are_the_process_counters_a_scraper_reads(ops):
    runtime, url = ops
    runtime.metrics.events_handled.inc(kind="chat_message_sent")
    answer = _get(f"{url}/metrics")
    assert answer.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    handled = ("streamkeeper_events_handled_total", (("kind", "chat_message_sent"),))
    assert samples[handled] == 1
    # the process's own CPU and memory come with it, as in a `run` process
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_scrape_without_the_token_is_refused(ops, token):
    _, url = ops
    answer = _get(f"{url}/metrics", token=token)
    assert answer.status_code == 401
    assert "streamkeeper_" not in answer.text
    assert TOKEN not in answer.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/dashboard"), ("POST", "/webhooks/kick"),
     ("POST", "/webhooks/twitch"), ("GET", "/auth/kick"), ("GET", "/setup")],
)  # fmt: skip
def test_nothing_but_health_and_metrics_is_served(ops, method, path):
    _, url = ops
    answer = httpx.request(method, f"{url}{path}", content=b"{}", timeout=10)
    assert answer.status_code == 404
    assert answer.json()["status"] == "error"
