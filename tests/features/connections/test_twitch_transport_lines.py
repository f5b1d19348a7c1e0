"""``!twitch status``, ``!health`` and the dashboard say which way Twitch's events come: EventSub
webhooks (a public HTTPS address and the secret), or the EventSub WebSocket, which carries them
all where webhooks cannot reach the server; only no way at all is a failure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from core.events import Platform
from core.features.connections.checks import FixWords, twitch_checks
from core.features.connections.status import ConnectionStatus
from core.features.connections.twitch.setup import TwitchStatus
from core.features.connections.twitch.subscriptions import WANTED_TYPES
from core.features.guilds.repository import TrackedChannel
from core.platforms.twitch.eventsub_ws import EventSubState

WORDS = FixWords(
    setup=lambda platform, slug: f"!{platform} setup {slug}",
    sync=lambda platform: f"!{platform} sync",
    when=lambda moment: moment.isoformat(),
)
CHANNEL = TrackedChannel(1, Platform.TWITCH, "twitchdev", "141981764")
CONNECTED = ConnectionStatus(
    1, True, False, "twitchdev", "141981764", datetime(2030, 1, 1, tzinfo=UTC), ()
)


def status(*, webhooks: bool, socket: bool, subscribed: tuple[str, ...] = ()) -> TwitchStatus:
    missing = tuple(t for t in WANTED_TYPES if t not in subscribed)
    return TwitchStatus(CHANNEL, CONNECTED, subscribed, missing, (), None, True, webhooks, socket)


def event_line(found: TwitchStatus) -> tuple[bool, str]:
    (line,) = [c for c in twitch_checks(found, WORDS) if c.name != "twitch connection"]
    return line.ok, f"{line.name}: {line.detail}"


def test_without_a_public_address_the_websocket_carries_the_events_and_that_is_ok():
    ok, said = event_line(status(webhooks=False, socket=True))
    assert ok
    assert said.startswith("twitch events: over the EventSub WebSocket")
    assert "no EventSub webhooks" not in said


def test_with_webhooks_the_line_says_they_carry_the_events():
    ok, said = event_line(status(webhooks=True, socket=False, subscribed=tuple(WANTED_TYPES)))
    assert ok
    assert said.endswith("subscribed: events come as EventSub webhooks")


def test_a_public_address_without_the_secret_has_no_way_and_says_what_to_set():
    ok, said = event_line(status(webhooks=False, socket=False))
    assert not ok
    assert "set TWITCH_EVENTSUB_SECRET" in said


def test_over_the_websocket_a_grant_without_the_alert_scopes_is_told_to_connect_again():
    lacking = replace(
        status(webhooks=False, socket=True), needs_consent=("channel.follow", "channel.cheer")
    )
    [line] = [c for c in twitch_checks(lacking, WORDS) if c.name == "twitch events"]
    assert (line.ok, line.degraded) == (True, True)
    assert line.detail.endswith(
        "; connect again to get follow and cheer alerts: !twitch setup twitchdev"
    )


def test_over_the_websocket_a_type_twitch_refused_is_named_with_its_answer():
    """Twitch refused one type on the channel's socket (a version it retired): the others
    come, so the line is a warning that names what is missing and why."""
    refused = ("channel.raid", "Twitch Helix 400: unsupported version '1' for channel.raid")
    socket = EventSubState(status="connected", refused=(refused,))
    found = replace(status(webhooks=False, socket=True), socket=socket)
    [line] = [c for c in twitch_checks(found, WORDS) if c.name == "twitch socket"]
    assert (line.ok, line.degraded) == (True, True)
    assert line.detail == (
        "connected; Twitch refused raids (Twitch Helix 400: unsupported version '1' for "
        "channel.raid)"
    )


def test_over_the_websocket_a_socket_that_cannot_subscribe_says_why():
    socket = EventSubState(status="backing_off", last_error="subscribing failed (no token)")
    found = replace(status(webhooks=False, socket=True), socket=socket)
    [line] = [c for c in twitch_checks(found, WORDS) if c.name == "twitch socket"]
    assert not line.ok
    assert line.detail == "backing off (subscribing failed (no token))"
