"""Every answer that starts or ends a sign-in, sets a session cookie, or carries a secret or a
signed link is sent with ``Cache-Control: no-store``: no browser cache or proxy keeps it for the
next person at the same computer. Pages are HTML and get it anyway; what is checked here are the
redirects and the JSON."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.web.dashboard.conftest import ADMIN, GUILD, post
from tests.web.dashboard.test_connections_page import local
from tests.web.dashboard.test_overview_sync import clock as clock
from tests.web.dashboard.test_overview_sync import kick as kick
from tests.web.dashboard.test_overview_sync import site as site
from tests.web.dashboard.test_overview_sync import twitch as twitch
from tests.web.dashboard.test_security import _consent

NO_STORE = "no-store"


def test_the_discord_login_and_its_callback_are_never_stored(site):
    client = site.app.test_client()
    site.discord.add_user(ADMIN, "ana")
    site.discord.sign_in_as(site.discord.users[ADMIN])
    start = client.get("/login")
    assert start.status_code == 302
    assert start.headers["Cache-Control"] == NO_STORE  # the state, and the cookie that holds it

    done = client.get("/dashboard/callback", query_string=_consent(client, site.discord))

    assert done.status_code == 302
    assert "sk_session=" in done.headers["Set-Cookie"]
    assert done.headers["Cache-Control"] == NO_STORE


def test_logging_out_is_never_stored(site):
    answer = post(site.client(), "/logout")
    assert answer.status_code == 302
    assert answer.headers["Cache-Control"] == NO_STORE


def test_the_redirect_to_a_signed_connect_link_and_the_sign_in_it_starts_are_never_stored(
    site, twitch
):
    client = site.client()
    answer = post(client, f"/dashboard/{GUILD}/connections/twitch/connect", twitch="TwitchDev")
    assert answer.status_code == 303
    assert "sig=" in answer.headers["Location"]
    assert answer.headers["Cache-Control"] == NO_STORE

    link = local(answer.headers["Location"])
    assert client.get(link).headers["Cache-Control"] == NO_STORE
    started = client.post(link)
    assert started.status_code == 303
    assert urlsplit(started.headers["Location"]).query  # the platform's consent, with the state
    assert started.headers["Cache-Control"] == NO_STORE


def test_a_viewers_own_data_download_is_never_stored(site):
    answer = site.client().get("/me/data.json")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == NO_STORE
