"""Points and chat bots: a known chat bot (Nightbot, BotRix, ...) earns no points for chatting
nor for watching, while a viewer's same messages do (core/features/chat_bots.py)."""

from __future__ import annotations

from core.events import Platform, Viewer
from tests.features.points.test_earning import (
    ALICE,
    BROADCASTER,
    GUILD,
    T0,
    World,
    close_window,
    world,
)
from tests.support.events import chat_message

__all__ = ["world"]

NIGHTBOT = Viewer("19264788", "Nightbot")
BOTRIX = Viewer("5550002", "BotRix")


def test_a_chat_bots_chat_earns_no_points_while_a_viewers_does(world: World):
    world.watchtime.set_tracking(GUILD, False)
    for viewer, login in ((NIGHTBOT, "nightbot"), (ALICE, "alice")):
        world.earning.record_chat(
            GUILD,
            chat_message(
                "hello there",
                platform=Platform.TWITCH,
                broadcaster=BROADCASTER,
                viewer=viewer,
                login=login,
                at=T0,
            ),
        )
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    close_window(world)
    balance = world.points.balance
    assert (
        balance(GUILD, Platform.TWITCH, "19264788"),
        balance(GUILD, Platform.TWITCH, "1001"),
    ) == (
        0,
        1,
    )


def test_a_chat_bot_earns_no_points_for_watching_while_a_viewer_does(world: World):
    world.tick()  # the first tick only starts the clock
    world.minutes(30, ALICE, BOTRIX)  # both chat every minute on Kick
    assert (world.balance(ALICE), world.balance(BOTRIX)) == (30, 0)
