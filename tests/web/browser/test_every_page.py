"""Every page, as a phone and a laptop show it (issue 27): at 360 and 1366 px wide no page
scrolls sideways; axe-core (the copy axe-playwright-python ships) finds no serious or critical
violation; no Discord id the server directory has a name for shows in the text; and (at 1366 px)
no word of the code (test_streamer_words.py says which). Wider phones (390 px, 412 px) get the
phone's layout with more room: every breakpoint of the stylesheets is above them, which
:func:`test_every_phone_gets_the_layout_checked_at_360_px` keeps true. The guild has data on
every page (members, roles and a channel by name, a link log with an admin's unlink and a
refusal, payments in doubt of a heist and of an admin's change, a raffle with tickets given by
hand and a forced draw), so tables and lists are drawn."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe

from core.events import Platform, Viewer
from core.features.chat_commands.queued import queue_line
from core.features.directory.repository import Channel, Member, Role, Server
from core.features.directory.service import Snapshot
from core.features.points.se_payments import queue_payment
from core.features.slot_calls.posts import queue_post
from core.features.viewers.repository import remember_viewers
from core.features.vip import repository as vip_repository
from core.features.vip.limits import RewardLimits, limit_columns
from core.features.vip.repository import AuditEntry
from core.features.watchtime.history import record
from core.features.watchtime.tables import watchtime
from core.storage.tables import outbox
from tests.bus import make_event
from tests.fakes.discord_oauth import MANAGE_GUILD
from tests.features.heist.test_history import add_heist

# A slot call's longest reason for not being posted (DiscordSlotCallPoster's words).
NOT_FOUND = (
    "not posted: I can't find the slot call channel: it was deleted, or it is a thread that "
    "was archived. Open the thread again, or set one with !slotcalls channel"
)

WEB = Path(__file__).resolve().parents[3] / "core" / "web"
BREAKPOINT = re.compile(r"@media[^{]*?(?:min|max)-width:\s*(\d+)px")
GUILD = 111111111111111111
ADMIN = 900000000000000001
ROLE = 222222222222222201
LINKED_ROLE = 222222222222222202
CHANNEL = 333333333333333301
WIDTHS = (360, 1366)
WIDEST_PHONE = 430  # no breakpoint may fall between 360 px and this: the phones share a layout
DOCS = {360: "phone", 1366: "desktop"}  # the widths `make screenshots` keeps in docs/screenshots
SERIOUS = {"serious", "critical"}

PUBLIC = ("/", "/terms", "/privacy", "/raffle/1", "/setup")  # /setup: the browser is on loopback
SIGNED_IN = ("/dashboard/", "/me/")
GUILD_PAGES = (
    "",
    "connections/",
    "watchtime/",
    "linking/",
    "roles/",
    "raffle/",
    "vip/",
    "slot-calls/",
    "heist/",
    "overlays/",
    "alerts/",
    "events/",
    "payments/",
)  # (raffle/standings, vip/list and vip/log are parts these pages fetch, not pages)


# Every Discord id the seed gives a name (the server, its members, role and channel): none may
# show in a page's text, only the name.
NAMED = {GUILD: "Stream Server", ADMIN: "bea", ADMIN + 1: "Ana Kay", ADMIN + 3: "Cyrus",
         ROLE: "Regulars", LINKED_ROLE: "Linked", CHANNEL: "announcements"}  # fmt: skip


@pytest.fixture
def site_settings() -> dict[str, str]:
    return {"RAFFLE_BEACON_URL": "http://127.0.0.1:9"}  # nothing answers: draws wait, then forced


def _seed_directory(rt) -> None:  # type: ignore[no-untyped-def]
    roles = (Role(ROLE, "Regulars", 2, 0x3498DB, assignable=True),
             Role(LINKED_ROLE, "Linked", 1, 0x2ECC71, assignable=True),
             Role(GUILD, "@everyone", 0, is_default=True))  # fmt: skip
    # A thread, named with its channel as the bot keeps it, as long as a name is kept: every
    # channel picker offers it, and it still fits a phone.
    thread = "announcements \u203a " + "Giveaway winners and the rules of every giveaway " * 2
    channels = (
        Channel(CHANNEL, "announcements", "text", 0, can_post=True),
        Channel(CHANNEL + 50, thread[:100], "thread", 0, can_post=True),
    )
    server = Server(GUILD, "Stream Server", can_manage_roles=True)
    rt.directory.record_server(Snapshot(server, roles, channels))
    members = [Member(user_id, name) for user_id, name in NAMED.items() if user_id >= ADMIN]
    rt.directory.record_members(GUILD, members)  # ADMIN + 2 stays unseen: its id is shown


def _seed_raffle(rt) -> None:  # type: ignore[no-untyped-def]
    raffle = rt.raffle
    raffle.periods.configure(GUILD, "channel", str(CHANNEL))
    for round_ in ("closed", "open"):
        raffle.periods.start(GUILD)
        for n, (name, tickets) in enumerate((("ana_kick", 40), ("cy", 25), ("ana_kick", -5))):
            raffle.admin.give(GUILD, actor_id=ADMIN, member_id=None, tickets=tickets,
                              reason="quiz" if tickets > 0 else "", username=name,
                              reference=f"seed:{round_}:{n}")  # fmt: skip
        if round_ == "closed":
            raffle.periods.end(GUILD)
            raffle.draws.request(GUILD, actor_id=ADMIN, winners=2, prize="A mug")
            raffle.draws.force(GUILD, actor_id=ADMIN)


def _seed(site) -> None:  # type: ignore[no-untyped-def]
    rt = site.runtime
    rt.guilds.ensure_guild(GUILD, "Stream Server")
    _seed_directory(rt)
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    for number, name in enumerate(("ana_kick", "a_viewer_with_a_rather_long_name_indeed", "cy")):
        user_id = str(5001 + number)
        rt.linking.link(guild_id=GUILD, discord_user_id=ADMIN + number + 1,
                        platform=Platform.KICK, platform_user_id=user_id,
                        username=name)  # fmt: skip
        with rt.engine.begin() as conn:
            row = {"guild_id": GUILD, "platform": "kick", "platform_user_id": user_id}
            conn.execute(sa.insert(watchtime).values(**row, seconds=5400 * (number + 1)))
            remember_viewers(conn, Platform.KICK, [Viewer(user_id, name)], rt.clock())
        rt.points.give(GUILD, Platform.KICK, user_id, 250 * (number + 1), actor="test")
    rt.linking.unlink(GUILD, ADMIN + 3, actor_id=ADMIN)
    rt.linking.record_refusal(GUILD, ADMIN + 2, "already_linked", Platform.TWITCH)
    rt.linking.set_linked_role(GUILD, LINKED_ROLE)
    rt.linking.set_log_channel(GUILD, CHANNEL)
    rt.roles.add_tier(GUILD, ROLE, 600)
    _seed_raffle(rt)
    event = dataclasses.replace(make_event("hello chat"), broadcaster_user_id="1001")
    rt.bus.publish(event)
    now = rt.clock()
    with rt.engine.begin() as conn:  # what ticks left over two days: the watchtime charts
        for hours_ago in range(0, 48, 3):
            record(conn, {GUILD: 20 + hours_ago}, 60, now - timedelta(hours=hours_ago))
    _seed_vip_and_heists(rt.engine, now)
    _seed_alerts(rt)
    with rt.engine.begin() as conn:  # a heist payout StreamElements left in doubt
        queue_payment(conn, GUILD, "a_viewer_with_a_rather_long_name_indeed", 1500, "heist",
                      "7:5002:payout", now, heist_id=7)  # fmt: skip
        queue_payment(conn, GUILD, "ana_kick", 300, "admin", "discord:seed", now,
                      actor_id=ADMIN, reason="raid night")  # fmt: skip
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.service == "streamelements")
            .values(state="uncertain", result="StreamElements answered 500", finished_at=now)
        )
    _seed_undone(rt.engine, now)


def _seed_undone(engine, now) -> None:  # type: ignore[no-untyped-def]
    """What the bot could not do, for the overview's list: a slot call Discord would not take
    and a chat line the bot gave up on."""
    with engine.begin() as conn:
        long_name = "a_viewer_with_a_rather_long_name_indeed"
        queue_post(conn, GUILD, 77, CHANNEL, 1, now, who=long_name, slot="Gates of Olympus")
        line = "ana_kick won 1,500 points in the heist!"
        queue_line(conn, Platform.KICK, GUILD, "1001", line, "seed:line", now)
        for service, state, result in (
            ("discord", "refused", NOT_FOUND),
            (
                "kick-chat",
                "failed",
                "gave up after 8 attempts: Kick answered 503 Service Unavailable",
            ),
        ):
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.service == service, outbox.c.state == "pending")
                .values(state=state, result=result, finished_at=now)
            )


def _seed_alerts(rt) -> None:  # type: ignore[no-untyped-def]
    """A picture, a sound with a long name, a variation and a goal: the alerts page's lists."""
    from tests.web.dashboard.test_alerts_page import png, wav

    settings = rt.overlays.alert_settings
    picture = settings.upload(GUILD, "confetti.png", png()).media_id
    sound = settings.upload(GUILD, "a_rather_long_sound_file_name_for_a_phone.wav", wav()).media_id
    typed = {"threshold": "10", "template": "{who} x{amount}!", "image_id": picture}
    settings.save_variation(GUILD, "gifted_subs", {**typed, "sound_id": sound})
    rt.overlays.goal.save(GUILD, {"measure": "subs", "target": "50", "title": "Road to 50"})


