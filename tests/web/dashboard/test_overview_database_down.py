"""A server's overview while the database does not answer shows what ``!health`` says then:
the database line failing in plain words, and which of the server's lines could not be read
(the same code makes both), on SQLite and PostgreSQL made unreachable."""

from __future__ import annotations

from core.wiring.front_ends import dashboard_config
from tests.web.dashboard import test_database_down
from tests.web.dashboard.conftest import GUILD

site_settings = test_database_down.site_settings
take_down = test_database_down.take_down

FAILING = "does not work; the bot&#39;s operator sees why in &#39;python -m core health&#39;"
UNREAD = "not checked: the database did not answer"


def test_the_overview_shows_the_failing_database_and_the_lines_it_could_not_read(
    site, take_down, migrated_database_url
):
    client = site.client()
    assert client.get(f"/dashboard/{GUILD}/").status_code == 200
    take_down()

    page = client.get(f"/dashboard/{GUILD}/")
    text = page.get_data(as_text=True)
    assert page.status_code == 503, text[:300]
    assert "cannot reach its database" in text
    assert "Something does not work: see the lines marked FAIL." in text
    assert _row("database", "FAIL", FAILING) in text
    assert _row("kick and twitch", "look", UNREAD) in text  # not known to work: not "ok"
    assert _row("actions", "look", UNREAD) in text
    for secret in ("Error", "SELECT", "sqlite", "postgres", migrated_database_url, "127.0.0.1"):
        assert secret not in text


def test_the_servers_health_says_which_lines_it_could_not_read(site, take_down):
    guild_health = dashboard_config(site.runtime).guild_health
    take_down()

    lines = guild_health(GUILD).lines()

    assert (
        "FAIL database: does not work; the bot's operator sees why in 'python -m core health'"
        in lines
    )
    assert f"WARN kick and twitch: {UNREAD}" in lines
    assert f"WARN actions: {UNREAD}" in lines


def _row(check: str, state: str, detail: str) -> str:
    return (
        f'<td data-label="Check">{check}</td><td data-label="State">{state}</td>'
        f'<td data-label="Detail">{detail}</td>'
    )
