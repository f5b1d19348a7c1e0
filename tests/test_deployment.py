"""The deployment files agree with the code: entry points exist, JSON/YAML parse, every package
the code imports is pinned."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"core", "tests", "benchmarks"}


def _imported_packages(*paths: Path) -> set[str]:
    """Top-level names of the third-party modules imported anywhere under ``paths``."""
    files = [file for path in paths for file in ([path] if path.is_file() else path.rglob("*.py"))]
    names: set[str] = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in OURS}


def _pinned(requirements: Path) -> set[str]:
    """Distribution names pinned with ``==`` in a requirements file and the files it includes."""
    pinned: set[str] = set()
    for line in requirements.read_text().splitlines():
        line = line.partition("#")[0].strip()
        if line.startswith("-r "):
            pinned |= _pinned(requirements.parent / line[3:].strip())
        elif "==" in line:
            pinned.add(_canonical(re.split(r"[\[=]", line, maxsplit=1)[0]))
    return pinned


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@pytest.mark.parametrize(
    ("requirements", "code"),
    [
        (
            "requirements.txt",
            ["core", "bot.py", "combined_server.py", "setup_database.py", "health_check.py"],
        ),
        ("requirements-dev.txt", ["core", "benchmarks", "tests"]),
    ],
)
def test_every_package_the_code_imports_is_pinned(requirements, code):
    distributions = importlib.metadata.packages_distributions()
    pinned = _pinned(ROOT / requirements)
    unpinned = {
        module: distributions.get(module, ["(not installed)"])
        for module in _imported_packages(*(ROOT / path for path in code))
        if not pinned & {_canonical(name) for name in distributions.get(module, [])}
    }
    assert unpinned == {}, f"imported but not pinned in {requirements}"


def test_railway_config_is_valid_json_with_a_health_check():
    config = json.loads((ROOT / "railway.json").read_text())
    assert config["deploy"]["healthcheckPath"] == "/health"


def test_procfile_runs_the_documented_entry_points():
    procfile = (ROOT / "Procfile").read_text()
    assert '"core.wsgi:create_app()"' in procfile
    assert "python bot.py" in procfile
    assert "python setup_database.py" in procfile
    assert "--config gunicorn.conf.py" in procfile  # metrics summed over the web workers


def test_dockerfile_copies_every_entry_point_and_listens_publicly():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for script in (
        "bot.py",
        "combined_server.py",
        "setup_database.py",
        "health_check.py",
        "gunicorn.conf.py",
    ):
        assert script in dockerfile
        assert (ROOT / script).is_file()
    assert "HOST=0.0.0.0" in dockerfile


def test_compose_has_healthchecks_for_bot_postgres_and_redis():
    compose = (ROOT / "docker-compose.yml").read_text()
    services = re.findall(r"^  (\w+):$", compose, re.MULTILINE)
    assert {"bot", "postgres", "redis"} <= set(services)
    assert compose.count("healthcheck:") == 3


@pytest.mark.parametrize("module", ["core.wsgi", "core.web"])  # the second is DESIGN.md's form
def test_gunicorn_factory_builds_an_app_from_the_environment(
    tmp_path, monkeypatch, kick_keys, module
):
    """``gunicorn "core.wsgi:create_app()"`` (the Procfile's) and ``"core.web:create_app()"``
    (DESIGN.md's entry point) both serve the app built from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KICK_WEBHOOK_PUBLIC_KEY", kick_keys[1])

    app = importlib.import_module(module).create_app()
    response = app.test_client().get("/health")
    assert response.status_code == 200


def test_gunicorn_reads_its_limits_from_the_config_file_the_image_ships(tmp_path, monkeypatch):
    from gunicorn.config import Config

    # The file sets PROMETHEUS_MULTIPROC_DIR when it is not set; keep that out of this process,
    # whose metrics would otherwise switch to multiprocess mode for every later test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings: dict[str, object] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 - our own config file
    config = Config()
    for name in ("timeout", "keepalive", "limit_request_field_size", "limit_request_fields"):
        config.set(name, settings[name])
    assert config.timeout <= 30
    assert config.limit_request_field_size <= 8190
    assert "gunicorn.conf.py" in (ROOT / "Dockerfile").read_text()


def _gunicorn_settings(tmp_path, monkeypatch) -> dict[str, object]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # as above
    settings: dict[str, object] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 - our own config file
    return settings


def test_gunicorn_gives_each_worker_the_threads_the_app_counts_on_from_env_file_too(
    tmp_path, monkeypatch
):
    """The app reads .env; a worker's threads must come from the same settings, or open
    dashboards (LIVE_MAX_STREAMS of them) could take the threads webhooks are answered on."""
    for name in ("WEB_THREADS", "LIVE_MAX_STREAMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("WEB_THREADS=4\nLIVE_MAX_STREAMS=40\n")
    assert _gunicorn_settings(tmp_path, monkeypatch)["threads"] == 44
    monkeypatch.setenv("LIVE_MAX_STREAMS", "10")  # the environment wins, as for the app
    assert _gunicorn_settings(tmp_path, monkeypatch)["threads"] == 14
    monkeypatch.setenv("LIVE_MAX_STREAMS", "lots")
    with pytest.raises(SystemExit, match="LIVE_MAX_STREAMS"):
        _gunicorn_settings(tmp_path, monkeypatch)
