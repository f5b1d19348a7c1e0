"""Alert styles, variations and uploads on a real database (both backends): kept per guild, a
file only ever read back by its own guild, and deleting one takes it out of every choice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.events import Cheered, Platform, Subscribed, Viewer
from core.features.overlays.alert_kinds import MAX_VARIATIONS
from core.features.overlays.media import MAX_FILES
from core.features.overlays.settings import OverlayRefused
from tests.features.overlays.conftest import GUILD_A, GUILD_B, NOW
from tests.web.dashboard.test_alerts_page import png, wav


def test_a_file_is_kept_with_the_data_and_read_back_only_by_its_guild(overlays):
    settings = overlays.alert_settings
    info = settings.upload(GUILD_A, "party.png", png(3, 2))
    assert (info.what, info.content_type, info.size) == ("image", "image/png", len(png(3, 2)))
    found = settings.media_file(GUILD_A, info.media_id)
    assert found is not None
    assert (found.content_type, found.data) == ("image/png", png(3, 2))
    assert settings.media_file(GUILD_B, info.media_id) is None
    assert settings.media_file(GUILD_A, "../" + info.media_id) is None
    assert [m.name for m in settings.media(GUILD_A)] == ["party.png"]
    assert settings.media(GUILD_B) == []


def test_deleting_a_file_takes_it_out_of_every_choice(overlays):
    settings = overlays.alert_settings
    sound = settings.upload(GUILD_A, "horn.wav", wav()).media_id
    typed = {"enabled": "on", "template": "{who} cheered", "seconds": "5", "sound_id": sound}
    settings.save_style(GUILD_A, "cheer", typed)
    settings.save_variation(GUILD_A, "cheer", {"threshold": "100", "sound_id": sound})
    assert settings.delete_media(GUILD_A, sound)
    cheer = next(k for k in settings.kinds(GUILD_A) if k.kind == "cheer")
    assert cheer.style.sound_id is None
    assert [v.sound_id for v in cheer.variations] == [None]
    assert not settings.delete_media(GUILD_A, sound)


def test_variations_are_bounded_and_need_an_amount(overlays):
    settings = overlays.alert_settings
    with pytest.raises(OverlayRefused, match="no amount to vary by"):
        settings.save_variation(GUILD_A, "follow", {"threshold": "5", "template": "{who}!"})
    with pytest.raises(OverlayRefused, match="at least one"):
        settings.save_variation(GUILD_A, "raid", {"threshold": "5"})
    for n in range(MAX_VARIATIONS):
        settings.save_variation(GUILD_A, "raid", {"threshold": str(n + 1), "template": "{who}"})
    with pytest.raises(OverlayRefused, match=f"At most {MAX_VARIATIONS}"):
        settings.save_variation(GUILD_A, "raid", {"threshold": "99", "template": "{who}"})
    settings.save_variation(GUILD_A, "raid", {"threshold": "3", "template": "{who} x3"})  # same
    assert settings.delete_variation(GUILD_A, "raid", "3")


def test_an_alert_plays_its_kinds_look_and_each_event_once(overlays):
    settings = overlays.alert_settings
    picture = settings.upload(GUILD_A, "bits.gif", b"GIF89a" + b"\x00" * 20).media_id
    typed = {"enabled": "on", "template": "{who}: {amount}", "seconds": "9", "image_id": picture}
    settings.save_style(GUILD_A, "cheer", typed)
    cheer = Cheered(platform=Platform.TWITCH, event_id="c1", broadcaster_user_id="1",
                    occurred_at=NOW, viewer=Viewer("5", "bitsy"), bits=250)  # fmt: skip
    overlays.event_alerts.handle(GUILD_A, cheer)
    overlays.event_alerts.handle(GUILD_A, cheer)  # redelivered
    [alert] = overlays.alerts_after(GUILD_A, 0)
    assert (alert.kind, alert.title, alert.amount, alert.image_id, alert.seconds) == (
        "cheer", "bitsy: 250", 250, picture, 9,
    )  # fmt: skip
    assert overlays.alerts_after(GUILD_B, 0) == []


def test_one_subscription_told_by_twitchs_two_sources_alerts_once(overlays):
    viewer = Viewer("5", "subby")
    twitch = {"platform": Platform.TWITCH, "broadcaster_user_id": "1", "occurred_at": NOW}
    told = [
        Subscribed(**twitch, event_id="m1", viewer=viewer, tier="1000",
                   source_type="channel.subscribe"),
        Subscribed(**twitch, event_id="m2", viewer=viewer, tier="1000", is_prime=True,
                   source_type="channel.chat.notification"),
        Subscribed(**twitch, event_id="m3", viewer=viewer, is_renewal=True, months=14,
                   source_type="channel.subscription.message"),
        Subscribed(**twitch, event_id="m4", viewer=viewer, is_renewal=True, months=14,
                   source_type="channel.chat.notification"),
    ]  # fmt: skip
    for event in told:
        overlays.event_alerts.handle(GUILD_A, event)
    titles = [a.title for a in overlays.alerts_after(GUILD_A, 0)]
    assert titles == ["subby subscribed (Tier 1)!", "subby resubscribed for 14 months!"]


def test_twitchs_two_sources_of_one_sub_across_a_months_turn_alert_and_move_once(overlays, clock):
    """channel.subscribe stamped at 23:59:59.8 on the 31st, the chat notice at 00:00:00.3 on the
    1st: on the old code, a reference per month, so two alerts and two steps of the subs goal."""
    turn = datetime(2026, 4, 1, tzinfo=UTC)
    clock.now = turn - timedelta(minutes=5)
    overlays.goal.save(GUILD_A, {"measure": "subs", "target": "100", "title": ""})
    viewer = Viewer("5", "subby")
    twitch = {"platform": Platform.TWITCH, "broadcaster_user_id": "1", "viewer": viewer}
    told = [
        Subscribed(**twitch, event_id="m1", occurred_at=turn - timedelta(seconds=0.2),
                   tier="1000", source_type="channel.subscribe"),
        Subscribed(**twitch, event_id="m2", occurred_at=turn + timedelta(seconds=0.3),
                   tier="1000", source_type="channel.chat.notification"),
    ]  # fmt: skip
    clock.now = turn + timedelta(seconds=1)
    for event in told:
        overlays.event_alerts.handle(GUILD_A, event)
        overlays.goal.handle(GUILD_A, event)
    assert [a.title for a in overlays.alerts_after(GUILD_A, 0)] == ["subby subscribed (Tier 1)!"]
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1


def test_uploads_at_the_same_moment_never_pass_the_file_limit(overlays):
    """The server keeps at most 50 files: 12 uploads at once with 5 places left keep 5 and
    tell the other 7 to delete one first (each upload its own transaction, as two requests
    are). Raced a few times over, as a race may go either way once."""
    settings = overlays.alert_settings
    for n in range(MAX_FILES - 5):
        settings.upload(GUILD_A, f"f{n}.png", png(1, 1))
    settings.upload(GUILD_B, "other.png", png(1, 1))  # another server's file counts there
    refusal = "This server keeps at most 50 files: delete one first."
    for _ in range(4):
        start = threading.Barrier(12)
        answers: list[str] = []

        def upload(n: int, start=start, answers=answers) -> None:  # type: ignore[no-untyped-def]
            start.wait()
            try:
                answers.append(settings.upload(GUILD_A, f"at-once-{n}.png", png(2, 2)).media_id)
            except OverlayRefused as refused:
                answers.append(str(refused))

        threads = [threading.Thread(target=upload, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert answers.count(refusal) == 7
        assert len(settings.media(GUILD_A)) == MAX_FILES
        for media_id in answers:
            if media_id != refusal:
                settings.delete_media(GUILD_A, media_id)
    assert len(settings.media(GUILD_B)) == 1
