"""``GET /metrics``: Prometheus text that a Prometheus parser reads, moved by webhooks and ticks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.platforms.kick.signing import signed_headers
from tests.conftest import FIXTURES

GUILD = 111
BROADCASTER = "123456789"  # the broadcaster in Kick's example payloads


@pytest.fixture
def runtime(make_runtime, migrated_database_url):
    runtime = make_runtime(DATABASE_URL=migrated_database_url)
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    return runtime


@pytest.fixture
def client(runtime):
    return runtime.create_web_app().test_client()


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def post_chat(client, kick_keys, message_id: str):
    body = (FIXTURES / "kick" / "chat.message.sent.json").read_bytes()
    headers = signed_headers(
        kick_keys[0], body, event_type="chat.message.sent", message_id=message_id
    )
    return client.post("/webhooks/kick", data=body, headers=headers)


def test_webhooks_move_the_counters_and_the_latency_histogram(client, kick_keys):
    before = scrape(client)
    assert value(before, "streamkeeper_webhook_duration_seconds_count") is None

    assert post_chat(client, kick_keys, "01METRICSMESSAGE0000000001").status_code == 200
    assert post_chat(client, kick_keys, "01METRICSMESSAGE0000000001").status_code == 200
    assert client.post("/webhooks/kick", data=b"[]").status_code == 400
    after = scrape(client)

    kick = {"platform": "kick"}
    received = "streamkeeper_webhooks_received_total"
    assert value(after, received, outcome="queued", **kick) == 1
    assert value(after, received, outcome="duplicate", **kick) == 1
    rejected = "streamkeeper_webhooks_rejected_total"
    assert value(after, rejected, reason="missing_headers", **kick) == 1

    latency = "streamkeeper_webhook_duration_seconds"
    for outcome, count in (("queued", 1), ("duplicate", 1), ("rejected", 1)):
        assert value(after, f"{latency}_count", outcome=outcome, **kick) == count
        assert value(after, f"{latency}_bucket", outcome=outcome, le="+Inf", **kick) == count
        assert value(after, f"{latency}_sum", outcome=outcome, **kick) > 0
    buckets = [
        key for key in after if key[0] == f"{latency}_bucket" and ("outcome", "queued") in key[1]
    ]
    assert len(buckets) > 5


def test_each_guild_tick_is_one_observation_of_the_tick_histogram(runtime, client):
    runtime.guilds.set_kick_channel(222, "gigachad", "333")
    runtime.tick_all(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    runtime.tick_all(datetime(2026, 1, 1, 12, 1, tzinfo=UTC))

    samples = scrape(client)

    tick = "streamkeeper_watchtime_tick_seconds"
    assert value(samples, f"{tick}_count") == 4
    assert value(samples, f"{tick}_bucket", le="+Inf") == 4
    assert value(samples, f"{tick}_bucket", le="30.0") == 4
    assert value(samples, f"{tick}_sum") > 0


def test_metrics_include_the_process(client):
    samples = scrape(client)
    assert value(samples, "process_resident_memory_bytes") > 0
    assert any(name == "python_info" for name, _labels in samples)
