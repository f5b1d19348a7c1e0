"""/me: any logged-in Discord user (no Manage Server) sees their own links, watchtime, tickets
and points per server, downloads them as JSON and removes their links through
LinkingService.unlink; two users never see or change each other's data."""

from __future__ import annotations

import json

import sqlalchemy as sa

from core.events import AccountUnlinked, Platform, event_from_dict
from core.features import guild_forget
from core.features.directory.repository import Role, Server
from core.features.directory.service import Snapshot
from core.features.linking.tables import link_history
from core.features.watchtime.tables import watchtime
from core.outbox import DISCORD
from core.storage.tables import outbox
from tests.web.dashboard.conftest import ADMIN, GUILD, OTHER_GUILD, VIEWER, post

ANA_KICK, BEA_KICK, BEA_TWITCH = "5001", "5002", "7002"


def _data(site) -> None:
    rt = site.runtime
    rt.linking.link(guild_id=GUILD, discord_user_id=VIEWER, platform=Platform.KICK,
                    platform_user_id=ANA_KICK, username="ana_kick")  # fmt: skip
    rt.linking.link(guild_id=OTHER_GUILD, discord_user_id=ADMIN, platform=Platform.KICK,
                    platform_user_id=BEA_KICK, username="bea_kick")  # fmt: skip
    rt.linking.link(guild_id=GUILD, discord_user_id=ADMIN, platform=Platform.TWITCH,
                    platform_user_id=BEA_TWITCH, username="bea_twitch")  # fmt: skip
    with rt.engine.begin() as conn:
        conn.execute(
            sa.insert(watchtime),
            [
                {"guild_id": GUILD, "platform": "kick", "platform_user_id": ANA_KICK,
                 "seconds": 7260},
                {"guild_id": GUILD, "platform": "kick", "platform_user_id": BEA_KICK,
                 "seconds": 999_000},
            ],
        )  # fmt: skip
    rt.points.give(GUILD, Platform.KICK, ANA_KICK, 1234, actor="test")
    rt.points.give(OTHER_GUILD, Platform.KICK, BEA_KICK, 8888, actor="test")
    rt.raffle.periods.start(GUILD)
    rt.raffle.admin.give(GUILD, actor_id=ADMIN, member_id=VIEWER, tickets=42, reason="t",
                         reference="r1")  # fmt: skip


def test_a_viewer_without_manage_server_sees_only_their_own_data(site):
    _data(site)
    ana = site.client(VIEWER, "ana", manages=())
    page = ana.get("/me/")
    assert page.status_code == 200
    assert "ana_kick" in page.text
    assert "2 h 1 min" in page.text  # 7260 s
    assert "1,234" in page.text
    assert ">42<" in page.text
    for theirs in ("bea_kick", "bea_twitch", "8,888", "277 h"):
        assert theirs not in page.text
    assert ana.get(f"/dashboard/{GUILD}/").status_code == 403  # still no admin pages

    bea = site.client(ADMIN, "bea")
    page = bea.get("/me/")
    assert "bea_kick" in page.text
    assert "bea_twitch" in page.text
    assert "8,888" in page.text
    assert "ana_kick" not in page.text
    assert "1,234" not in page.text


