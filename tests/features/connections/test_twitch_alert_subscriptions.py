"""Follows, raids and cheers on Twitch: the EventSub upkeep subscribes to them with each type's
version and condition (against the fake Twitch, which checks both and the grant's scopes), a
streamer who connected before they were asked keeps everything else and is told to connect
again, a second sync changes nothing, and a signed delivery of each becomes an overlay alert.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx

from core.discord_bot.connections.twitch.render import WARN, sync_report, twitch_status
from core.features.connections.checks import FixWords, twitch_checks
from core.features.connections.twitch.subscriptions import REQUIRED_SCOPES, WANTED_TYPES
from core.platforms.http import tls_context
from core.web.dashboard.connection_words import twitch_sync_words
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import BOT_URL, EVENTSUB_SECRET
from tests.fakes.twitch_server import CLIENT_ID
from tests.features.connections import test_twitch_connection as connection_tests
from tests.features.connections.test_twitch_connection import (
    ADMIN,
    BROADCASTER,
    GUILD,
    complete,
    consent,
)
from tests.support.delivery import deliver_all

clock = connection_tests.clock
twitch = connection_tests.twitch
runtime = connection_tests.runtime

ALERT_TYPES = ("channel.follow", "channel.raid", "channel.cheer")
WORDS = FixWords(
    setup=lambda platform, slug: f"run !{platform} setup {slug}",
    sync=lambda platform: f"run !{platform} sync",
    when=lambda moment: moment.isoformat(),
)


def _sync(runtime):  # type: ignore[no-untyped-def]
    return asyncio.run(runtime.twitch_setup.sync(GUILD))


def _of_type(twitch, subscription_type: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [s for s in twitch.eventsub.values() if s["type"] == subscription_type]


def test_a_fully_consented_channel_gets_follows_raids_and_cheers(runtime, twitch):
    complete(runtime, consent(runtime))

    report = _sync(runtime)

    assert set(ALERT_TYPES) <= set(report.created)
    assert (report.failed, report.skipped) == ({}, {})
    [follow] = _of_type(twitch, "channel.follow")
    [raid] = _of_type(twitch, "channel.raid")
    [cheer] = _of_type(twitch, "channel.cheer")
    assert (follow["version"], follow["condition"]) == (
        "2",
        {"broadcaster_user_id": BROADCASTER, "moderator_user_id": BROADCASTER},
    )
    # A raid into the channel; the fake lists the unset "from" side empty, as Twitch may.
    assert (raid["version"], raid["condition"]) == (
        "1",
        {"from_broadcaster_user_id": "", "to_broadcaster_user_id": BROADCASTER},
    )
    assert (cheer["version"], cheer["condition"]) == ("1", {"broadcaster_user_id": BROADCASTER})
    for sub in (follow, raid, cheer):
        assert sub["transport"] == {"method": "webhook", "callback": f"{BOT_URL}/webhooks/twitch"}
    status = runtime.twitch_setup.status(GUILD, ADMIN)
    assert (status.missing, status.needs_consent) == ((), ())
    assert all(check.ok and not check.degraded for check in twitch_checks(status, WORDS))


def test_a_second_sync_keeps_everything_without_churn(runtime, twitch):
    complete(runtime, consent(runtime))
    _sync(runtime)
    ids = set(twitch.eventsub)
    writes = len(twitch.requests_to("/helix/eventsub/subscriptions", "POST")) + len(
        twitch.requests_to("/helix/eventsub/subscriptions", "DELETE")
    )

    again = _sync(runtime)

    assert (again.created, again.removed) == ([], [])
    assert sorted(again.kept) == sorted(WANTED_TYPES)
    assert set(twitch.eventsub) == ids
    assert writes == len(twitch.requests_to("/helix/eventsub/subscriptions", "POST")) + len(
        twitch.requests_to("/helix/eventsub/subscriptions", "DELETE")
    )


def test_a_grant_from_before_keeps_the_rest_and_is_told_to_connect_again(runtime, twitch):
    complete(runtime, consent(runtime, drop_scopes=tuple(REQUIRED_SCOPES.values())))

    report = _sync(runtime)

    assert report.skipped == {
        "channel.follow": "moderator:read:followers",
        "channel.cheer": "bits:read",
    }
    assert report.failed == {}
    everything_else = sorted(t for t in WANTED_TYPES if t not in report.skipped)
    assert sorted(report.created) == everything_else  # the raid among them
    assert sorted(s["type"] for s in twitch.eventsub.values()) == everything_else
    # No request Twitch would refuse was made for them.
    posted = [r.json["type"] for r in twitch.requests_to("/helix/eventsub/subscriptions", "POST")]
    assert not {"channel.follow", "channel.cheer"} & set(posted)

    status = runtime.twitch_setup.status(GUILD, ADMIN)
    assert status.missing == status.needs_consent == ("channel.follow", "channel.cheer")
    assert status.reconsent_link is not None
    [line] = [c for c in twitch_checks(status, WORDS) if c.name == "twitch subscriptions"]
    assert (line.ok, line.degraded) == (True, True)
    assert "connect again to get follow and cheer alerts: run !twitch setup twitchdev" in (
        line.detail
    )
    assert "!twitch sync" not in line.detail  # a sync would not bring them
    # The same words on !twitch status (a warning, not a failure) and after a sync, in Discord
    # and on the dashboard.
    shown = twitch_status(status, "!", link_sent=True)
    live = f"{len(WANTED_TYPES) - 2}/{len(WANTED_TYPES)} subscribed"
    assert f"{WARN} {live}, connect again to get follow and cheer alerts" in shown
    assert "connect again to get follow and cheer alerts (a new link)" in sync_report(report)
    assert "The streamer must connect again to get follow and cheer alerts: connect it" in (
        twitch_sync_words(report)
    )

    # Connecting again with every scope brings them at the next sync.
    complete(runtime, consent(runtime))
    after = _sync(runtime)
    assert sorted(after.created) == ["channel.cheer", "channel.follow"]
    assert runtime.twitch_setup.status(GUILD, ADMIN).missing == ()


def test_twitch_refuses_a_follow_without_the_moderators_grant(runtime, twitch):
    """The fake as Twitch: the scope is checked on the user the condition names."""
    complete(runtime, consent(runtime, drop_scope="moderator:read:followers"))
    status = runtime.twitch_connections.status(GUILD)
    assert "moderator:read:followers" not in status.scopes

    answer = httpx.post(
        f"{twitch.helix_url}/eventsub/subscriptions",
        headers={"Authorization": f"Bearer {twitch.issue_app_token()}", "Client-Id": CLIENT_ID},
        json={
            "type": "channel.follow",
            "version": "2",
            "condition": {"broadcaster_user_id": BROADCASTER, "moderator_user_id": BROADCASTER},
            "transport": {
                "method": "webhook",
                "callback": f"{BOT_URL}/webhooks/twitch",
                "secret": EVENTSUB_SECRET,
            },
        },
        verify=tls_context(),
    )
    assert answer.status_code == 403
    assert answer.json()["message"] == "subscription missing proper authorization"


def test_an_old_follow_subscription_is_replaced_by_version_2(runtime, twitch):
    complete(runtime, consent(runtime))
    _sync(runtime)
    [follow] = _of_type(twitch, "channel.follow")
    follow.update(version="1", condition={"broadcaster_user_id": BROADCASTER})

    report = _sync(runtime)

    assert (report.removed, report.created) == (["channel.follow"], ["channel.follow"])
    [now] = _of_type(twitch, "channel.follow")
    assert (now["version"], now["id"] == follow["id"]) == ("2", False)


def test_signed_follow_raid_and_cheer_deliveries_become_alerts(runtime, twitch, clock):
    complete(runtime, consent(runtime))
    sender = EventSubSender.flask(runtime.create_web_app().test_client(), clock, EVENTSUB_SECRET)

    sent = [
        ("channel.follow", {"user_id": "501", "user_login": "fola", "user_name": "Fola"}),
        (
            "channel.raid",
            {
                "from_broadcaster_user_id": "505",
                "from_broadcaster_user_login": "raidy",
                "from_broadcaster_user_name": "Raidy",
                "viewers": 42,
            },
        ),
        (
            "channel.cheer",
            {"user_id": "506", "user_login": "bitsy", "user_name": "Bitsy", "bits": 100},
        ),
    ]
    for subscription_type, fields in sent:
        status, answer = sender.notify(subscription_type, BROADCASTER, **fields)
        assert (status, answer["status"]) == (200, "queued"), subscription_type
    deliver_all(runtime)

    alerts = runtime.overlays.alerts_after(GUILD, 0)
    assert [(a.kind, a.title) for a in alerts] == [
        ("follow", "Fola just followed!"),
        ("raid", "Raidy is raiding with 42 viewers!"),
        ("cheer", "Bitsy cheered 100 bits!"),
    ]
