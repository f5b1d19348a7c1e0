"""A real Runtime wired to a fake Twitch on 127.0.0.1 (its OAuth and Helix)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.config import load_settings
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY, with_migrated_sqlite
from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET, FakeTwitch
from tests.support.loopback_only import NOBODY

BOT_URL = "https://bot.test"
REDIRECT_URI = f"{BOT_URL}/auth/twitch/callback"
EVENTSUB_SECRET = "fake-eventsub-secret-0123456789"


def runtime_on_fake_twitch(
    twitch: FakeTwitch, data_dir: str | Path, clock: Callable[[], datetime], **overrides: str
) -> Runtime:
    """A migrated Runtime (SQLite under ``data_dir`` unless DATABASE_URL is given) with a Twitch
    app on ``twitch``, telling time by ``clock``; Kick's Pusher is off."""
    values = {
        "DATA_DIR": str(data_dir),
        "PORT": "0",
        "TWITCH_API_BASE_URL": twitch.helix_url,
        "TWITCH_OAUTH_BASE_URL": twitch.oauth_url,
        "TWITCH_CLIENT_ID": CLIENT_ID,
        "TWITCH_CLIENT_SECRET": CLIENT_SECRET,
        "TWITCH_EVENTSUB_SECRET": EVENTSUB_SECRET,
        "OAUTH_BASE_URL": BOT_URL,
        "FLASK_SECRET_KEY": "fake-twitch-runtime-secret-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "KICK_PUSHER_ENABLED": "false",
        # Kick is not faked here: its calls (a Kick channel's chat) fail at once on loopback.
        "KICK_API_BASE_URL": NOBODY,
        "KICK_OAUTH_BASE_URL": NOBODY,
        "KICK_SITE_BASE_URL": NOBODY,
        "RAFFLE_BEACON_URL": NOBODY,
        **overrides,
    }
    runtime = Runtime(with_migrated_sqlite(load_settings(values, env_file=None)), clock=clock)
    runtime.migrate()
    return runtime
