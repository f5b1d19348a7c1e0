"""A server that removed the bot gains no watchtime: the scheduled tick (``runtime.ticks``)
credits its viewers nothing from the removal on, even those who chatted just before, while
another server's viewers are credited as ever."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.events import Viewer
from tests.support.clock import Clock
from tests.support.events import chat_message

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
LEFT, SERVED = 4242, 5353


def seconds_of(runtime, guild_id: int) -> dict[str, int]:
    return {row.username: row.seconds for row in runtime.watchtime.export(guild_id)}


async def test_a_removed_servers_viewers_gain_no_watchtime(make_runtime) -> None:
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    runtime.guilds.set_kick_channel(LEFT, "left", "1001")
    runtime.guilds.set_kick_channel(SERVED, "served", "2002")
    await runtime.ticks.run(T0, asyncio.Event())  # each guild's clock starts
    for broadcaster, viewer in (("1001", Viewer("8", "ann")), ("2002", Viewer("9", "ben"))):
        said = chat_message("hi", broadcaster=broadcaster, viewer=viewer, at=T0)
        await runtime.dispatcher(said)

    await asyncio.to_thread(runtime.guilds.mark_left, LEFT)
    await runtime.ticks.run(T0 + timedelta(minutes=1), asyncio.Event())

    assert seconds_of(runtime, SERVED) == {"ben": 60}
    assert seconds_of(runtime, LEFT) in ({}, {"ann": 0})
