"""Follows, raids and cheers over the EventSub WebSocket: each in its own version and condition,
and a token without the follow and cheer scopes still gets everything else."""

from __future__ import annotations

from core.platforms.twitch.eventsub_sources import SOCKET_SUBSCRIPTIONS
from core.platforms.twitch.oauth_client import SCOPES
from tests.fakes.twitch_eventsub_ws import FakeEventSubWs
from tests.platforms.twitch.test_eventsub_sources import (
    BROADCASTER,
    Tokens,
    is_connected,
    supervising,
    twitch,
    websocket_subscriptions,
)
from tests.support.waiting import eventually

__all__ = ["twitch"]  # the fixture, shared


async def test_the_socket_subscribes_to_follows_raids_and_cheers_in_their_versions(twitch):
    tokens = Tokens(twitch.issue_user_token(BROADCASTER))
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: tokens) as supervisor,
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
    by_type = {s["type"]: s for s in websocket_subscriptions(twitch)}
    assert {"channel.follow", "channel.raid", "channel.cheer"} <= set(SOCKET_SUBSCRIPTIONS)
    follow, raid, cheer = (by_type[t] for t in ("channel.follow", "channel.raid", "channel.cheer"))
    assert (follow["version"], follow["condition"]) == (
        "2",
        {"broadcaster_user_id": BROADCASTER, "moderator_user_id": BROADCASTER},
    )
    assert raid["condition"] == {
        "from_broadcaster_user_id": "",
        "to_broadcaster_user_id": BROADCASTER,
    }
    assert (cheer["version"], cheer["condition"]) == ("1", {"broadcaster_user_id": BROADCASTER})


async def test_a_token_without_the_follow_and_cheer_scopes_gets_the_rest(twitch):
    older = [s for s in SCOPES if s not in ("moderator:read:followers", "bits:read")]
    tokens = Tokens(twitch.issue_user_token(BROADCASTER, scopes=older))
    async with (
        FakeEventSubWs() as socket,
        supervising(socket.url, twitch, lambda: tokens) as supervisor,
    ):
        await eventually(lambda: is_connected(supervisor), within=30)
    created = sorted(s["type"] for s in websocket_subscriptions(twitch))
    assert created == sorted(
        t for t in SOCKET_SUBSCRIPTIONS if t not in ("channel.follow", "channel.cheer")
    )
