"""The real web app of a Runtime on SQLite, driven with Flask's test client; a logged-in
session is made the way the callback makes one (a sealed token in the cookie) for a token the
fake Discord (tests/fakes/discord_oauth.py) answers for, so every permission check is real."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.config import load_settings
from core.runtime import Runtime
from core.web.dashboard import Dashboard
from core.web.dashboard.security import CSRF_FIELD
from tests.conftest import TEST_FERNET_KEY, with_migrated_sqlite
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth

GUILD = 111111111111111111
OTHER_GUILD = 222222222222222222  # the bot serves it; the admin may not manage it
ADMIN = 900000000000000001
VIEWER = 900000000000000002


@dataclass
class Site:
    runtime: Runtime
    app: Flask
    discord: FakeDiscordOAuth

    @property
    def dashboard(self) -> Dashboard:
        return self.app.extensions["dashboard"]

    def client(self, user_id: int = ADMIN, name: str = "ana",
               manages: tuple[int, ...] = (GUILD,)) -> FlaskClient:  # fmt: skip
        """A test client logged in as ``user_id``, who may manage ``manages`` (and is a plain
        member of the other guilds the bot serves), as the fake Discord says."""
        user = self.discord.add_user(user_id, name)
        for guild_id in (GUILD, OTHER_GUILD):
            user.member_of(guild_id, str(guild_id), MANAGE_GUILD if guild_id in manages else 0)
        token = f"token-of-{user_id}"
        self.discord.tokens[token] = user_id
        client = self.app.test_client()
        with client.session_transaction() as session:
            session["sid"] = self.dashboard.sessions.start(user_id, timedelta(hours=8))
            session["uid"] = user_id
            session["name"] = name
            session["tok"] = self.dashboard.tokens.seal(token)
            session["csrf"] = CSRF
        return client


CSRF = "csrf-token-of-the-test-session"


def post(client: FlaskClient, path: str, follow_redirects: bool = False, **form: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={CSRF_FIELD: CSRF, **form}, follow_redirects=follow_redirects)


@pytest.fixture
def discord() -> Iterator[FakeDiscordOAuth]:
    with FakeDiscordOAuth() as fake:
        yield fake


@pytest.fixture
def site_settings() -> dict[str, str]:
    """Settings a test module adds to the site's (it overrides this fixture)."""
    return {}


@pytest.fixture
def site(tmp_path, discord, site_settings) -> Iterator[Site]:
    values = {
        "DATA_DIR": str(tmp_path / "data"),
        "OAUTH_BASE_URL": "http://dash.test",
        "FLASK_SECRET_KEY": "dashboard-tests-secret-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "KICK_PUSHER_ENABLED": "false",
        "DISCORD_CLIENT_ID": CLIENT_ID,
        "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
        "DISCORD_API_BASE_URL": discord.api_base_url,
        "DISCORD_OAUTH_BASE_URL": discord.oauth_base_url,
        **site_settings,
    }
    runtime = Runtime(with_migrated_sqlite(load_settings(values, env_file=None)))
    runtime.migrate()
    runtime.guilds.ensure_guild(GUILD, "Managed")
    runtime.guilds.ensure_guild(OTHER_GUILD, "Other")
    from core.web.app import create_app

    app = create_app(runtime.web_services())
    try:
        yield Site(runtime, app, discord)
    finally:
        runtime.close()
