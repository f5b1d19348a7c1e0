"""Metrics on prometheus-client: one registry per instance, and the numbers of several processes
summed through ``PROMETHEUS_MULTIPROC_DIR`` (the gunicorn deployment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.config import SettingsError
from core.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]

# One worker process: counts ``webhooks`` rejected webhooks and one tick, then, when asked,
# prints what /metrics would serve from it.
WORKER = """
import sys
from core.config import SettingsError
from core.metrics import Metrics

metrics = Metrics()
for _ in range(int(sys.argv[1])):
    metrics.webhooks_rejected.inc(platform="kick", reason="bad_signature")
metrics.tick_duration.observe(float(sys.argv[2]))
if sys.argv[3] == "render":
    sys.stdout.write(metrics.render().decode())
"""


def families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return None


def run_worker(directory: Path | None, webhooks: int, tick: float, *, render: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    if directory is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    args = [str(webhooks), str(tick), "render" if render else "quiet"]
    result = subprocess.run(
        [sys.executable, "-c", WORKER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_two_instances_in_one_process_keep_their_own_numbers():
    first, second = Metrics(), Metrics()
    first.webhooks_received.inc(platform="kick", outcome="queued")
    first.webhooks_received.inc(platform="kick", outcome="queued")
    second.webhooks_received.inc(platform="kick", outcome="duplicate")

    assert first.webhooks_received.value(platform="kick", outcome="queued") == 2
    assert first.webhooks_received.value(platform="kick", outcome="duplicate") == 0
    assert second.webhooks_received.total() == 1
    text = second.render().decode()
    queued = {"platform": "kick", "outcome": "queued"}
    assert sample(text, "streamkeeper_webhooks_received_total", **queued) is None


def test_a_wrong_label_name_raises_instead_of_opening_a_new_series():
    metrics = Metrics()
    with pytest.raises(ValueError, match="label"):
        metrics.webhooks_rejected.inc(platform="kick", reasn="bad_signature")


def test_render_is_prometheus_text_with_process_metrics_and_histogram_buckets():
    metrics = Metrics()
    metrics.tick_duration.observe(0.03)
    metrics.tick_duration.observe(2.0)

    text = metrics.render().decode()
    found = families(text)

    assert found["streamkeeper_watchtime_tick_seconds"].type == "histogram"
    assert sample(text, "streamkeeper_watchtime_tick_seconds_count") == 2
    assert sample(text, "streamkeeper_watchtime_tick_seconds_sum") == pytest.approx(2.03)
    assert sample(text, "streamkeeper_watchtime_tick_seconds_bucket", le="0.05") == 1
    assert sample(text, "streamkeeper_watchtime_tick_seconds_bucket", le="+Inf") == 2
    assert "process_cpu_seconds_total" in text  # ProcessCollector, on Linux
    assert "python_info" in found  # PlatformCollector
    assert not any(name.endswith("_created") for name in found)


def test_two_processes_writing_to_one_multiprocess_dir_are_summed(tmp_path):
    run_worker(tmp_path, 2, 0.02, render=False)  # a worker that has since exited
    text = run_worker(tmp_path, 3, 0.3, render=True)  # the one the scrape reached

    labels = {"platform": "kick", "reason": "bad_signature"}
    assert sample(text, "streamkeeper_webhooks_rejected_total", **labels) == 5
    assert sample(text, "streamkeeper_watchtime_tick_seconds_count") == 2
    assert sample(text, "streamkeeper_watchtime_tick_seconds_bucket", le="0.025") == 1
    assert sample(text, "streamkeeper_watchtime_tick_seconds_sum") == pytest.approx(0.32)
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process


def test_without_a_multiprocess_dir_each_process_reports_only_its_own_share():
    text = run_worker(None, 3, 0.3, render=True)
    labels = {"platform": "kick", "reason": "bad_signature"}
    assert sample(text, "streamkeeper_webhooks_rejected_total", **labels) == 3
    assert "process_cpu_seconds_total" in text


def test_a_multiprocess_dir_that_is_not_a_folder_stops_the_start_with_one_plain_line(tmp_path):
    missing = tmp_path / "nope"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PROMETHEUS_MULTIPROC_DIR=str(missing))
    env.update(DATA_DIR=str(tmp_path / "data"), PORT="0")
    result = subprocess.run(
        [sys.executable, "-m", "core", "web"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"PROMETHEUS_MULTIPROC_DIR must be a folder, got '{missing}'\n"


def test_a_multiprocess_dir_set_after_import_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(SettingsError, match="before the process starts"):
        Metrics()
