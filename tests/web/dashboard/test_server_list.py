"""The server list (``/dashboard/``), the page a streamer lands on after logging in: the servers
with the bot that they may manage, and when one is missing, what to do about it."""

from __future__ import annotations

from html import unescape

import sqlalchemy as sa

from core.features.guilds.invite import invite_url
from core.features.guilds.repository import ensure_guild
from tests.fakes.discord_oauth import CLIENT_ID
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD, Site


def _invite(site: Site) -> str:
    return invite_url(CLIENT_ID, site.discord.oauth_base_url)


def test_someone_who_manages_no_server_with_the_bot_is_told_how_to_add_it(site: Site):
    """A streamer logs in before adding the bot (or a viewer logs in): the list is empty, and
    the page says how to add the bot, and where their own data is, instead of a dead end."""
    page = site.client(manages=()).get("/dashboard/")

    assert page.status_code == 200
    text = unescape(page.text)
    assert 'id="guild-list"' not in text
    assert f'href="{_invite(site)}"' in text
    assert "Add the bot to your server" in text
    assert 'href="/me/"' in text.split("<main", 1)[1]  # said on the page, not only the menu


def test_the_list_names_the_managed_servers_and_how_to_add_the_bot_to_another(site: Site):
    page = site.client(manages=(GUILD,)).get("/dashboard/")

    text = unescape(page.text)
    listed = text.split('id="guild-list"', 1)[1].split("</ul>", 1)[0]
    assert f'href="/dashboard/{GUILD}/"' in listed
    assert f"/dashboard/{OTHER_GUILD}/" not in text  # served, but not theirs to manage
    assert f'href="{_invite(site)}"' in text.split("</ul>", 1)[1]


def test_a_page_reads_the_users_own_servers_not_every_server_of_the_bot(site: Site):
    """The server list and each server's page asked the database for every server the bot
    serves (thousands, on a public bot), at every request: now for the user's own."""
    rt = site.runtime
    with rt.engine.begin() as conn:
        for n in range(200):
            ensure_guild(conn, 500_000_000_000_000_000 + n, rt.clock())
    client = site.client(manages=(GUILD,))
    statements: list[str] = []

    def note(_conn, _cursor, statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    sa.event.listen(rt.engine, "before_cursor_execute", note)
    try:
        listed = client.get("/dashboard/")
        overview = client.get(f"/dashboard/{GUILD}/")
    finally:
        sa.event.remove(rt.engine, "before_cursor_execute", note)

    assert listed.status_code == overview.status_code == 200
    assert f'href="/dashboard/{GUILD}/"' in listed.text
    every_server = [s for s in statements if "FROM guilds" in s and "WHERE" not in s]
    assert every_server == []
