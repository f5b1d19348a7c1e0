"""The alerts and goal page: each kind's style saved (an unknown field in the words refused in
the streamer's words, nothing saved), uploads checked by their bytes and the size cap, served
only through this guild's alerts overlay token, variations by amount, the goal set, moved and
reset, and replay from the recent events; another guild's page 403, no CSRF token 403."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime

import pytest

from core.events import Cheered, Followed, Platform, SubscriptionsGifted, Viewer
from core.web.dashboard.security import CSRF_FIELD
from tests.web.dashboard.conftest import CSRF, GUILD, OTHER_GUILD, post

PAGE = f"/dashboard/{GUILD}/alerts/"
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG (what a browser shows)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def wav() -> bytes:
    """A short, silent WAV."""
    samples = b"\x00\x00" * 800
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    data = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
    data += struct.pack("<I", len(samples)) + samples
    return b"RIFF" + struct.pack("<I", 4 + len(data)) + b"WAVE" + data


def upload(client, name: str, data: bytes, guild: int = GUILD):  # type: ignore[no-untyped-def]
    return client.post(
        f"/dashboard/{guild}/alerts/media",
        data={CSRF_FIELD: CSRF, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def media_ids(site, guild: int = GUILD) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.name: m.media_id for m in site.runtime.overlays.alert_settings.media(guild)}


def test_the_page_lists_every_kind_and_is_in_the_navigation(site):
    page = site.client().get(PAGE)
    assert page.status_code == 200
    for label in ("New follower", "Raid or host", "Cheer (Twitch bits)", "Gifted subs"):
        assert label in page.text
    assert "KICKs sent (Kick)" in page.text  # Kick's own spelling of its currency
    assert f'href="{PAGE}"' in page.text
    assert site.client().get(f"/dashboard/{OTHER_GUILD}/alerts/").status_code == 403


@pytest.mark.parametrize("path", [PAGE, f"/dashboard/{GUILD}/overlays/", "/privacy"])
def test_kicks_are_spelled_as_kick_spells_them(site, path):
    """Kick calls its currency KICKs: the pages naming it say so, never "Kicks"."""
    page = site.client().get(path)
    assert page.status_code == 200
    assert "KICKs" in page.text
    assert "Kicks" not in page.text


def test_a_style_is_saved_and_an_unknown_field_is_refused_in_words(site):
    client = site.client()
    answer = post(
        client,
        f"{PAGE}style/follow",
        enabled="on",
        template="Welcome {who.__class__}",
        seconds="8",
    )
    assert answer.status_code == 400
    assert "is not something an alert can show" in answer.text
    assert "{who}, {amount}, {tier}, {message}" in answer.text
    answer = post(client, f"{PAGE}style/follow", template="{who} joined {", seconds="8")
    assert answer.status_code == 400
    assert "A brace is missing its pair" in answer.text
    style = site.runtime.overlays.alert_settings.kinds(GUILD)[0].style
    assert style.template == "{who} just followed!"  # nothing saved
    answer = post(
        client, f"{PAGE}style/follow", follow_redirects=True, template="Hi {who}!", seconds="8"
    )
    assert "Alert saved; it is off." in answer.text
    style = site.runtime.overlays.alert_settings.kinds(GUILD)[0].style
    assert (style.enabled, style.template, style.seconds) == (False, "Hi {who}!", 8)


def test_a_file_over_the_cap_is_refused_with_its_real_size(site):
    # 250,000 bytes against a cap of 200,000: the streamer reads how big it is and how far
    # over, not "0.2 MB; the largest is 0.2 MB". (Under 500 kB, so that Werkzeug's test client
    # builds the request in memory, not in a temporary file it leaves open.)
    site.runtime.overlays.alert_settings.media_max_bytes = 200_000
    too_big = upload(site.client(), "horn.wav", wav() + b"\x00" * (250_000 - len(wav())))
    assert too_big.status_code == 400
    assert "That file is 250 kB; the largest this server takes is 200 kB." in too_big.text
    assert media_ids(site) == {}


def test_the_older_kinds_keep_their_switch_in_the_overlay_settings(site):
    post(site.client(), f"{PAGE}style/gifted_subs", template="{who} x{amount}", seconds="6")
    assert site.runtime.overlays.settings(GUILD).alert_gifts is False


def test_uploads_are_checked_by_their_bytes_and_the_size_cap(site):
    client = site.client()
    refused = upload(client, "evil.png", b"<script>alert(1)</script>")
    assert refused.status_code == 400
    assert "not a picture (PNG, JPEG, GIF, WebP) or a sound (MP3, Ogg, WAV)" in refused.text
    site.runtime.overlays.alert_settings.media_max_bytes = 1_000
    too_big = upload(client, "big.wav", wav() + b"\x00" * 2_000)
    assert too_big.status_code == 400
    assert "That file is 4 kB; the largest this server takes is 1 kB." in too_big.text
    site.runtime.overlays.alert_settings.media_max_bytes = 900_000
    assert media_ids(site) == {}
    assert "Uploaded cheer.png (image)" in upload(client, "cheer.png", png()).text
    assert "Uploaded ding (sound)" in upload(client, "ding", wav()).text
    assert set(media_ids(site)) == {"cheer.png", "ding"}
    assert media_ids(site, OTHER_GUILD) == {}


def test_media_is_served_only_through_this_guilds_alerts_token(site):
    client = site.client()
    upload(client, "cheer.png", png())
    media_id = media_ids(site)["cheer.png"]
    overlays = site.runtime.overlays
    mine = overlays.link(GUILD, "alerts").path
    served = site.app.test_client().get(f"{mine}/media/{media_id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.data == png()
    theirs = overlays.link(OTHER_GUILD, "alerts").path
    assert site.app.test_client().get(f"{theirs}/media/{media_id}").status_code == 404
    heist = overlays.link(GUILD, "heist").path
    assert site.app.test_client().get(f"{heist}/media/{media_id}").status_code == 404
    assert site.app.test_client().get(f"{mine}/media/{'0' * 32}").status_code == 404


def test_a_style_may_only_pick_this_guilds_files_of_the_right_kind(site):
    client = site.client()
    upload(client, "cheer.png", png())
    upload(site.client(manages=(GUILD, OTHER_GUILD)), "theirs.png", png(), guild=OTHER_GUILD)
    picture = media_ids(site)["cheer.png"]
    answer = post(client, f"{PAGE}style/cheer", template="{who}", seconds="5", sound_id=picture)
    assert answer.status_code == 400
    assert "Choose one of your uploaded sounds" in answer.text
    theirs = media_ids(site, OTHER_GUILD)["theirs.png"]
    answer = post(client, f"{PAGE}style/cheer", template="{who}", seconds="5", image_id=theirs)
    assert answer.status_code == 400


def test_the_variation_with_the_highest_threshold_at_or_below_the_amount_wins(site):
    client = site.client()
    upload(client, "small.png", png())
    upload(client, "big.png", png(3, 3))
    upload(client, "horn.wav", wav())
    ids = media_ids(site)
    post(
        client,
        f"{PAGE}style/cheer",
        enabled="on",
        template="{who} cheered {amount}",
        seconds="5",
        image_id=ids["small.png"],
    )
    post(client, f"{PAGE}variation/cheer", threshold="100", template="{who} cheered big!")
    answer = post(
        client,
        f"{PAGE}variation/cheer",
        follow_redirects=True,
        threshold="1,000",
        image_id=ids["big.png"],
        sound_id=ids["horn.wav"],
    )
    assert "Variation saved: from 1,000 on." in answer.text
    handle = site.runtime.overlays.event_alerts.handle
    for n, bits in enumerate((99, 100, 999, 1000, 5000)):
        event = Cheered(
            platform=Platform.TWITCH,
            event_id=f"cheer-{n}",
            broadcaster_user_id="1",
            occurred_at=AT,
            viewer=Viewer("5", "bitsy"),
            bits=bits,
        )
        handle(GUILD, event)
    shown = [
        (a.title, a.image_id, a.sound_id, a.amount)
        for a in site.runtime.overlays.alerts_after(GUILD, 0)
    ]
    assert shown == [
        ("bitsy cheered 99", ids["small.png"], None, 99),
        ("bitsy cheered big!", ids["small.png"], None, 100),
        ("bitsy cheered big!", ids["small.png"], None, 999),
        ("bitsy cheered 1,000", ids["big.png"], ids["horn.wav"], 1000),
        ("bitsy cheered 5,000", ids["big.png"], ids["horn.wav"], 5000),
    ]


def test_deleting_a_variation_says_whether_it_was_there(site):
    """A variation deleted in another tab (or by a double click) is said to be gone already,
    not deleted again."""
    client = site.client()
    post(client, f"{PAGE}variation/cheer", threshold="100", template="{who} cheered big!")

    first = post(client, f"{PAGE}variation/cheer/delete", follow_redirects=True, threshold="100")
    again = post(client, f"{PAGE}variation/cheer/delete", follow_redirects=True, threshold="100")

    assert "Variation deleted." in first.text
    assert "That variation was deleted already." in again.text
    assert "Variation deleted." not in again.text


def test_a_kind_turned_off_records_nothing(site):
    post(site.client(), f"{PAGE}style/follow", template="{who}", seconds="5")
    event = Followed(
        platform=Platform.KICK,
        event_id="f1",
        broadcaster_user_id="1",
        occurred_at=AT,
        viewer=Viewer("7", "newbie"),
    )
    site.runtime.overlays.event_alerts.handle(GUILD, event)
    assert site.runtime.overlays.alerts_after(GUILD, 0) == []


def test_the_goal_is_set_moved_once_per_gift_and_reset(site):
    client = site.client()
    answer = post(client, f"{PAGE}goal", measure="gifted_subs", target="abc")
    assert answer.status_code == 400
    assert "The goal is a whole number" in answer.text
    post(client, f"{PAGE}goal", measure="gifted_subs", target="20", title="Gift train")
    gift = SubscriptionsGifted(
        platform=Platform.TWITCH,
        event_id="g1",
        broadcaster_user_id="1",
        occurred_at=datetime.now(UTC),
        gifter=Viewer("9", "santa"),
        count=5,
        gift_key="9:5",
    )
    goal = site.runtime.overlays.goal
    goal.handle(GUILD, gift)
    goal.handle(GUILD, gift)  # the same gift again (a second source): counted once
    assert goal.view(GUILD)["goal"]["progress"] == 5
    assert goal.view(OTHER_GUILD)["goal"] is None
    page = client.get(PAGE)
    assert "Gift train" in page.text
    assert "5 of 20 gifted subs" in page.text
    answer = post(client, f"{PAGE}goal/reset", follow_redirects=True)
    assert "counts from zero again" in answer.text
    assert goal.view(GUILD)["goal"]["progress"] == 0


def test_replay_shows_a_recent_event_again_even_when_its_kind_is_off(site):
    rt = site.runtime
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    follow = Followed(
        platform=Platform.KICK,
        event_id="f-replay",
        broadcaster_user_id="1001",
        occurred_at=datetime.now(UTC),
        viewer=Viewer("7", "newbie"),
    )
    assert rt.bus.publish(follow)
    client = site.client()
    post(client, f"{PAGE}style/follow", template="{who} is here", seconds="5")  # off
    page = client.get(PAGE)
    assert "newbie followed" in page.text
    ref = page.text.split('name="ref" value="', 1)[1].split('"', 1)[0]
    answer = post(client, f"{PAGE}replay", follow_redirects=True, ref=ref)
    assert "Replayed on the alerts overlay (alert #1)" in answer.text
    assert [a.title for a in rt.overlays.alerts_after(GUILD, 0)] == ["newbie is here"]
    again = post(client, f"{PAGE}replay", follow_redirects=True, ref=ref)
    assert "alert #2" in again.text  # a replay is a new alert each time
    refused = post(
        site.client(manages=(GUILD, OTHER_GUILD)),
        f"/dashboard/{OTHER_GUILD}/alerts/replay",
        ref=ref,
    )
    assert refused.status_code == 400  # not that guild's event
    assert rt.overlays.alerts_after(OTHER_GUILD, 0) == []


def test_a_post_without_the_csrf_token_is_refused(site):
    answer = site.client().post(f"{PAGE}goal", data={"measure": "subs", "target": "5"})
    assert answer.status_code == 403


def test_the_event_logs_activity_feed_replays_an_event_and_comes_back(site):
    rt = site.runtime
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    follow = Followed(
        platform=Platform.KICK,
        event_id="f-feed",
        broadcaster_user_id="1001",
        occurred_at=datetime.now(UTC),
        viewer=Viewer("8", "fan"),
    )
    assert rt.bus.publish(follow)
    client = site.client()
    log = client.get(f"/dashboard/{GUILD}/events/")
    assert log.text.count('aria-label="Replay on the alerts overlay: fan followed"') == 1
    ref = log.text.split('name="ref" value="', 1)[1].split('"', 1)[0]
    answer = post(client, f"{PAGE}replay", follow_redirects=True, ref=ref, back="events")
    assert "Replayed on the alerts overlay (alert #1)" in answer.text
    assert answer.request.path == f"/dashboard/{GUILD}/events/"  # back on the event log
    assert [a.title for a in rt.overlays.alerts_after(GUILD, 0)] == ["fan just followed!"]