def _seed_vip_and_heists(engine, now) -> None:  # type: ignore[no-untyped-def]
    """A VIP reward with limits and a log naming a viewer and an unknown one; heists over the
    last days, for the heist charts."""
    with engine.begin() as conn:
        reward = {"reward_id": "r-1", "reward_title": "VIP for a day", "reward_cost": 5000}
        limits = limit_columns(RewardLimits("Say hi in chat!", 3, 1, 300))
        vip_repository.save_settings(conn, GUILD, {**reward, **limits}, now)
        for user_id, name, action in (("5001", "ana_kick", "granted"), ("7777", "7777", "refused")):
            vip_repository.add_audit(conn, AuditEntry(
                guild_id=GUILD, platform=Platform.TWITCH, broadcaster_user_id="1", action=action,
                platform_user_id=user_id, username=name, actor_kind="viewer", actor_id=user_id,
                at=now - timedelta(hours=1), reason="no slots" if action == "refused" else None,
            ))  # fmt: skip
        for days_ago in range(6):
            crew = [
                (
                    100 * (days_ago + 1),
                    days_ago % 2 == 0,
                    150 * (days_ago + 1) if days_ago % 2 == 0 else 0,
                ),
                (50, False, 0),
            ]
            add_heist(conn, GUILD, "resolved", now - timedelta(days=days_ago), crew)
        add_heist(conn, GUILD, "cancelled", now - timedelta(days=2), [(80, None, None)])


