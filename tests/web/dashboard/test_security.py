"""The dashboard's building blocks without a browser: rate limits, the permission cache, the
sealed token, and every odd answer at login being a clear 4xx/5xx page, never a 500."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask

from core.platforms.http import tls_context
from core.web.dashboard import register
from core.web.dashboard.config import DashboardConfig
from core.web.dashboard.discord_client import can_manage
from core.web.dashboard.redis_counts import PAUSE_SECONDS
from core.web.dashboard.security import (
    PermissionCache,
    RateLimiter,
    RedisRateLimiter,
    TokenBox,
)
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth
from tests.support.clock import Ticker
from tests.support.gone_redis import GoneRedis

PUBLIC = "http://dash.test"
GUILD = 111111111111111111


def test_rate_limiter_allows_the_limit_per_window():
    clock = Ticker(1_000_000.0)
    limiter = RateLimiter(3, 60, clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # per key
    clock.now += 61
    assert limiter.allow("a")


def test_without_redis_the_shared_limit_is_counted_per_process_and_redis_let_be(caplog):
    pause = Ticker(1_000_000.0)
    gone = GoneRedis()
    limiter = RedisRateLimiter(gone, "login", 2, 60, clock=time.time, monotonic=pause)

    with caplog.at_level(logging.WARNING, logger="core.web.dashboard.security"):
        assert [limiter.allow("a") for _ in range(3)] == [True, True, False]  # never no limit
        assert gone.sent == 1  # the first failure; then Redis is left alone for a while
        pause.advance(PAUSE_SECONDS)
        assert limiter.allow("b")
        assert gone.sent == 2  # tried again

    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # once per failure, not once per request
    for warning in warnings:
        assert warning.startswith("rate limit login: Redis unavailable (")
        assert warning.endswith("); counted per process; asked again in 30 s")


def test_permission_cache_forgets_after_its_ttl():
    clock = Ticker(1_000_000.0)
    cache = PermissionCache(180, clock)
    cache.put_all(7, {GUILD}, asked=42)
    assert cache.get(7, GUILD) is True
    assert cache.get(7, 42) is False
    assert cache.get(8, GUILD) is None  # per user
    clock.now += 181
    assert cache.get(7, GUILD) is None


def test_sealed_token_expires_and_refuses_tampering():
    clock = Ticker(1_000_000.0)
    box = TokenBox("secret", 3600, clock)
    sealed = box.seal("discord-token")
    assert "discord-token" not in sealed
    assert box.open(sealed) == "discord-token"
    assert box.open(sealed[:-4] + "AAAA") is None
    assert TokenBox("other secret", 3600, clock).open(sealed) is None
    assert box.open(12) is None
    clock.now += 3601
    assert box.open(sealed) is None


@pytest.mark.parametrize(
    ("raw", "allowed"),
    [
        ({"owner": True, "permissions": "0"}, True),
        ({"permissions": str(MANAGE_GUILD)}, True),
        ({"permissions": str(1 << 3)}, True),  # Administrator
        ({"permissions": str(1 << 11)}, False),
        ({"permissions": "lots"}, False),
        ({"permissions": "Infinity"}, False),
        ({"permissions": "9" * 400}, False),  # past a float: no bits can be read
        ({}, False),
    ],
)
def test_who_may_manage(raw, allowed):
    assert can_manage(raw) is allowed


@pytest.fixture
def discord():
    with FakeDiscordOAuth() as fake:
        user = fake.add_user(900000000000000001, "ana").member_of(GUILD, "Managed", MANAGE_GUILD)
        fake.sign_in_as(user)
        yield fake


def _app(discord: FakeDiscordOAuth, **changes) -> Flask:  # type: ignore[no-untyped-def]
    config = DashboardConfig(
        secret="test-secret",
        public_url=PUBLIC,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base_url=discord.api_base_url,
        oauth_base_url=discord.oauth_base_url,
        bot_guild_ids=lambda: [GUILD],
    )
    for name, value in changes.items():
        config = type(config)(**{**config.__dict__, name: value})
    app = Flask(__name__)
    register(app, config)
    return app


def _consent(client, discord: FakeDiscordOAuth) -> dict[str, str]:  # type: ignore[no-untyped-def]
    start = client.get("/login")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["scope"] == ["identify guilds"]
    approved = httpx.post(
        f"{discord.url}/oauth2/authorize",
        data={"redirect_uri": query["redirect_uri"][0], "state": query["state"][0]},
        verify=tls_context(),
    )
    return {k: v[0] for k, v in parse_qs(urlsplit(approved.headers["Location"]).query).items()}


def test_login_keeps_the_token_out_of_pages_and_readable_cookies(discord):
    app = _app(discord)
    with app.test_client() as client:
        answer = _consent(client, discord)
        done = client.get("/dashboard/callback", query_string=answer)
        assert done.status_code == 302
        (token,) = discord.tokens
        page = client.get("/dashboard/")
        assert page.status_code == 200
        assert "Managed" in page.text
        cookie = client.get_cookie("sk_session")
        assert cookie is not None
        assert token not in page.text
        assert token not in cookie.value
        assert cookie.http_only
        assert cookie.same_site == "Lax"
        assert not cookie.secure  # the public URL is http here


def test_secure_cookie_behind_https(discord):
    app = _app(discord, public_url="https://dash.test")
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"state": "x", "code": "y"},
        {"state": "", "code": ""},
        {"state": "\x00" * 5000},
        {"state": "é", "code": "y"},  # beyond ASCII: a TypeError of compare_digest was a 500
        {"state": "\U0001f600" * 40, "code": "y"},
        {"error": "access_denied"},
    ],
)
def test_a_callback_that_is_not_ours_is_a_400_page(discord, query):
    with _app(discord).test_client() as client:
        client.get("/login")  # a state in the session, which these do not carry
        answer = client.get("/dashboard/callback", query_string=query)
        assert answer.status_code == 400
        assert answer.mimetype == "text/html"
        assert "Log in again" in answer.text


def test_discord_refusing_the_code_is_a_502_page(discord):
    app = _app(discord, client_secret="wrong")
    with app.test_client() as client:
        answer = _consent(client, discord)
        failed = client.get("/dashboard/callback", query_string=answer)
        assert failed.status_code == 502
        assert "Discord did not answer" in failed.text
        assert "wrong" not in failed.text


@pytest.mark.parametrize("user_id", [10**30, 0])
def test_a_discord_user_id_no_account_can_have_is_a_502_page(discord, user_id):
    """A user id no BIGINT holds was a 500 when the session was stored."""
    discord.sign_in_as(discord.add_user(user_id, "odd"))
    with _app(discord).test_client() as client:
        failed = client.get("/dashboard/callback", query_string=_consent(client, discord))
        assert failed.status_code == 502
        assert "Discord did not answer" in failed.text


def test_a_guild_with_an_id_no_server_can_have_is_left_out_of_the_list(discord):
    user = discord.signed_in
    assert user is not None
    user.guilds.insert(0, {"id": str(10**30), "name": "Huge", "owner": True, "permissions": "0"})
    with _app(discord, bot_guild_ids=lambda: [GUILD, 10**30]).test_client() as client:
        done = client.get("/dashboard/callback", query_string=_consent(client, discord))
        assert done.status_code == 302
        page = client.get("/dashboard/")
        assert page.status_code == 200
        assert "Managed" in page.text
        assert "Huge" not in page.text


def test_odd_entries_of_the_server_list_are_left_out_and_the_rest_listed(discord):
    user = discord.signed_in
    assert user is not None
    odd = {"owner": True, "permissions": "0"}
    user.guilds[:0] = [
        "not an object",
        None,
        [str(GUILD)],
        {**odd, "id": "12ab", "name": "Lettered id"},
        {**odd, "id": "-5", "name": "Negative id"},
        {**odd, "id": "333333333333333333", "name": None},
        {**odd, "id": "444444444444444444", "name": {"text": "Named by an object"}},
    ]
    served = [GUILD, 333333333333333333, 444444444444444444]
    with _app(discord, bot_guild_ids=lambda: served).test_client() as client:
        done = client.get("/dashboard/callback", query_string=_consent(client, discord))
        assert done.status_code == 302
        page = client.get("/dashboard/")
        assert page.status_code == 200
        assert "Managed" in page.text
        for left_out in ("Lettered id", "Negative id", "333333333333333333", "Named by an object"):
            assert left_out not in page.text


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("a\x00na", "ana"), ("a\ud800na", "a\ufffdna"), ("\x00", "900000000000000001")],
    ids=["nul", "lone-surrogate", "nothing-left"],
)
def test_a_user_name_with_a_nul_or_a_lone_surrogate_is_shown_cleaned(discord, sent, shown):
    user = discord.signed_in
    assert user is not None
    user.username = sent
    with _app(discord).test_client() as client:
        done = client.get("/dashboard/callback", query_string=_consent(client, discord))
        assert done.status_code == 302
        page = client.get("/dashboard/")
        assert page.status_code == 200
        assert f'<span class="who">{shown}</span>' in page.text


def test_an_access_token_no_header_can_carry_is_a_502_page(discord):
    discord.next_access_token = "t\u00f6ken"
    with _app(discord).test_client() as client:
        failed = client.get("/dashboard/callback", query_string=_consent(client, discord))
        assert failed.status_code == 502
        assert "Discord did not answer" in failed.text


def test_discord_down_at_login_is_a_502_page(discord):
    app = _app(discord)
    with app.test_client() as client:
        answer = _consent(client, discord)
        discord.__exit__(None, None, None)
        failed = client.get("/dashboard/callback", query_string=answer)
        assert failed.status_code == 502


def test_login_off_without_client_settings(discord):
    with _app(discord, client_id=None).test_client() as client:
        answer = client.get("/login")
        assert answer.status_code == 503
        assert "DISCORD_CLIENT_ID" in answer.text


def test_dashboard_needs_a_login(discord):
    with _app(discord).test_client() as client:
        answer = client.get(f"/dashboard/{GUILD}/")
        assert answer.status_code == 302
        assert answer.headers["Location"].endswith("/?login=needed")


def test_logout_ends_the_session_for_every_copy_of_the_cookie(discord):
    app = _app(discord)
    with app.test_client() as client:
        answer = _consent(client, discord)
        assert client.get("/dashboard/callback", query_string=answer).status_code == 302
        copied = app.test_client()
        copied.set_cookie("sk_session", client.get_cookie("sk_session").value)
        assert copied.get("/dashboard/").status_code == 200
        client.get("/dashboard/")  # a page with a form, which makes the CSRF token
        with client.session_transaction() as session:
            csrf = session["csrf"]
        assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
        assert copied.get("/dashboard/").status_code == 302


@pytest.mark.parametrize("token", ["é", "\U0001f600", "wrong", ""])
def test_a_post_with_a_wrong_csrf_token_of_any_text_is_a_403(discord, token):
    app = _app(discord)
    with app.test_client() as client:
        answer = _consent(client, discord)
        assert client.get("/dashboard/callback", query_string=answer).status_code == 302
        client.get("/dashboard/")  # a page with a form, which makes the CSRF token
        assert client.post("/logout", data={"csrf_token": token}).status_code == 403
        as_header = token.encode().decode("latin-1")  # what a header of those bytes reads as
        assert client.post("/logout", headers={"X-CSRF-Token": as_header}).status_code == 403
        assert client.get("/dashboard/").status_code == 200  # still signed in
