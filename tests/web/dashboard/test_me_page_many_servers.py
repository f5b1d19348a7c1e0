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
from tests.web.dashboard.test_me_page import BEA_KICK, _data


@pytest.fixture
def site_settings(migrated_database_url) -> dict[str, str]:
    return {"DATABASE_URL": migrated_database_url}


def _serve(site, count: int) -> None:
    """The bot serves ``count`` servers: GUILD, OTHER_GUILD and more holding nothing of anyone."""
    for n in range(count - 2):
        site.runtime.guilds.ensure_guild(900_000_000_000_000_000 + n, f"Empty {n}")


def _statements_of_me(site, client) -> tuple[int, str]:
    from tests.support.statements import statements_of

    with statements_of(site.runtime.engine) as seen:
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
