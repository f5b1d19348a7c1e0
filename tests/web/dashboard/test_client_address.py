"""The login rate limit keys on the client's address, told by the proxies we run
(``WEB_TRUSTED_PROXY_COUNT``), and is one limit for every web process when Redis is there.

Behind docs/deploy.md's nginx every request comes from 127.0.0.1: keyed on the socket address, ten
logins locked everyone out. A forwarded header is believed only from the configured number of
proxies, so a client that types its own X-Forwarded-For dodges nothing.
"""

from __future__ import annotations

import uuid

import pytest

from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, FakeDiscordOAuth

LIMIT = 10  # login starts or callbacks per minute per client address


@pytest.fixture
def discord():
    with FakeDiscordOAuth() as fake:
        yield fake


@pytest.fixture
def web(make_runtime, discord):
    def build(**settings: str):  # type: ignore[no-untyped-def]
        runtime = make_runtime(
            OAUTH_BASE_URL="http://dash.test",
            DISCORD_CLIENT_ID=CLIENT_ID,
            DISCORD_CLIENT_SECRET=CLIENT_SECRET,
            DISCORD_API_BASE_URL=discord.api_base_url,
            DISCORD_OAUTH_BASE_URL=discord.oauth_base_url,
            KICK_PUSHER_ENABLED="false",
            **settings,
        )
        return runtime.create_web_app()

    return build


def login(app, forwarded_for: str | None = None, path: str = "/login") -> int:  # type: ignore[no-untyped-def]
    """One request from the proxy's socket (127.0.0.1), as nginx forwards it."""
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    client = app.test_client()
    answer = client.get(path, headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return answer.status_code


def test_behind_a_configured_proxy_each_client_has_its_own_limit(web):
    app = web(WEB_TRUSTED_PROXY_COUNT="1")
    assert [login(app, "203.0.113.1") for _ in range(LIMIT)] == [302] * LIMIT
    assert login(app, "203.0.113.1") == 429  # the busy client is limited...
    for n in range(2, 7):  # ...and the next five users are not
        assert login(app, f"203.0.113.{n}") == 302
    # nor is a victim's callback (refused for its missing state, not for the limit)
    assert login(app, "198.51.100.7", "/dashboard/callback?state=x&code=y") == 400


def test_behind_the_proxy_a_typed_forwarded_for_dodges_nothing(web):
    # nginx appends the address it saw to what the client sent: only that last one is believed.
    app = web(WEB_TRUSTED_PROXY_COUNT="1")
    answers = [login(app, f"10.0.0.{n}, 203.0.113.1") for n in range(LIMIT + 1)]
    assert answers == [302] * LIMIT + [429]


def test_without_the_setting_forwarded_for_is_ignored(web):
    app = web()
    answers = [login(app, f"203.0.113.{n}") for n in range(LIMIT + 1)]
    assert answers == [302] * LIMIT + [429]  # spoofed addresses did not get around the limit


def test_with_redis_every_web_process_shares_the_limit(web, redis_url):
    # Two apps are two web processes (gunicorn workers): the limit holds across them.
    namespace = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    first = web(REDIS_URL=redis_url, WEB_TRUSTED_PROXY_COUNT="1")
    second = web(REDIS_URL=redis_url, WEB_TRUSTED_PROXY_COUNT="1")
    answers = [login(first if n % 2 else second, namespace) for n in range(LIMIT + 1)]
    assert answers == [302] * LIMIT + [429]
    assert login(first, namespace) == 429
    assert login(second, "198.51.100.99") == 302
