"""Overlay tokens, settings and the alert feed on both backends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from core.events import Followed, Platform, SubscriptionsGifted, Viewer
from core.features.overlays import repository
from core.features.overlays.service import OverlayService, token_hash
from core.features.overlays.settings import (
    MAX_MILESTONE,
    MAX_MILESTONES,
    OverlayRefused,
)
from core.features.overlays.tables import overlay_settings, overlay_tokens
from core.security.secrets import TokenCipher
from tests.features.overlays.conftest import GUILD_A, GUILD_B, NOW, audit, vip_entry


def token_of(link) -> str:
    return link.path.removeprefix("/overlay/")


# --- tokens ----------------------------------------------------------------------------------


def test_a_link_is_made_once_and_opens_its_guild_and_kind(overlays):
    first = overlays.link(GUILD_A, "heist")
    again = overlays.link(GUILD_A, "heist")
    assert first.path == again.path
    token = token_of(first)
    assert len(token) == 32  # 24 random bytes: 192 bits
    opened = overlays.open(token)
    assert (opened.guild_id, opened.kind) == (GUILD_A, "heist")


def test_each_kind_and_guild_has_its_own_token(overlays):
    paths = {
        overlays.link(g, k).path for g in (GUILD_A, GUILD_B) for k in ("heist", "raffle", "alerts")
    }
    assert len(paths) == 6
    for guild in (GUILD_A, GUILD_B):
        for kind in ("heist", "raffle", "alerts"):
            opened = overlays.open(token_of(overlays.link(guild, kind)))
            assert (opened.guild_id, opened.kind) == (guild, kind)


def test_the_token_is_stored_only_hashed_and_sealed(engine, overlays):
    token = token_of(overlays.link(GUILD_A, "alerts"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(overlay_tokens)).one()
    assert row.token_hash == token_hash(token)
    assert token not in row.token_sealed
    assert token not in row.token_hash


def test_rotating_invalidates_the_old_url_and_only_that_one(overlays):
    old = token_of(overlays.link(GUILD_A, "raffle"))
    other_kind = token_of(overlays.link(GUILD_A, "heist"))
    other_guild = token_of(overlays.link(GUILD_B, "raffle"))
    new = token_of(overlays.link(GUILD_A, "raffle", rotate=True))
    assert new != old
    assert overlays.open(old) is None
    assert overlays.open(new).guild_id == GUILD_A
    assert overlays.open(other_kind).kind == "heist"
    assert overlays.open(other_guild).guild_id == GUILD_B
    assert overlays.link(GUILD_A, "raffle").path == f"/overlay/{new}"


def test_two_first_uses_at_once_hand_out_the_same_working_link(engine, overlays, monkeypatch):
    """Two admins opening the Overlays page (or the page and `!overlay url`) at the same moment
    both see no link yet; the first stored wins and both are handed its URL (on the old code
    the second write replaced the first, whose URL answered 404 from the start)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE lets one of the two look only after the other")
    both_looked = threading.Barrier(2, timeout=10)
    find_token = repository.find_token
    looks = iter([True, True])  # only the first look of each caller meets the other

    def look_then_meet(conn, guild_id, kind):
        found = find_token(conn, guild_id, kind)
        if next(looks, False):
            both_looked.wait()  # both callers have seen "no link yet"
        return found

    monkeypatch.setattr(repository, "find_token", look_then_meet)
    with ThreadPoolExecutor(2) as pool:
        links = list(pool.map(lambda _: overlays.link(GUILD_A, "alerts"), range(2)))
    assert links[0].path == links[1].path
    opened = overlays.open(token_of(links[0]))
    assert (opened.guild_id, opened.kind) == (GUILD_A, "alerts")
    assert overlays.link(GUILD_A, "alerts").path == links[0].path


@pytest.mark.parametrize(
    "token",
    ["", "short", "x" * 32, "a" * 33, "../../etc/passwd", "%00" * 11, "é" * 32, "a b" * 11],
)
def test_anything_but_a_current_token_opens_nothing(overlays, token):
    overlays.link(GUILD_A, "heist")
    assert overlays.open(token) is None


def test_an_unknown_kind_is_refused(overlays):
    with pytest.raises(OverlayRefused, match="heist, raffle, alerts or goal"):
        overlays.link(GUILD_A, "chat")


def test_a_token_sealed_with_another_key_is_not_shown_as_garbage(engine, clock, overlays):
    overlays.link(GUILD_A, "heist")
    other = OverlayService(
        engine, clock, TokenCipher("b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDA=")
    )
    with pytest.raises(Exception, match="TOKEN_ENCRYPTION_KEY"):
        other.link(GUILD_A, "heist")


# --- settings --------------------------------------------------------------------------------

