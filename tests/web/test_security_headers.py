"""Every answer carries the security headers; pages and sign-in answers are never cached; the
public /health names what fails, never where it is."""

from __future__ import annotations

import logging

import pytest

from core.config import load_settings
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.services import free_port


@pytest.fixture
def client(make_runtime):
    return make_runtime().create_web_app().test_client()


def _assert_common(headers) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/metrics", 200),
        ("GET", "/no-such-page", 404),
        ("POST", "/webhooks/kick", 400),  # no Kick headers
        ("POST", "/webhooks/twitch", 400),  # no Twitch headers
        ("GET", "/webhooks/kick", 405),
    ],
)
def test_json_and_text_answers_may_load_nothing(client, method, path, status) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    _assert_common(response.headers)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.parametrize(
    "path",
    [
        "/auth/kick",
        "/auth/kick/streamer",
        "/auth/kick/callback?state=x&code=y",
        "/",  # the dashboard's landing page, and its other public pages
        "/terms",
        "/privacy",
    ],
)
def test_sign_in_pages_are_html_from_self_only_and_never_stored(client, path) -> None:
    response = client.get(path)
    assert response.mimetype == "text/html"
    _assert_common(response.headers)
    # The sign-in blueprint sets a stricter policy than the pages' default: nothing loads at all.
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith(("default-src 'none'", "default-src 'self'"))
    assert "frame-ancestors 'none'" in policy
    assert "script-src" not in policy or "script-src 'self';" in policy
    assert "http" not in policy  # nothing from another origin
    assert response.headers["Cache-Control"] == "no-store"


def test_public_health_hides_the_detail_and_logs_where(make_runtime, kick_keys, caplog) -> None:
    port = free_port()
    settings = load_settings(
        {
            "DATABASE_URL": f"postgres://sk:s3cret@127.0.0.1:{port}/sk",
            "FLASK_SECRET_KEY": "test-link-secret-a-key-of-32-characters-or-more",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
        },
        env_file=None,
    )
    runtime = Runtime(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="core.web.health"):
            response = runtime.create_web_app().test_client().get("/health")
        assert response.status_code == 503
        assert response.json["status"] == "failing"
        assert response.json["checks"]["database"] == {
            "ok": False,
            "detail": "does not work; the bot's operator sees why in 'python -m core health'",
        }
        assert str(port) not in response.get_data(as_text=True)
        assert "127.0.0.1" not in response.get_data(as_text=True)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert str(port) in logged  # the operator finds where it failed in the log
        assert "s3cret" not in logged
        # the operator's shell keeps the details
        assert any(str(port) in line for line in runtime.health().lines())
    finally:
        runtime.close()


def test_the_areas_kept_out_of_caches_are_areas_the_app_has(make_runtime) -> None:
    """Their answers that are not pages (a redirect with a token, a JSON download) are marked
    no-store by name: a name that is no blueprint's would protect nothing."""
    from core.web.headers import NO_STORE_BLUEPRINTS

    app = make_runtime().create_web_app()
    assert NO_STORE_BLUEPRINTS
    assert sorted(NO_STORE_BLUEPRINTS - set(app.blueprints)) == []