def test_download_holds_all_of_it_and_only_theirs(site):
    _data(site)
    answer = site.client(VIEWER, "ana", manages=()).get("/me/data.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith("attachment")
    document = json.loads(answer.data)
    assert document["discord_user_id"] == str(VIEWER)
    assert [link["username"] for link in document["links"]] == ["ana_kick"]
    (guild,) = document["guilds"]
    assert guild["guild_id"] == str(GUILD)
    (account,) = guild["accounts"]
    assert account == {
        "platform": "kick",
        "platform_user_id": ANA_KICK,
        "username": "ana_kick",
        "watchtime_seconds": 7260,
        "watchtime_rank": 2,
        "points": 1234,
        "points_name": "points",
        "raffle_tickets_open_period": 42,
        "raffle_rank": 1,
    }
    assert [entry["action"] for entry in guild["link_history"]] == ["linked"]
    assert "bea" not in answer.text


def test_unlink_removes_only_their_own_link_and_records_it(site):
    _data(site)
    ana = site.client(VIEWER, "ana", manages=())
    # Naming the other user's platform changes nothing of theirs: the session says who.
    assert post(ana, "/me/unlink", platform="twitch").status_code == 302
    assert site.runtime.linking.link_of(ADMIN, Platform.TWITCH) is not None
    assert "You have no Twitch account linked." in ana.get("/me/").text
    assert post(ana, "/me/unlink", platform="kick").status_code == 302
    assert site.runtime.linking.link_of(VIEWER, Platform.KICK) is None
    assert site.runtime.linking.link_of(ADMIN, Platform.KICK) is not None
    page = ana.get("/me/")
    assert "Unlinked your Kick account ana_kick." in page.text
    assert 'id="no-links"' in page.text
    history = site.runtime.linking.history(GUILD, VIEWER)
    assert [(h.action, h.actor_id) for h in history][-1] == ("unlinked", VIEWER)
    # The bot's call is queued with the unlink, so the linked role, watchtime roles and link
    # log follow there, retried while Discord fails (nothing rests on a message after it).
    told = [e for e in _queued(site) if isinstance(e, AccountUnlinked)]
    assert [(e.guild_id, e.discord_user_id, e.actor_id, e.viewer.username) for e in told] == [
        (GUILD, VIEWER, VIEWER, "ana_kick")
    ]
    assert post(ana, "/me/unlink", platform="myspace").status_code == 400


def _queued(site) -> list:  # type: ignore[type-arg]
    """The events of the Discord calls queued for the bot."""
    with site.runtime.engine.connect() as conn:
        calls = conn.execute(
            sa.select(outbox.c.payload).where(
                outbox.c.service == DISCORD, outbox.c.kind == "linking.unlinked"
            )
        ).scalars()
        return [event_from_dict(json.loads(call)["event"]) for call in calls]


def test_remove_all_links(site):
    _data(site)
    bea = site.client(ADMIN, "bea")
    assert post(bea, "/me/unlink-all").status_code == 302
    assert site.runtime.linking.links_of(ADMIN) == []
    assert site.runtime.linking.links_of(VIEWER) != []
    assert "Removed 2 links." in bea.get("/me/").text


def test_me_needs_a_login_and_the_csrf_token(site):
    anonymous = site.app.test_client()
    assert anonymous.get("/me/").status_code == 302
    assert anonymous.get("/me/data.json").status_code == 302
    _data(site)
    ana = site.client(VIEWER, "ana", manages=())
    assert ana.post("/me/unlink", data={"platform": "kick"}).status_code == 403
    assert site.runtime.linking.link_of(VIEWER, Platform.KICK) is not None
    headers = ana.get("/me/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_unlinking_a_link_made_in_a_server_deleted_for_good_writes_nothing_for_it(site):
    """The link was made in a server whose data ``guild remove`` deleted: the link, the
    viewer's, stays usable elsewhere; removing it on /me writes no history row and queues no
    Discord call for the server that is gone."""
    _data(site)
    with site.runtime.engine.begin() as conn:
        guild_forget.delete(conn, GUILD)
    ana = site.client(VIEWER, "ana", manages=())

    assert post(ana, "/me/unlink", platform="kick").status_code == 302

    assert site.runtime.linking.link_of(VIEWER, Platform.KICK) is None
    assert "Unlinked your Kick account ana_kick." in ana.get("/me/").text
    with site.runtime.engine.connect() as conn:
        written = [
            table.name
            for table in (link_history, outbox)
            if conn.execute(sa.select(table).where(table.c.guild_id == GUILD)).first()
        ]
    assert written == []


NEVER_ADDED = 333333333333333333  # the bot is in it; nobody added a channel (no guilds row)


def test_unlinking_a_link_made_in_a_server_nobody_added_a_channel_to_follows_there(site):
    """Members link in any server the bot is in: such a server keeps its link history and
    linked role as any other, so an unlink on /me is recorded there and its Discord part
    (taking the linked role back) queued, as ``!unlink`` there would."""
    rt = site.runtime
    server = Server(NEVER_ADDED, "Chat only", can_manage_roles=True)
    everyone = Role(NEVER_ADDED, "@everyone", 0, is_default=True)
    rt.directory.record_server(Snapshot(server, (everyone,), ()))
    rt.linking.link(guild_id=NEVER_ADDED, discord_user_id=VIEWER, platform=Platform.KICK,
                    platform_user_id=ANA_KICK, username="ana_kick")  # fmt: skip
    ana = site.client(VIEWER, "ana", manages=())

    assert post(ana, "/me/unlink", platform="kick").status_code == 302

    history = rt.linking.history(NEVER_ADDED, VIEWER)
    assert [(h.action, h.actor_id) for h in history][-1] == ("unlinked", VIEWER)
    told = [e for e in _queued(site) if isinstance(e, AccountUnlinked)]
    assert [(e.guild_id, e.discord_user_id) for e in told] == [(NEVER_ADDED, VIEWER)]
