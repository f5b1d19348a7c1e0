"""Each alert keeps the account of the viewer it names (its title holds their name, a cheer's or
KICKs' detail their message), so a person's export finds it and forgetting them deletes it; an
alert about no viewer (a test, an anonymous cheer) names none. On both backends."""

from __future__ import annotations

import sqlalchemy as sa

from core.events import Cheered, Followed, Platform, SubscriptionsGifted, Viewer
from core.features.overlays.alert_events import follow_reference
from core.features.overlays.tables import overlay_alerts
from core.features.person_data import Person, person_rows
from core.features.person_forget import forget
from tests.features.overlays.conftest import GUILD_A, NOW, audit, vip_entry
from tests.features.raffle.support import add_viewer


def _follow(event_id: str, viewer: Viewer) -> Followed:
    return Followed(platform=Platform.KICK, broadcaster_user_id="555", event_id=event_id,
                    occurred_at=NOW, viewer=viewer)  # fmt: skip


def _cheer(event_id: str, viewer: Viewer | None) -> Cheered:
    return Cheered(platform=Platform.TWITCH, broadcaster_user_id="4242", event_id=event_id,
                   occurred_at=NOW, viewer=viewer, bits=100, message="hi")  # fmt: skip


def _stored(engine) -> dict[str, tuple[str | None, str | None]]:
    a = overlay_alerts.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.title, a.platform, a.platform_user_id).order_by(a.seq))
        return {row.title: (row.platform, row.platform_user_id) for row in rows}


def test_an_alert_keeps_the_account_of_the_viewer_it_names(engine, overlays):
    add_viewer(engine, "k-ana", "Ana_Kick")  # known by name: a Pusher gift names her so
    overlays.event_alerts.handle(GUILD_A, _follow("f-1", Viewer("k-bob", "bob_kick")))
    overlays.event_alerts.handle(GUILD_A, _cheer("c-1", Viewer("t-carl", "carl_tv")))
    overlays.event_alerts.handle(GUILD_A, _cheer("c-2", None))  # anonymous
    overlays.alerts.gifts(GUILD_A, SubscriptionsGifted(
        platform=Platform.KICK, broadcaster_user_id="555", event_id="pusher-1", occurred_at=NOW,
        gifter=Viewer(None, "ana_kick"), giftees=(Viewer(None, "dan"),), count=1))  # fmt: skip
    audit(engine, vip_entry(GUILD_A, user="77"))
    overlays.alerts.test_alert(GUILD_A)

    assert _stored(engine) == {
        "bob_kick just followed!": ("kick", "k-bob"),
        "carl_tv cheered 100 bits!": ("twitch", "t-carl"),
        "Anonymous cheered 100 bits!": (None, None),
        "ana_kick gifted 1 sub": ("kick", "k-ana"),  # her id, found by her name
        "viewer77 is now a VIP": ("twitch", "77"),
        "Test alert": (None, None),
    }


def test_a_persons_alerts_are_exported_and_forgotten_and_no_one_elses(engine, overlays):
    ana_follows = _follow("f-ana", Viewer("k-ana", "ana_kick"))
    overlays.event_alerts.handle(GUILD_A, ana_follows)
    overlays.event_alerts.handle(GUILD_A, _follow("f-bob", Viewer("k-bob", "bob_kick")))
    overlays.alerts.test_alert(GUILD_A)
    ana = Person(None, frozenset({("kick", "k-ana")}), {})

    with engine.begin() as conn:
        [exported] = person_rows(conn, ana)["overlay_alerts"]
        report = forget(conn, ana, NOW, delete=True)

    assert exported["title"] == "ana_kick just followed!"
    assert exported["source_ref"] == follow_reference(ana_follows)  # the follower, once
    assert report.deleted == {"overlay_alerts": 1}
    assert "overlay_alerts" not in report.kept
    assert set(_stored(engine)) == {"bob_kick just followed!", "Test alert"}
