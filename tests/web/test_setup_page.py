"""The setup page (core/web/setup/) through Flask's test client on a real Runtime, its checks
asking fakes on 127.0.0.1: who gets it (this machine, or the one browser that brought the
one-time token), the app's plain 404 for everyone else, and no secret in the page or the log."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
from flask import Flask

from core.discord_bot.permissions import bot_permissions
from core.setup.access import SetupToken
from core.web.setup import COOKIE
from tests.fakes import kick_server, twitch_server
from tests.fakes.discord_oauth import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET
from tests.setup.test_checks import discord as discord  # the fakes on 127.0.0.1, one per module
from tests.setup.test_checks import kick as kick
from tests.setup.test_checks import twitch as twitch

REMOTE = {"REMOTE_ADDR": "203.0.113.7"}
SECRETS = {
    "DISCORD_TOKEN": BOT_TOKEN,
    "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
    "KICK_CLIENT_SECRET": kick_server.CLIENT_SECRET,
    "TWITCH_CLIENT_SECRET": twitch_server.CLIENT_SECRET,
    "TWITCH_EVENTSUB_SECRET": "eventsub-secret-0123456789",
    "FLASK_SECRET_KEY": "setup-page-flask-secret-a-key-of-32-characters-or-more",
}


@pytest.fixture
def runtime(make_runtime, discord, kick, twitch):  # type: ignore[no-untyped-def]
    discord.bot_calls = 0
    return make_runtime(
        OAUTH_BASE_URL="https://bot.example.org",
        DISCORD_CLIENT_ID=CLIENT_ID,
        DISCORD_API_BASE_URL=discord.api_base_url,
        KICK_CLIENT_ID=kick_server.CLIENT_ID,
        KICK_OAUTH_BASE_URL=kick.url,
        TWITCH_CLIENT_ID=twitch_server.CLIENT_ID,
        TWITCH_OAUTH_BASE_URL=twitch.oauth_url,
        **SECRETS,
    )


@pytest.fixture
def app(runtime) -> Flask:  # type: ignore[no-untyped-def]
    return runtime.create_web_app()


def token_of(app: Flask) -> str:
    return app.extensions["setup"].token.value


def unknown_path_404(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client().get("/no-such-page", environ_base=REMOTE)


def assert_plain_404(app: Flask, response) -> None:  # type: ignore[no-untyped-def]
    """The same answer as a path that does not exist: nothing hints at the page."""
    plain = unknown_path_404(app)
    assert response.status_code == 404
    assert response.get_data() == plain.get_data()
    assert sorted(response.headers.items()) == sorted(plain.headers.items())
    assert COOKIE not in response.headers.get("Set-Cookie", "")


# --- who gets the page ---------------------------------------------------------------------------


def test_a_request_from_this_machine_gets_the_page(app, discord):
    response = app.test_client().get("/setup")  # the test client comes from 127.0.0.1
    assert response.status_code == 200
    assert "Set up StreamKeeper" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert discord.bot_calls == 2  # the token and its application: once each per view


def test_ipv6_loopback_gets_the_page(app):
    response = app.test_client().get("/setup", environ_base={"REMOTE_ADDR": "::1"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Forwarded-For", "198.51.100.4"),
        ("Forwarded", "for=127.0.0.1"),
        ("X-Real-IP", "127.0.0.1"),
    ],
    ids=["xff-loopback", "xff-remote", "forwarded", "x-real-ip"],
)
def test_a_forwarded_request_from_loopback_needs_the_token(app, discord, header):
    response = app.test_client().get("/setup", headers=[header])
    assert_plain_404(app, response)
    assert discord.bot_calls == 0  # a refused request asks nobody anything


@pytest.mark.parametrize(
    "host", ["localhost:8080", "127.0.0.1:8080", "127.0.0.2", "[::1]:8080", "bot.example.org"]
)
def test_loopback_names_and_the_public_address_get_the_page(app, host):
    response = app.test_client().get("/setup", headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "host",
    ["rebind.attacker.example:8080", "127.0.0.1.attacker.example", "bot.example.org.evil", "[::1"],
)
def test_a_page_of_another_site_pointed_at_loopback_is_a_plain_404(app, discord, host):
    """DNS rebinding: a site whose name now points at 127.0.0.1 sends its own name as Host."""
    response = app.test_client().get("/setup", headers={"Host": host})
    assert_plain_404(app, response)
    token = app.test_client().get(f"/setup?token={token_of(app)}", headers={"Host": host})
    assert_plain_404(app, token)
    assert discord.bot_calls == 0


def test_a_remote_request_without_the_token_is_a_plain_404(app):
    assert_plain_404(app, app.test_client().get("/setup", environ_base=REMOTE))


@pytest.mark.parametrize("wrong", ["", "x", "not-the-token", "a" * 32])
def test_a_wrong_token_is_a_plain_404(app, wrong):
    response = app.test_client().get(f"/setup?token={wrong}", environ_base=REMOTE)
    assert_plain_404(app, response)


def test_the_token_opens_the_page_in_one_browser_only(app):
    token = token_of(app)
    first = app.test_client()
    opened = first.get(f"/setup?token={token}", environ_base=REMOTE)
    assert opened.status_code == 303
    assert opened.headers["Location"] == "/setup"  # the token leaves the address bar
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/setup" in cookie
    assert "Secure" not in cookie  # plain http all the way: a Secure cookie would be dropped
    page = first.get("/setup", environ_base=REMOTE)
    assert page.status_code == 200
    assert "Discord bot token" in page.text
    # The same token in a second browser, or again in the first: used up.
    second = app.test_client()
    assert_plain_404(app, second.get(f"/setup?token={token}", environ_base=REMOTE))
    assert_plain_404(app, second.get("/setup", environ_base=REMOTE))
    again = first.get(f"/setup?token={token}", environ_base=REMOTE)
    assert again.status_code == 303  # the first browser is in by its cookie; the URL is cleaned


def test_the_cookie_is_secure_when_the_browser_came_over_https(app):
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}
    opened = app.test_client().get(f"/setup?token={token_of(app)}", headers=https)
    assert opened.status_code == 303
    assert "Secure" in opened.headers["Set-Cookie"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_other_methods_get_what_an_unknown_path_gets(app, method):
    for environ in (REMOTE, {"REMOTE_ADDR": "127.0.0.1"}):
        client = app.test_client()
        setup = client.open(f"/setup?token={token_of(app)}", method=method, environ_base=environ)
        unknown = client.open("/no-such-page", method=method, environ_base=environ)
        assert setup.status_code == unknown.status_code == 404
        assert setup.get_data() == unknown.get_data()
        assert sorted(setup.headers.items()) == sorted(unknown.headers.items())
    assert not app.extensions["setup"].token.is_used


def test_a_forged_or_foreign_cookie_opens_nothing(app, runtime):
    client = app.test_client()
    client.set_cookie(COOKIE, "forged.value.here", path="/setup")
    assert_plain_404(app, client.get("/setup", environ_base=REMOTE))
    # A cookie signed with the same secret by an earlier process (a restart): another mark.
    from core.web.setup import _signer

    config = app.extensions["setup"]
    earlier = _signer(config).dumps(SetupToken().process_mark)
    client.set_cookie(COOKIE, earlier, path="/setup")
    assert_plain_404(app, client.get("/setup", environ_base=REMOTE))


def test_the_token_is_compared_whole():
    token = SetupToken("the-one-time-token")
    assert not token.redeem(None)
    assert not token.redeem("the-one-time-toke")
    assert not token.redeem("the-one-time-token ")
    assert token.redeem("the-one-time-token")
    assert not token.redeem("the-one-time-token")  # once


# --- what the page shows -------------------------------------------------------------------------


def test_the_page_shows_every_check_and_the_invite_link(app):
    text = app.test_client().get("/setup").text
    for title in (
        "Discord bot token",
        "Discord client id",
        "Discord client secret",
        "Public https address",
        "Kick app",
        "Twitch app",
        "Twitch EventSub secret",
        "database",
    ):
        assert title in text, title
    assert "Everything is set up." in text
    expected = (
        f"https://discord.com/oauth2/authorize?client_id={CLIENT_ID}&amp;"
        f"scope=bot%20applications.commands&amp;permissions={bot_permissions().value}"
    )
    assert expected in text
    assert "https://bot.example.org/auth/kick/callback" in text


def test_missing_settings_say_what_to_do(make_runtime):
    runtime = make_runtime()  # nothing set
    text = runtime.create_web_app().test_client().get("/setup").text
    assert "DISCORD_TOKEN" in text
    assert "Reset Token" in text
    assert "https://dev.twitch.tv/console/apps" in text
    assert "https://kick.com/settings/developer" in text
    assert 'id="no-invite"' in text
    assert "http://localhost:0/dashboard/callback" in text  # PORT=0 in tests


def test_no_secret_in_the_page_or_the_log(app, discord, caplog):
    discord.bot_application_id = "555555555555555555"  # a wrong client id: more to say
    try:
        with caplog.at_level(logging.DEBUG):
            client = app.test_client()
            pages = [
                client.get("/setup").text,
                client.get(f"/setup?token={token_of(app)}", environ_base=REMOTE).text,
            ]
    finally:
        discord.bot_application_id = CLIENT_ID
    for name, value in SECRETS.items():
        for page in pages:
            assert value not in page, name
        assert value not in caplog.text, name


def test_a_silent_discord_costs_the_page_seconds_and_the_app_nothing(make_runtime):
    with socket.socket() as silent:  # takes connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        runtime = make_runtime(
            DISCORD_TOKEN=BOT_TOKEN, DISCORD_API_BASE_URL=f"http://127.0.0.1:{port}/api/v10"
        )
        app = runtime.create_web_app()
        pages: list = []
        viewer = threading.Thread(target=lambda: pages.append(app.test_client().get("/setup")))
        viewer.start()
        waiting, _ = silent.accept()  # the page is waiting on Discord now (3 s at most)
        health = app.test_client().get("/health")
        assert health.status_code == 200
        assert viewer.is_alive()  # answered while the page still waits on Discord
        viewer.join(15)
        assert not viewer.is_alive()  # the page gave up on Discord (a 3 s timeout) and answered
        waiting.close()
    text = pages[0].text
    assert pages[0].status_code == 200
    assert "no answer within a few seconds" in text
    assert 'data-state="unchecked"' in text