@pytest.fixture
def signed_in(page, site, discord):  # type: ignore[no-untyped-def]
    _seed(site)
    admin = discord.add_user(ADMIN, "bea").member_of(GUILD, "Stream Server", MANAGE_GUILD)
    discord.sign_in_as(admin)
    page.goto(site.url + "/")
    page.click("text=Log in with Discord")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")
    return page


def _every_path() -> list[str]:
    guild = [f"/dashboard/{GUILD}/{tail}" for tail in GUILD_PAGES]
    return [*PUBLIC, *SIGNED_IN, *guild]


def _problems(page, axe: Axe) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
                .slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '')
                    + (e.className ? '.' + e.className : ''))"""
        )
        found.append(f"{overflow} px wider than the screen ({', '.join(wide)})")
    results = axe.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [node["target"] for node in violation["nodes"][:3]]
            found.append(f"axe {violation['impact']}: {violation['id']} at {targets}")
    return found


def _ids_shown(page) -> list[str]:  # type: ignore[no-untyped-def]
    text = page.locator("body").inner_text()
    return [f"{NAMED[i]}'s id {i}" for i in NAMED if str(i) in text]


def test_no_page_scrolls_sideways_or_fails_axe(signed_in, site, shot):
    from tests.web.browser.test_streamer_words import OPERATORS_PAGES, code_words, stored_names

    page = signed_in
    axe = Axe()
    names = stored_names(site.runtime.engine)
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in _every_path():
            response = page.goto(site.url + path)
            assert response is not None, path
            assert response.status == 200, (path, response.status)
            found = [*_problems(page, axe), *_ids_shown(page)]
            if width == 1366 and path not in OPERATORS_PAGES:
                found += [f"a word of the code: {w}" for w in code_words(page, names)]
            problems += [f"{path} at {width} px: {p}" for p in found]
            name = path.strip("/").replace("/", "-").replace(str(GUILD), "guild") or "home"
            shot(page, f"page-{name}-{DOCS.get(width, width)}", keep=width in DOCS)
    assert not problems, "\n".join(problems)


def test_the_charts_are_drawn_from_their_tables(signed_in, site, shot):
    page = signed_in
    page.goto(f"{site.url}/dashboard/{GUILD}/watchtime/")
    for chart in ("per-day", "crowd"):
        found = "id => window.Chart && Chart.getChart(document.querySelector(`#${id} canvas`))"
        drawn = page.evaluate(f"id => Boolean(({found})(id))", chart)
        assert drawn, chart
    points = page.evaluate("() => Chart.getChart(document.querySelector('#crowd canvas')).data")
    assert len(points["labels"]) == 16  # one point per hour that had anyone
    assert points["datasets"][0]["data"][-1] == 20  # the latest hour's crowd
    shot(page, "dashboard-watchtime-charts")

    page.goto(f"{site.url}/dashboard/{GUILD}/heist/")
    outcomes = page.evaluate(
        "() => Chart.getChart(document.querySelector('#heist-outcomes canvas')).data"
    )
    assert [d["label"] for d in outcomes["datasets"]] == [
        "Everyone got away", "Some got away", "All caught", "Cancelled"
    ]  # fmt: skip
    assert len(outcomes["labels"]) == 30
    assert outcomes["datasets"][3]["data"][-3] == 1  # the heist cancelled two days ago
    points = page.evaluate(
        "() => Chart.getChart(document.querySelector('#heist-points canvas')).data"
    )
    assert [d["label"] for d in points["datasets"]] == ["Staked", "Paid out"]
    assert points["datasets"][0]["data"][-1] == 150  # today's stakes: 100 and 50
    shot(page, "dashboard-heist-charts")


def test_every_phone_gets_the_layout_checked_at_360_px():
    """The pages are checked at 360 px for every phone: no stylesheet or page changes its layout
    at a width between 360 px and the widest phone's."""
    breakpoints = []
    for path in WEB.rglob("*"):
        if path.suffix in {".css", ".html"}:
            text = path.read_text("utf-8")
            breakpoints += [(path.name, int(px)) for px in BREAKPOINT.findall(text)]
    assert breakpoints  # the stylesheets were read
    inside = [(name, px) for name, px in breakpoints if 360 <= px < WIDEST_PHONE]
    assert not inside, f"a layout changes between 360 px and {WIDEST_PHONE} px: {inside}"


def test_the_overview_of_a_server_that_removed_the_bot_says_so_and_fits(signed_in, site, shot):
    site.runtime.guilds.mark_left(GUILD)
    page = signed_in
    axe = Axe()
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        response = page.goto(f"{site.url}/dashboard/{GUILD}/")
        assert response is not None
        assert response.status == 200
        notice = page.locator(".left-server").inner_text()
        assert notice.startswith("The bot was removed from this Discord server on "), notice
        assert "Invite the bot to the server again to resume everything." in notice
        problems += [f"at {width} px: {p}" for p in _problems(page, axe)]
        shot(page, f"page-guild-left-{DOCS[width]}")
    assert not problems, "\n".join(problems)
