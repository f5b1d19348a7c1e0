"""The VIP audit log names people: a viewer by the name StreamKeeper last saw (not the one the
log kept), a Discord admin by their name in this server (never another server's), and the id
only when no name is known."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core.events import Platform
from core.events.base import Viewer
from core.features.directory.repository import Member
from core.features.directory.service import DirectoryService
from core.features.viewers.repository import remember_viewers
from core.features.vip import repository
from core.features.vip.repository import AuditEntry
from core.features.vip.service import VipService
from core.web.dashboard.aio import coroutine_runner
from tests.features.vip.doubles import BROADCASTER, T0, FakeVipChannel
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import ADMIN_ID, OTHER_GUILD, pages_for

GUILD = 111111111111111111
UNSEEN_ADMIN = 900000000000000002  # never seen by the bot in GUILD; named in OTHER_GUILD


@pytest.fixture
def pages(discord, engine):  # type: ignore[no-untyped-def]
    clock = Clock(T0)
    twitch = FakeVipChannel(clock)
    twitch.users.update({"viewer1": "9001", "viewer2": "9002"})
    service = VipService(engine, clock, twitch, lambda guild_id: BROADCASTER)
    run = coroutine_runner()
    run(service.setup(GUILD, ADMIN_ID, "VIP for a day", 500, 24))
    run(service.manual.grant(GUILD, ADMIN_ID, "viewer1", 5))
    run(service.manual.grant(GUILD, UNSEEN_ADMIN, "viewer2", 5))
    directory = DirectoryService(engine, clock)
    directory.record_members(GUILD, [Member(ADMIN_ID, "Ana the admin")])
    directory.record_members(OTHER_GUILD, [Member(UNSEEN_ADMIN, "Named elsewhere")])
    with engine.begin() as conn:
        # viewer1 changed their name since; 9003 was never seen with a name
        remember_viewers(conn, Platform.TWITCH, [Viewer("9001", "NewName")], T0 + timedelta(1))
        for viewer_id, actor in (("9003", "system"), ("9001", "viewer")):
            repository.add_audit(
                conn,
                AuditEntry(
                    guild_id=GUILD,
                    platform=Platform.TWITCH,
                    broadcaster_user_id=BROADCASTER,
                    platform_user_id=viewer_id,
                    username=viewer_id,
                    action="refused",
                    actor_kind=actor,
                    at=T0 + timedelta(minutes=5),
                    actor_id=viewer_id if actor == "viewer" else None,
                ),
            )
    return pages_for(discord, GUILD, vip=service, run=run, directory=directory)


def _rows(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>\s*(.*?)</tr>", html, flags=re.S)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        ]
        for row in rows
    ]


def test_the_log_shows_names_and_ids_only_when_unknown(pages) -> None:  # type: ignore[no-untyped-def]
    for html in (pages.get("vip").text, pages.get("vip", "log").text):
        log = html.split('id="vip-log"')[-1]  # the page's other tables are not the log
        viewers_and_actors = [(row[2], row[3]) for row in _rows(log) if row]
        assert ("NewName", "NewName (viewer)") in viewers_and_actors
        assert ("9003", "StreamKeeper") in viewers_and_actors
        assert ("NewName", "Ana the admin (Discord)") in viewers_and_actors
        assert ("viewer2", f"{UNSEEN_ADMIN} (Discord)") in viewers_and_actors
        assert "Named elsewhere" not in html  # another server's name for that id
        assert f'<code title="a member the bot has not seen">{UNSEEN_ADMIN}</code>' in html
        assert '<code title="a viewer StreamKeeper knows no name of">9003</code>' in html
        assert "viewer1" not in html.split('id="vip-log"')[-1]  # the old name is gone


def test_a_viewer_who_acted_is_named_by_the_name_the_log_kept(discord, engine) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(T0)
    service = VipService(engine, clock, FakeVipChannel(clock), lambda guild_id: BROADCASTER)
    with engine.begin() as conn:  # no name known for 9009 but the one this entry kept
        repository.add_audit(
            conn,
            AuditEntry(
                guild_id=GUILD, platform=Platform.TWITCH, broadcaster_user_id=BROADCASTER,
                platform_user_id="9009", username="kept_name", action="granted",
                actor_kind="viewer", at=T0, actor_id="9009",
            ),
        )  # fmt: skip
    pages = pages_for(discord, GUILD, vip=service, run=coroutine_runner())
    [row] = [row for row in _rows(pages.get("vip", "log").text) if row]
    assert (row[2], row[3]) == ("kept_name", "kept_name (viewer)")


def test_vip_times_are_on_the_readers_clock_as_the_event_log_s_are(pages) -> None:  # type: ignore[no-untyped-def]
    """The VIP list and log gave their times in UTC next to an event log in the reader's own
    zone; they are marked for local-time.js now (UTC, said, without JavaScript)."""
    since = T0.strftime("%Y-%m-%d %H:%M UTC")
    marked = f'<time datetime="{T0.isoformat()}" data-local="minutes">{since}</time>'
    page = pages.get("vip").text
    listing = page.split('class="vips"')[1].split("</table>")[0]
    assert marked in listing  # "Since"
    assert '<label for="filter-on">Day (UTC)</label>' in page  # the log's day filter stays UTC
    for html in (page, pages.get("vip", "log").text):
        log = html.split('id="vip-log"')[-1].split("</table>")[0]
        assert marked in log  # "When"
        assert "When (UTC)" not in log
        until = (T0 + timedelta(hours=5)).isoformat()
        assert f'until <time datetime="{until}" data-local="minutes">' in log
