"""``gunicorn.conf.py``: under gunicorn, ``/metrics`` counts what every worker did, including
workers that have since been replaced, and nothing from an earlier run.

gunicorn runs for real on 127.0.0.1 with one worker that is replaced every few requests
(``--max-requests``), so each scrape is answered by a worker that saw only part of the traffic.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.platforms.http import tls_context
from tests.services import free_port
from tests.support.waiting import PROCESS_HANG_SECONDS
from tests.test_metrics import run_worker

pytestmark = pytest.mark.slow  # gunicorn runs as a process of its own

ROOT = Path(__file__).resolve().parents[1]
REJECTED = "streamkeeper_webhooks_rejected_total"
# With the health check and the scrape, 10 requests to workers replaced after 3: a gthread
# worker may accept one connection more before it stops (the client sends the next as soon as
# it has the answer), so at most 4 each, and at least 3 workers serve.
WEBHOOKS = 8


@pytest.fixture
def gunicorn_env(tmp_path, kick_keys) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KICK_", "DISCORD_", "DATABASE_", "REDIS_", "PORT", "HOST"))
        and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DATA_DIR=str(tmp_path / "data"),
        KICK_WEBHOOK_PUBLIC_KEY=kick_keys[1],
        TMPDIR=str(tmp_path / "tmp"),
    )
    (tmp_path / "tmp").mkdir()
    return env


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")]
    command += ["--workers", "1", "--max-requests", "3", "--bind", f"127.0.0.1:{port}"]
    command.append("core.wsgi:create_app()")
    return subprocess.Popen(
        command,
        env=env,
        cwd=Path(env["DATA_DIR"]).parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def wait_until_served(url: str, process: subprocess.Popen) -> None:
    """One patient request once the socket is bound: a request that timed out would still be
    served later and count towards ``--max-requests``."""
    deadline = time.monotonic() + PROCESS_HANG_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited early with {process.returncode}")
        try:
            httpx.get(f"{url}/health", timeout=60, verify=tls_context()).raise_for_status()
            return
        except httpx.ConnectError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer in time")


def serve_and_scrape(env: dict[str, str]) -> tuple[dict, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_gunicorn(env, port)
    try:
        wait_until_served(url, process)
        for _ in range(WEBHOOKS):  # no signature headers: 400, counted as rejected
            response = httpx.post(
                f"{url}/webhooks/kick", content=b"{}", timeout=60, verify=tls_context()
            )
            assert response.status_code == 400
        response = httpx.get(f"{url}/metrics", timeout=60, verify=tls_context())
        assert response.status_code == 200
    finally:
        output = stop(process)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return samples, output


def test_metrics_sum_every_worker_and_forget_an_earlier_run(gunicorn_env, tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    run_worker(directory, 4, 0.1, render=False)  # what a previous run left behind
    gunicorn_env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)

    samples, output = serve_and_scrape(gunicorn_env)

    kick = (("platform", "kick"),)
    assert samples.get((REJECTED, (*kick, ("reason", "missing_headers")))) == WEBHOOKS, output
    assert (REJECTED, (*kick, ("reason", "bad_signature"))) not in samples  # the earlier run
    latency = ("streamkeeper_webhook_duration_seconds_count", (("outcome", "rejected"), *kick))
    assert samples.get(latency) == WEBHOOKS
    assert len(list(directory.glob("counter_*.db"))) >= 3  # every worker that served left one
    assert directory.is_dir()  # the operator's directory is kept


def test_without_a_directory_one_is_made_for_the_run_and_removed_after(gunicorn_env, tmp_path):
    samples, output = serve_and_scrape(gunicorn_env)

    kick = (("platform", "kick"),)
    assert samples.get((REJECTED, (*kick, ("reason", "missing_headers")))) == WEBHOOKS, output
    assert list((tmp_path / "tmp").glob("streamkeeper-metrics-*")) == []


def test_a_kick_key_that_cannot_be_loaded_stops_gunicorn_in_one_line(gunicorn_env):
    gunicorn_env["KICK_WEBHOOK_PUBLIC_KEY"] = "~no_such_user_here/kick.pem"

    process = start_gunicorn(gunicorn_env, 0)
    output, _ = process.communicate(timeout=60)

    assert process.returncode != 0
    assert "KICK_WEBHOOK_PUBLIC_KEY: no home directory for '~no_such_user_here/kick.pem'" in output
    assert "Traceback" not in output


def test_a_data_dir_that_cannot_be_used_stops_gunicorn_in_one_line(gunicorn_env, tmp_path):
    """Found as the worker builds the app (gunicorn.conf.py reads settings, not folders): the
    line once, and gunicorn stops instead of starting the worker again."""
    (tmp_path / "a-file").write_text("")
    gunicorn_env["DATA_DIR"] = str(tmp_path / "a-file")

    process = start_gunicorn(gunicorn_env, 0)
    output, _ = process.communicate(timeout=60)

    assert process.returncode != 0
    assert output.count(f"DATA_DIR {str(tmp_path / 'a-file')!r} cannot be used") == 1, output
    assert "App failed to load" in output
    assert "Traceback" not in output
