"""The settings pages through Flask's test client: the dashboard on real services (real
databases), logged in through the fake Discord OAuth, and a CSRF token read from the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.platforms.http import tls_context
from core.web import overlays
from core.web.dashboard import register
from core.web.dashboard.config import DashboardConfig
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth

PUBLIC = "http://dash.test"
ADMIN_ID = 900000000000000001
OTHER_GUILD = 777777777777777777  # the bot serves it; the user may not manage it
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Pages:
    """A logged-in test client for one guild's pages."""

    def __init__(self, client: FlaskClient, guild_id: int) -> None:
        self.client = client
        self.guild_id = guild_id

    def url(self, area: str, path: str = "", guild_id: int | None = None) -> str:
        return f"/dashboard/{guild_id or self.guild_id}/{area}/{path}"

    def get(self, area: str, path: str = "", guild_id: int | None = None):  # type: ignore[no-untyped-def]
        return self.client.get(self.url(area, path, guild_id))

    def csrf(self, area: str) -> str:
        page = self.get(area)
        assert page.status_code == 200, page.text
        match = _CSRF.search(page.text)
        assert match is not None
        return match.group(1)

    def post(
        self,
        area: str,
        path: str,
        data: dict[str, str],
        *,
        csrf: bool = True,
        guild_id: int | None = None,
    ):  # type: ignore[no-untyped-def]
        form = dict(data)
        if csrf:
            form["csrf_token"] = self.csrf(area)
        return self.client.post(self.url(area, path, guild_id), data=form)


@pytest.fixture
def discord() -> Iterator[FakeDiscordOAuth]:
    with FakeDiscordOAuth() as fake:
        yield fake


def log_in(
    app: Flask, discord: FakeDiscordOAuth, guild_id: int, *, icon: str | None = None
) -> Pages:
    user = discord.add_user(ADMIN_ID, "ana").member_of(guild_id, "Managed", MANAGE_GUILD, icon=icon)
    user.member_of(OTHER_GUILD, "Someone else's", 1 << 11)
    discord.sign_in_as(user)
    client = app.test_client()
    start = client.get("/login")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    approved = httpx.post(
        f"{discord.url}/oauth2/authorize",
        data={"redirect_uri": query["redirect_uri"][0], "state": query["state"][0]},
        verify=tls_context(),
    )
    answer = parse_qs(urlsplit(approved.headers["Location"]).query)
    done = client.get("/dashboard/callback", query_string={k: v[0] for k, v in answer.items()})
    assert done.status_code == 302
    return Pages(client, guild_id)


def dashboard_app(discord: FakeDiscordOAuth, guild_id: int, **services: object) -> Flask:
    config = DashboardConfig(
        secret="test-secret",
        public_url=PUBLIC,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base_url=discord.api_base_url,
        oauth_base_url=discord.oauth_base_url,
        bot_guild_ids=lambda: [guild_id, OTHER_GUILD],
    )
    app = Flask(__name__)
    config = replace(config, **services)
    register(app, config)
    overlays.register(app, config.overlays)  # as the app does: the live pages' shared script
    return app


def pages_for(discord: FakeDiscordOAuth, guild_id: int, **services: object) -> Pages:
    return log_in(dashboard_app(discord, guild_id, **services), discord, guild_id)


def assert_refused_here(answer, message: str) -> None:  # type: ignore[no-untyped-def]
    """A refusal: the form again, status 400, the message next to a field."""
    assert answer.status_code == 400, answer.text[:500]
    assert answer.mimetype == "text/html"
    assert 'class="field-error"' in answer.text
    assert message in answer.text.replace("&#39;", "'").replace("&amp;", "&")
