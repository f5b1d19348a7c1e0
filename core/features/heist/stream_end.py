"""The heist when the stream ends: a heist still gathering its crew is called off and every
stake goes back, with one line in the chat (where the bot can talk there; else a log line).
A heist whose join window closed before the end is already on the job: it resolves as usual.

Called once per StreamEnded the bus delivers. Kick tells of an end by webhook and by Pusher (two
events, the socket's stamped when it arrived) and the bus may deliver each again: the first
call-off wins the heist's compare-and-set (:func:`repository.finish`), the rest find no open
heist; an end from before the heist opened (the last stream's, told late or replayed after a
restart) leaves it alone, as does a copy of an end already stored (watchtime keeps the
channel's live state) for a heist opened after that end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from core.events import Event, Platform, StreamEnded, utc
from core.features.chat_commands.queued import queue_line
from core.features.chat_commands.text import chat_safe
from core.features.heist import repository
from core.features.heist.answers import Cancelled
from core.features.heist.payments import refund_crew
from core.features.heist.repository import CANCELLED, Heist
from core.features.heist.service import HeistService
from core.features.watchtime.ticks_repository import streams_of

log = logging.getLogger(__name__)
LOOK_AT_MOST = 1000  # queued events the resolver looks through for a stream's end
SAME_END = timedelta(minutes=10)  # an end stored this long before another's stamp is its copy

Unhandled = Callable[[datetime], Iterable[Event] | None]


def ends_heist(event: Event, heist: Heist, ended_at: datetime | None = None) -> bool:
    """Whether ``event`` is the end of ``heist``'s stream while its crew was gathering
    (``ended_at``: when the stream ended, if known before the event's stamp)."""
    ended_at = ended_at or (utc(event.occurred_at) if isinstance(event, StreamEnded) else None)
    return (
        isinstance(event, StreamEnded)
        and ended_at is not None
        and event.platform == heist.platform
        and event.broadcaster_user_id == heist.broadcaster_user_id
        and utc(heist.opened_at) <= ended_at < utc(heist.closes_at)
    )


def stream_ended_at(conn: Connection, guild_id: int, event: StreamEnded) -> datetime:
    """When the stream ended: the stored offline state's start when it began shortly before the
    event (a second copy, such as Pusher's stamped on arrival, tells of the same end; one from
    longer ago is an earlier stream's, whose next start went unheard)."""
    channel = (guild_id, str(event.platform), event.broadcaster_user_id)
    state = streams_of(conn, [guild_id]).get(channel)
    ended_at = utc(event.occurred_at)
    if state is not None and not state.is_live:
        stored = utc(state.changed_at)
        if ended_at - SAME_END <= stored <= ended_at:
            return stored
    return ended_at


def end_queued(unhandled: Unhandled) -> Callable[[Heist], bool]:
    """The resolver's ``held``: whether the end of a heist's stream is queued and not handled
    yet (``unhandled(before)``: the bus's events stamped before then, None when it holds too
    many to say). At start the resolver runs at once, beside the consumer of what was queued
    while the bot was down; this leaves such a heist to :meth:`HeistStreamEnd.handle_stream_ended`.
    An end that keeps failing is set aside by the bus, and the heist is resolved then."""

    def held(heist: Heist) -> bool:
        try:
            queued = unhandled(heist.closes_at)
        except Exception:  # the bus cannot say: the heist resolves as before
            log.warning("heist %s: could not look for its stream's end", heist.id, exc_info=True)
            return False
        if queued is None:
            return False
        if any(ends_heist(event, heist) for event in queued):
            log.info("heist %s waits for its stream's end, queued, to call it off", heist.id)
            return True
        return False

    return held


def called_off_line(cancelled: Cancelled, currency: str) -> str:
    viewers = "1 viewer" if cancelled.refunded == 1 else f"{cancelled.refunded} viewers"
    return (
        "The stream ended, so the heist is called off. Every stake went back: "
        f"{cancelled.points:,} {currency} to {viewers}."
    )


class HeistStreamEnd:
    """``can_talk(platform)``: whether the bot can talk in that chat (as for the results)."""

    def __init__(self, service: HeistService, can_talk: Callable[[Platform], bool]) -> None:
        self.service = service
        self.can_talk = can_talk

    def handle_stream_ended(self, guild_id: int, event: StreamEnded) -> Cancelled | None:
        """Call off the heist of the event's chat that was gathering its crew when the stream
        ended; None when there is none (or another call finished it)."""
        currency = self.service.points.name(guild_id)
        now = self.service.clock()
        with self.service.engine.begin() as conn:
            heist = repository.open_heist_of(conn, guild_id, event.platform, lock=True)
            if (
                heist is None
                or not ends_heist(event, heist, stream_ended_at(conn, guild_id, event))
                or not repository.finish(conn, heist.id, CANCELLED, now)
            ):
                return None
            cancelled = refund_crew(conn, heist, now)
            text = chat_safe(called_off_line(cancelled, currency))
            if self.can_talk(heist.platform):
                key = f"heist:{heist.id}:called-off"
                queue_line(
                    conn, heist.platform, guild_id, heist.broadcaster_user_id, text, key, now
                )
        log.info(
            "guild %s: heist %s called off at the stream's end: %s",
            guild_id,
            heist.id,
            text if self.can_talk(heist.platform) else f"not said in {heist.platform} chat: {text}",
        )
        return cancelled
