"""Twitch delivers EventSub webhooks to a public HTTPS address only: elsewhere no webhook
subscription is ever attempted and the WebSocket runs instead (issue 26, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock


@pytest.fixture
def twitch() -> FakeTwitch:
    with FakeTwitch() as fake:
        yield fake


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8080", "http://bot.example.org", "https://localhost:8443"]
)
def test_no_webhook_subscriptions_without_a_public_https_address(
    tmp_path: Path, twitch: FakeTwitch, address: str
):
    runtime = runtime_on_fake_twitch(twitch, tmp_path, Clock(), OAUTH_BASE_URL=address)
    try:
        assert runtime.twitch_subscriptions is None
        assert "Twitch subscription upkeep" not in runtime.scheduler.loops
        assert runtime.twitch_eventsub is not None  # the WebSocket instead
    finally:
        runtime.close()


def test_a_public_https_address_gets_webhooks_and_no_socket(tmp_path: Path, twitch: FakeTwitch):
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path, Clock(), OAUTH_BASE_URL="https://bot.example.org"
    )
    try:
        assert runtime.twitch_subscriptions is not None
        assert runtime.twitch_subscriptions.callback_url == (
            "https://bot.example.org/webhooks/twitch"
        )
        assert runtime.twitch_eventsub is None
    finally:
        runtime.close()