GOOD = {
    "alert_vip": "on",
    "alert_gifts": "on",
    "milestones": "1000, 100 500 100",
    "alert_seconds": "8",
    "accent_colour": "#FF0000",
    "text_colour": "#ffffff",
}


def test_settings_default_then_save_and_stay_per_guild(overlays):
    assert overlays.settings(GUILD_A).alert_seconds == 6
    saved = overlays.save_settings(GUILD_A, GOOD)
    assert saved.milestones == (100, 500, 1000)
    assert saved.accent_colour == "#ff0000"
    assert saved.alert_milestones is False  # absent checkbox: off
    assert overlays.settings(GUILD_A) == saved
    assert overlays.settings(GUILD_B).alert_milestones is True


def test_the_longest_milestones_the_form_accepts_are_saved(overlays):
    """Eight milestones near the cap: 80 characters stored; the column was 64 characters and
    PostgreSQL refused the row, so the Overlays form answered 500."""
    largest = [MAX_MILESTONE - n for n in range(MAX_MILESTONES)]
    saved = overlays.save_settings(GUILD_A, GOOD | {"milestones": " ".join(map(str, largest))})
    assert saved.milestones == tuple(sorted(largest))
    assert overlays.settings(GUILD_A).milestones == saved.milestones


def test_the_milestones_column_holds_any_list_the_parser_accepts():
    """Tied to the parser's limits, whatever they become: at most MAX_MILESTONES numbers of at
    most MAX_MILESTONE's digits, comma-separated (87 characters today)."""
    longest = MAX_MILESTONES * (len(str(MAX_MILESTONE)) + 1) - 1
    assert overlay_settings.c.milestones.type.length >= longest


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("accent_colour", "red", "six hex digits"),
        ("accent_colour", "#12345", "six hex digits"),
        ("text_colour", "#gggggg", "six hex digits"),
        ("text_colour", "", "six hex digits"),
        ("alert_seconds", "1", "between 2 and 60"),
        ("alert_seconds", "61", "between 2 and 60"),
        ("alert_seconds", "-3", "whole number"),
        ("alert_seconds", "٣", "whole number"),
        ("milestones", "10, ten", "not a whole number"),
        ("milestones", "0", "between 1 and"),
        ("milestones", "1 2 3 4 5 6 7 8 9", "At most 8"),
    ],
)
def test_bad_settings_are_refused_by_field_and_nothing_is_saved(overlays, field, value, words):
    with pytest.raises(OverlayRefused, match=words) as refused:
        overlays.save_settings(GUILD_A, GOOD | {field: value})
    assert refused.value.field == field
    assert overlays.settings(GUILD_A).alert_seconds == 6


# --- the alert feed --------------------------------------------------------------------------


def test_vip_grants_and_extensions_are_numbered_alerts(engine, overlays):
    audit(engine, vip_entry(GUILD_A, "granted"))
    audit(engine, vip_entry(GUILD_A, "extended"))
    audit(engine, vip_entry(GUILD_A, "removed"))  # not announced
    alerts = overlays.alerts_after(GUILD_A, 0)
    assert [(a.seq, a.kind) for a in alerts] == [(1, "vip_granted"), (2, "vip_extended")]
    assert alerts[0].title == "viewer77 is now a VIP"
    assert alerts[0].detail == "until Mar 11, 12:00 UTC"


def test_the_same_change_is_announced_once(engine, overlays):
    audit(engine, vip_entry(GUILD_A))
    audit(engine, vip_entry(GUILD_A))  # a replayed redemption's audit
    assert len(overlays.alerts_after(GUILD_A, 0)) == 1


