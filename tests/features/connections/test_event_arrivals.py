"""The dispatcher keeps when each kind of event last arrived where every process reads it, with
at most one write per (platform, broadcaster, kind) a minute: a busy chat costs no write per
message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.bus.dispatch import Dispatcher
from core.events import ChatMessageSent, Platform
from core.features.connections.event_arrivals import EventArrivals
from core.metrics import Metrics
from tests.support.clock import Clock
from tests.support.events import chat_message
from tests.support.statements import statements_of

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_arrivals_are_written_once_a_minute_and_read_per_platform(engine):
    clock = Clock(T0)
    arrivals = EventArrivals(engine, clock)
    dispatcher = Dispatcher(
        {ChatMessageSent: [lambda guild_id, event: None]},
        lambda platform, broadcaster, via: [1],
        Metrics(),
        arrivals=arrivals,
    )

    def say(at: datetime, platform: Platform = Platform.KICK) -> list[str]:
        with statements_of(engine) as seen:
            asyncio.run(dispatcher(chat_message(platform=platform, broadcaster="77", at=at)))
        return [s for s in seen if "event_arrivals" in s]

    assert len(say(T0)) == 1
    clock.advance(timedelta(seconds=30))
    assert say(T0 + timedelta(seconds=30)) == []  # within the minute: nothing written
    assert arrivals.last_events(Platform.KICK, "77") == {"chat_message_sent": T0}
    assert len(say(T0 + timedelta(seconds=31), Platform.TWITCH)) == 1  # another key
    clock.advance(timedelta(seconds=31))
    assert len(say(T0 + timedelta(seconds=61))) == 1
    assert arrivals.last_events(Platform.KICK, "77") == {
        "chat_message_sent": T0 + timedelta(seconds=61)
    }
    assert arrivals.last_events(Platform.TWITCH, "77") == {
        "chat_message_sent": T0 + timedelta(seconds=31)
    }
    assert arrivals.last_events(Platform.KICK, "78") == {}
