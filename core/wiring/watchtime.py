"""Watchtime: presence from chat, stream state, and the tick that credits it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from core.events import ChatMessageSent, StreamEnded, StreamStarted
from core.features.watchtime.service import TickResult, WatchtimeService

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

log = logging.getLogger(__name__)


def install(rt: Assembly) -> None:
    def observe_tick(result: TickResult) -> None:
        rt.metrics.tick_duration.observe(result.duration_seconds)
        if result.credited_viewers:
            log.info(
                "guild %s: %d viewer(s) gained %d s of watchtime",
                result.guild_id,
                result.credited_viewers,
                result.seconds_each,
            )

    rt.watchtime = WatchtimeService(
        rt.engine, rt.settings.watchtime, rt.clock, on_tick=observe_tick, chat_bots=rt.chat_bots
    )
    rt.handle(ChatMessageSent, rt.watchtime.record_chat)
    rt.handle(StreamStarted, rt.watchtime.record_stream_state)
    rt.handle(StreamEnded, rt.watchtime.record_stream_state)
    rt.scheduler.every(
        "forgetting old watchtime hours",
        lambda: 3600.0,
        lambda: asyncio.to_thread(rt.watchtime.forget_old_hours),
    )
