"""Servers by name and icon (issue 27): a login's own server list names the servers the bot
serves (so a deployment without a bot token still shows names), the bot's word wins once it
described the server, an icon is Discord's CDN image only for a real icon hash, and a server's
name never leaks to someone who may not manage it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.features.directory.repository import Server
from core.features.directory.service import DirectoryService, Snapshot
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import ADMIN_ID, OTHER_GUILD, dashboard_app, log_in

GUILD = 111111111111111111
ICON = "a_" + "0123456789abcdef" * 2


@pytest.fixture
def directory(engine):  # type: ignore[no-untyped-def]
    return DirectoryService(engine, Clock(datetime(2030, 1, 1, tzinfo=UTC)))


def test_a_login_names_the_servers_and_shows_their_icons(discord, directory):
    pages = log_in(dashboard_app(discord, GUILD, directory=directory), discord, GUILD, icon=ICON)
    answer = pages.client.get("/dashboard/")
    listing = answer.text
    assert f'src="https://cdn.discordapp.com/icons/{GUILD}/{ICON}.png?size=64"' in listing
    # ... and the page's policy lets the browser load them (only images, only from the CDN).
    policy = answer.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.discordapp.com;" in policy
    assert policy.count("cdn.discordapp.com") == 1
    assert directory.server(GUILD) == Server(GUILD, "Managed", ICON, None)
    # The other server is the bot's too: its name is stored, though this user may not manage it.
    assert directory.server(OTHER_GUILD).name == "Someone else's"
    assert "Someone else" not in listing

    overview = pages.client.get(f"/dashboard/{GUILD}/").text
    assert '<span class="guild-title"><img src="https://cdn.discordapp.com/icons/' in overview
    assert "<title>Managed · StreamKeeper</title>" in overview
    assert "<h1>Managed</h1>" in overview
    assert f"Server {GUILD}" not in overview


def test_the_bots_description_is_kept_and_an_odd_icon_is_not_shown(discord, directory):
    directory.record_server(Snapshot(Server(GUILD, "Named by the bot", None, True), (), ()))
    pages = log_in(
        dashboard_app(discord, GUILD, directory=directory), discord, GUILD, icon="../../x.png"
    )
    listing = pages.client.get("/dashboard/").text
    assert "<img" not in listing  # not a hash: no image, the initial instead
    assert 'data-initial="M"' in listing
    assert directory.server(GUILD) == Server(GUILD, "Managed", None, True)  # permissions kept


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("Man\x00aged", "Managed"), ("Man\ud800aged", "Man\ufffdaged")],
    ids=["nul", "lone-surrogate"],
)
def test_a_server_name_no_database_stores_is_cleaned_before_it_is_shown(
    discord, directory, sent, shown
):
    """Discord's list names a served server with a NUL or a lone surrogate: the member's list
    and the server's pages still answer (it was a 500 on PostgreSQL for every member), with the
    name cleaned as every partner's names are."""
    pages = log_in(dashboard_app(discord, GUILD, directory=directory), discord, GUILD)
    [managed] = [g for g in discord.users[ADMIN_ID].guilds if g["id"] == str(GUILD)]
    managed["name"] = sent

    listed = pages.client.get("/dashboard/")
    overview = pages.client.get(f"/dashboard/{GUILD}/")

    assert listed.status_code == 200, listed.text[:300]
    assert shown in listed.text
    assert overview.status_code == 200, overview.text[:300]
    assert f"<h1>{shown}</h1>" in overview.text
    assert directory.server(GUILD).name == shown
