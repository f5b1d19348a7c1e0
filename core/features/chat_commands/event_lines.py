"""One chat line per event in a channel several Discord servers follow, when the servers may
decide that event differently: one grants what the event earns (a temporary VIP), another
refuses it (its own cap reached). The viewer hears one line, and the grant's when any server
granted: never a refusal beside it.

The line is one outbox row under the event's key (``ChatNotices.queue_channel_line``'s key), so
the database keeps it one whichever process queues it. A refusal waits, held (``held.py``),
while another server may still decide the event (its caller says whether one may:
``is_settled``); the last server to decide releases it, unless it was held past
:data:`REFUSAL_LATE` (a server's call retried for long): then it is not said at all. A grant
takes the row over while it is held or not yet taken up by the chat worker, so the refusal is
never said. A refusal said before a grant (a server decided after the others had settled the
event, as a retry a day later) leaves the grant its own line: the viewer learns the VIP is
theirs.

The callers serialize the decisions of one event (``vip.redemptions_repository.lock_event``):
each of these reads what the others wrote.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.chat_commands.queued import REPLY_LATE, line_effect
from core.outbox import held, store

GRANT = "grant"
REFUSAL = "refusal"
NOT_SAID = "not said: another Discord server granted what this event earns"
REFUSAL_LATE = REPLY_LATE  # a refusal held longer is not said: the chat has moved on
TOO_LATE = "not said: the other Discord servers of the channel decided too late"


def settle_event_line(
    conn: Connection,
    platform: Platform,
    guild_id: int,
    broadcaster_user_id: str,
    key: str,
    now: datetime,
    *,
    text: str | None,
    is_grant: bool,
    is_settled: bool,
) -> bool:
    """In the caller's transaction: what this server decided of the event keyed ``key`` for
    the channel's one line. ``text`` None: this server says nothing (its chat notices are off,
    or another server's grant is told), though its grant still silences a refusal and its
    decision may be the last one. ``is_settled``: no other server following the channel may
    still decide the event. Whether a line was queued (or took over a queued one)."""
    line = GRANT if is_grant else REFUSAL
    effect = line_effect(platform, guild_id, broadcaster_user_id, text or "", key, now, line=line)
    if is_grant:
        return _grant(conn, effect, now, is_said=text is not None)
    if not is_settled:
        return text is not None and held.hold(conn, effect, now)
    if text is not None and store.enqueue(conn, effect, now):
        return True
    if held.release(conn, key, now, held_since=now - REFUSAL_LATE):
        return True
    # Held longer than that (a server's call retried for long): the chat has moved on.
    held.drop(conn, key, TOO_LATE, now, is_held_only=True)
    return False


def _grant(conn: Connection, effect: store.Effect, now: datetime, *, is_said: bool) -> bool:
    key = effect.key
    found = held.find(conn, key)
    if found is None and is_said:
        if store.enqueue(conn, effect, now):
            return True
        found = held.find(conn, key)  # queued meanwhile, by a transaction that ended since
    if not is_said:
        if found is None:  # a refusal decided after this grant is not said either
            held.hold(conn, effect, now)
            held.drop(conn, key, NOT_SAID, now)
        elif found.payload.get("line") == REFUSAL:
            held.drop(conn, key, NOT_SAID, now)
        return False
    if found is None or found.payload.get("line") != REFUSAL:
        return False  # a grant's line, said once
    if held.replace(conn, key, effect, now):
        return True
    # The refusal was said, or is being said: the grant is told all the same.
    return store.enqueue(conn, replace(effect, key=f"{key}:granted"), now)
