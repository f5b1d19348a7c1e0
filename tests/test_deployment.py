"""The deployment files agree with the code: entry points exist, JSON/YAML parse."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_railway_config_is_valid_json_with_a_health_check():
    config = json.loads((ROOT / "railway.json").read_text())
    assert config["deploy"]["healthcheckPath"] == "/health"


def test_procfile_runs_the_documented_entry_points():
    procfile = (ROOT / "Procfile").read_text()
    assert '"core.web:create_app()"' in procfile
    assert "python bot.py" in procfile
    assert "python setup_database.py" in procfile


def test_dockerfile_copies_every_entry_point_and_listens_publicly():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for script in ("bot.py", "combined_server.py", "setup_database.py", "health_check.py"):
        assert script in dockerfile
        assert (ROOT / script).is_file()
    assert "HOST=0.0.0.0" in dockerfile


def test_compose_has_healthchecks_for_bot_postgres_and_redis():
    compose = (ROOT / "docker-compose.yml").read_text()
    services = re.findall(r"^  (\w+):$", compose, re.MULTILINE)
    assert {"bot", "postgres", "redis"} <= set(services)
    assert compose.count("healthcheck:") == 3


def test_gunicorn_factory_builds_an_app_from_the_environment(tmp_path, monkeypatch, kick_keys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KICK_WEBHOOK_PUBLIC_KEY", kick_keys[1])
    from core.web import create_app

    app = create_app()
    response = app.test_client().get("/health")
    assert response.status_code == 200


def test_gunicorn_reads_its_limits_from_the_config_file_the_image_ships():
    from gunicorn.config import Config

    settings: dict[str, object] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 - our own config file
    config = Config()
    for name in ("timeout", "keepalive", "limit_request_field_size", "limit_request_fields"):
        config.set(name, settings[name])
    assert config.timeout <= 30
    assert config.limit_request_field_size <= 8190
    assert "gunicorn.conf.py" in (ROOT / "Dockerfile").read_text()
