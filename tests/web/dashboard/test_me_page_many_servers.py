"""/me with many servers: the page reads the servers where the viewer has anything, in as many
statements with 30 servers as with 3, with the same figures and ranks and never another user's
data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.watchtime.tables import watchtime
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD, VIEWER
from tests.web.dashboard.test_me_page import ANA_KICK, BEA_KICK, _data


@pytest.fixture
def site_settings(migrated_database_url) -> dict[str, str]:
    return {"DATABASE_URL": migrated_database_url}


def _serve(site, count: int) -> None:
    """The bot serves ``count`` servers: GUILD, OTHER_GUILD and more holding nothing of anyone."""
    for n in range(count - 2):
        site.runtime.guilds.ensure_guild(900_000_000_000_000_000 + n, f"Empty {n}")


def _statements_of_me(site, client) -> tuple[int, str]:
    from tests.support.statements import statements_of

    with statements_of(site.runtime.engine, this_thread=True) as seen:
        page = client.get("/me/")
    assert page.status_code == 200
    return len(seen), page.text


def test_me_reads_only_the_servers_holding_the_users_data(site):
    """A viewer's page costs as many statements with 30 servers as with 3: it reads the servers
    where they have something, never each server the bot serves."""
    _data(site)
    # Ana's Twitch account has watchtime and points in the other server, where she never linked.
    site.runtime.linking.link(guild_id=GUILD, discord_user_id=VIEWER, platform=Platform.TWITCH,
                              platform_user_id="7001", username="ana_twitch")  # fmt: skip
    with site.runtime.engine.begin() as conn:
        conn.execute(sa.insert(watchtime), [
            {"guild_id": OTHER_GUILD, "platform": "twitch", "platform_user_id": "7001",
             "seconds": 3600},
            {"guild_id": OTHER_GUILD, "platform": "kick", "platform_user_id": BEA_KICK,
             "seconds": 9000},
        ])  # fmt: skip
    site.runtime.points.give(OTHER_GUILD, Platform.TWITCH, "7001", 55, actor="test")
    ana = site.client(VIEWER, "ana", manages=())
    ana.get("/me/")  # the session's first page reads what a login caches
    _serve(site, 3)
    few, page = _statements_of_me(site, ana)
    _serve(site, 30)
    many, same_page = _statements_of_me(site, ana)
    assert many == few
    assert same_page == page
    assert "Empty" not in page
    for shown in ("ana_twitch", "1 h 0 min", "(#2)", ">55<", "2 h 1 min", "1,234", ">42<"):
        assert shown in page
    for theirs in ("bea", "8,888", "2 h 30 min"):
        assert theirs not in page
    document = json.loads(ana.get("/me/data.json").data)
    assert [g["guild_id"] for g in document["guilds"]] == [str(GUILD), str(OTHER_GUILD)]
    other = document["guilds"][1]
    assert [(a["username"], a["watchtime_seconds"], a["watchtime_rank"], a["points"],
             a["raffle_tickets_open_period"], a["raffle_rank"]) for a in other["accounts"]] == [
        ("ana_kick", 0, None, 0, 0, None), ("ana_twitch", 3600, 2, 55, 0, None)
    ]  # fmt: skip
    assert other["link_history"] == []


def _holding(site, first: int, count: int) -> dict[int, str]:
    """Ana's Kick account holds points in ``count`` more servers, named as the bot may know
    them: a name Discord told (the directory) over the one stored at setup, the stored one
    alone, or none; the name each should be shown under."""
    from core.features.directory.repository import Server

    shown = {}
    for n in range(first, first + count):
        guild_id = 910_000_000_000_000_000 + n
        if n % 3 == 0:
            site.runtime.guilds.ensure_guild(guild_id, f"Stored {n}")
            site.runtime.directory.name_servers([Server(guild_id, f"Seen {n}")])
            shown[guild_id] = f"Seen {n}"
        elif n % 3 == 1:
            site.runtime.guilds.ensure_guild(guild_id, f"Stored {n}")
            shown[guild_id] = f"Stored {n}"
        else:
            site.runtime.guilds.ensure_guild(guild_id)
            shown[guild_id] = f"Server {guild_id}"
        site.runtime.points.give(guild_id, Platform.KICK, ANA_KICK, 10 + n, actor="test")
    return shown


def test_me_reads_the_names_of_all_its_servers_at_once(site):
    """The servers' names cost as many statements for 3 servers as for 12, whether they come
    from what Discord told or from the names stored when the bot was set up there."""
    _data(site)
    ana = site.client(VIEWER, "ana", manages=())
    ana.get("/me/")
    shown = _holding(site, 0, 3)
    few, _ = _statements_of_me(site, ana)
    shown |= _holding(site, 3, 9)
    many, page = _statements_of_me(site, ana)
    assert many == few
    document = json.loads(ana.get("/me/data.json").data)
    names = {int(g["guild_id"]): g["name"] for g in document["guilds"]}
    assert {guild_id: names.get(guild_id) for guild_id in shown} == shown
    for name in shown.values():
        assert f"<h3>{name}</h3>" in page
