"""The database stops answering while members are signed in: every dashboard page (the landing
page, the server list, a server's pages, a member's own data, the sign-in's callback and the
logout) answers a 503 page in the dashboard's words, as the Kick and Twitch sign-in pages do,
never the app's bare JSON 500 and never the database's error, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.web.dashboard.conftest import GUILD, post
from tests.web.overlays.test_overlay_pages import token
from tests.web.test_oauth import take_database_down

PAGES = ["/", "/dashboard/", f"/dashboard/{GUILD}/", f"/dashboard/{GUILD}/raffle/", "/me/"]


@pytest.fixture
def site_settings(migrated_database_url) -> dict[str, str]:
    return {"DATABASE_URL": migrated_database_url}


@pytest.fixture
def take_down(request, site, migrated_database_url):  # type: ignore[no-untyped-def]
    def down() -> None:
        postgres_url = None
        if not migrated_database_url.startswith("sqlite"):
            postgres_url = request.getfixturevalue("postgres_url")
        take_database_down(site.runtime, migrated_database_url, postgres_url)

    return down


def assert_database_down_page(answer, migrated_database_url: str) -> None:  # type: ignore[no-untyped-def]
    text = answer.get_data(as_text=True)
    assert answer.status_code == 503, text[:300]
    assert answer.mimetype == "text/html"
    assert "cannot reach its database" in text
    assert "Try again in a minute" in text
    for secret in ("Error", "SELECT", "sqlite", "postgres", migrated_database_url):
        assert secret not in text


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_in_member_gets_a_503_page_while_the_database_is_down(
    site, take_down, migrated_database_url, path
):
    client = site.client()
    assert client.get(path).status_code == 200
    take_down()

    assert_database_down_page(client.get(path), migrated_database_url)


def test_logging_out_while_the_database_is_down_is_the_same_503_page(
    site, take_down, migrated_database_url
):
    client = site.client()
    take_down()

    assert_database_down_page(post(client, "/logout"), migrated_database_url)


LIVE_STREAMS = [f"/dashboard/{GUILD}/live/vip", f"/live?s=d:{GUILD}:vip"]


@pytest.mark.parametrize("path", LIVE_STREAMS)
def test_a_live_stream_opened_while_the_database_is_down_is_told_to_come_back(
    site, take_down, migrated_database_url, path
):
    client = site.client()
    take_down()

    answer = client.get(path, buffered=False)
    text = answer.get_data(as_text=True)
    answer.close()
    assert answer.status_code == 503, text[:300]
    assert answer.headers["Retry-After"] == "10"
    assert "cannot reach its database" in text
    for secret in ("Error", "SELECT", "sqlite", "postgres", migrated_database_url):
        assert secret not in text


def test_an_overlay_in_obs_shows_nothing_and_loads_again_while_the_database_is_down(
    site, take_down, migrated_database_url
):
    path = f"/overlay/{token(site, 'alerts')}"
    client = site.app.test_client()  # OBS: nobody signed in
    take_down()

    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert '<script src="/overlay/static/retry.js" data-seconds="10"></script>' in html
    assert "<body></body>" in html  # nothing drawn over the stream
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for part in ("/state", "/events"):
        answer = client.get(path + part, buffered=False)
        text = answer.get_data(as_text=True)
        answer.close()
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "10"), text[:300]
        assert "cannot reach its database" in text
        assert migrated_database_url not in text
