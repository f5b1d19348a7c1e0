"""A real Runtime wired to a fake Kick on 127.0.0.1: its API, OAuth, site and webhook key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.config import load_settings
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY, with_migrated_sqlite
from tests.fakes.kick_server import CLIENT_ID, CLIENT_SECRET, FakeKick

BOT_URL = "http://bot.test"


def runtime_on_fake_kick(
    kick: FakeKick, data_dir: str | Path, clock: Callable[[], datetime], **overrides: str
) -> Runtime:
    """A migrated Runtime on SQLite under ``data_dir`` with a Kick app on ``kick``, telling time
    by ``clock``. Its web server, if started, takes a free port; Pusher is off."""
    values = {
        "DATA_DIR": str(data_dir),
        "PORT": "0",
        "KICK_API_BASE_URL": kick.url,
        "KICK_OAUTH_BASE_URL": kick.url,
        "KICK_SITE_BASE_URL": kick.url,
        "KICK_CLIENT_ID": CLIENT_ID,
        "KICK_CLIENT_SECRET": CLIENT_SECRET,
        "KICK_WEBHOOK_PUBLIC_KEY": kick.public_key_pem,
        "OAUTH_BASE_URL": BOT_URL,
        "FLASK_SECRET_KEY": "fake-kick-runtime-secret-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "KICK_PUSHER_ENABLED": "false",
        **overrides,
    }
    runtime = Runtime(with_migrated_sqlite(load_settings(values, env_file=None)), clock=clock)
    runtime.migrate()
    return runtime