def test_one_event_handled_by_two_processes_at_once_is_one_alert_and_no_error(
    engine, overlays, monkeypatch
):
    """Two web processes (or a retry racing the first delivery) record the same follow at the
    same moment: both see no alert for it yet. One alert is shown, and neither fails (on the old
    code the second hit the unique reference and raised, which also rolled back whatever else
    its transaction wrote, such as a viewer's raffle tickets)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE lets one of the two look only after the other")
    both_looked = threading.Barrier(2, timeout=10)
    has_alert = repository.has_alert
    looks = iter([True, True])

    def look_then_meet(conn, guild_id, source_ref):
        found = has_alert(conn, guild_id, source_ref)
        if next(looks, False):
            both_looked.wait()  # both have seen "not announced yet"
        return found

    monkeypatch.setattr(repository, "has_alert", look_then_meet)
    follow = Followed(
        platform=Platform.TWITCH,
        event_id="f-1",
        broadcaster_user_id="4242",
        occurred_at=NOW,
        viewer=Viewer("9", "fan"),
    )
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(overlays.event_alerts.handle, GUILD_A, follow) for _ in range(2)]
        errors = [future.exception(timeout=30) for future in done]
    assert errors == [None, None]
    assert [a.title for a in overlays.alerts_after(GUILD_A, 0)] == ["fan just followed!"]
    audit(engine, vip_entry(GUILD_A))  # the feed goes on after it
    assert [a.title for a in overlays.alerts_after(GUILD_A, 0)][-1] == "viewer77 is now a VIP"


def test_a_rolled_back_change_leaves_no_alert(engine, overlays):
    from core.features.vip import repository as vip_repository

    def grant_that_fails() -> None:
        with engine.begin() as conn:
            vip_repository.add_audit(conn, vip_entry(GUILD_A))
            raise RuntimeError("the grant failed after its audit")

    with pytest.raises(RuntimeError):
        grant_that_fails()
    assert overlays.alerts_after(GUILD_A, 0) == []
    audit(engine, vip_entry(GUILD_A))
    assert [a.seq for a in overlays.alerts_after(GUILD_A, 0)] == [1]


def test_catch_up_by_number_never_repeats(engine, overlays):
    for user in ("1", "2", "3", "4"):
        audit(engine, vip_entry(GUILD_A, user=user))
    assert [a.seq for a in overlays.alerts_after(GUILD_A, 2)] == [3, 4]
    assert overlays.alerts_after(GUILD_A, 4) == []
    assert [a.seq for a in overlays.alerts_after(GUILD_A, 0, limit=2)] == [1, 2]
    assert overlays.last_alert(GUILD_A) == 4


def test_each_guild_has_its_own_feed_and_numbers(engine, overlays):
    audit(engine, vip_entry(GUILD_A, user="1"))
    audit(engine, vip_entry(GUILD_B, user="2"))
    audit(engine, vip_entry(GUILD_A, user="3"))
    a = overlays.alerts_after(GUILD_A, 0)
    b = overlays.alerts_after(GUILD_B, 0)
    assert [(x.seq, x.title) for x in a] == [
        (1, "viewer1 is now a VIP"),
        (2, "viewer3 is now a VIP"),
    ]
    assert [(x.seq, x.title) for x in b] == [(1, "viewer2 is now a VIP")]


def test_an_alert_kind_turned_off_is_not_recorded(engine, overlays):
    overlays.save_settings(GUILD_A, {**GOOD, "alert_vip": ""})
    audit(engine, vip_entry(GUILD_A))
    assert overlays.alerts_after(GUILD_A, 0) == []


def test_a_test_alert_takes_the_next_number(engine, overlays):
    audit(engine, vip_entry(GUILD_A))
    assert overlays.send_test_alert(GUILD_A) == 2
    assert overlays.alerts_after(GUILD_A, 1)[0].kind == "test"


def gift(event_id: str, gift_key: str | None = "k1", count: int = 5) -> SubscriptionsGifted:
    return SubscriptionsGifted(
        platform=Platform.TWITCH,
        event_id=event_id,
        broadcaster_user_id="4242",
        occurred_at=NOW,
        gifter=Viewer("9", "generous"),
        count=count,
        gift_key=gift_key,
    )


def test_a_gift_is_announced_once_whichever_delivery_tells_it(overlays):
    overlays.alerts.gifts(GUILD_A, gift("e1"))
    overlays.alerts.gifts(GUILD_A, gift("e2"))  # the same gift from another source
    overlays.alerts.gifts(GUILD_A, gift("e3", gift_key="k2", count=1))
    titles = [a.title for a in overlays.alerts_after(GUILD_A, 0)]
    assert titles == ["generous gifted 5 subs", "generous gifted 1 sub"]


def test_a_follower_is_alerted_once_per_channel(overlays):
    """Unfollowing and following again (a new event, a new key), or a follow forwarded by
    another Kick app under its own message id, shows no second alert; the same viewer following
    another channel of the server, or on the other platform, is another follower. A follow
    whose source names no user id is alerted by its own key."""

    def follow(event_id: str, viewer: Viewer, platform=Platform.TWITCH, channel="1") -> Followed:
        return Followed(platform=platform, broadcaster_user_id=channel, event_id=event_id,
                        occurred_at=NOW, viewer=viewer)  # fmt: skip

    ann = Viewer("5", "ann")
    for event in (
        follow("first", ann),
        follow("again", ann),
        follow("other-channel", ann, channel="2"),
        follow("k1", ann, Platform.KICK),
        follow("k2", ann, Platform.KICK),
        follow("n1", Viewer(None, "nameless")),
        follow("n2", Viewer(None, "nameless")),
    ):
        overlays.event_alerts.handle(GUILD_A, event)
    titles = [a.title for a in overlays.alerts_after(GUILD_A, 0)]
    assert titles == ["ann just followed!"] * 3 + ["nameless just followed!"] * 2
    overlays.event_alerts.handle(GUILD_B, follow("again", ann))  # another server's own alert
    assert [a.title for a in overlays.alerts_after(GUILD_B, 0)] == ["ann just followed!"]
