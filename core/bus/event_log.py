"""Reading the bus for one guild (the dashboard's event log), and putting a dead event back.

Events carry no guild: a channel's events go to every guild that follows the channel (the
dispatcher's routing, :meth:`GuildService.guilds_tracking`), a :class:`GuildEvent` to its own
guild. :func:`guild_scope` is that same routing as a test, and every read here keeps only the
events it accepts, among the newest ``window`` entries (a bounded read, whatever the queue's
size).

A retry puts a dead event back in the queue, once: a second retry of the same event finds it
no longer dead and does nothing. It is recorded (who, when) in the event's ``last_error`` on the
embedded bus and in the entry's fields on Redis, and logged.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Event, GuildEvent, Platform, event_from_dict, utc
from core.events.words import describe
from core.storage.tables import bus_events

log = logging.getLogger(__name__)

# What the event log's buttons send back: a row id (embedded bus), or a Redis stream entry id
# (milliseconds-sequence); each part within what its store holds (BIGINT; 64 bits unsigned).
_ROW_ID = re.compile(r"[1-9][0-9]{0,18}")
_ENTRY_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?")


def row_id(ref: str) -> int | None:
    """``ref`` as the embedded bus's row id, or None when it cannot be one."""
    if not _ROW_ID.fullmatch(ref):
        return None
    number = int(ref)
    return number if number < 2**63 else None


def is_entry_id(ref: str) -> bool:
    """Whether ``ref`` can be a Redis stream entry id (anything else, Redis refuses)."""
    match = _ENTRY_ID.fullmatch(ref)
    return match is not None and all(int(part) < 2**64 for part in match.groups() if part)


HANDLED, QUEUED, DEAD = "handled", "queued", "dead"
DEFAULT_WINDOW = 2000  # newest entries read per request

Scope = Callable[[Event], bool]


def guild_scope(
    guild_id: int, guilds_tracking: Callable[[Platform, str, int | None], list[int]]
) -> Scope:
    """Whether an event is delivered to ``guild_id``: the dispatcher's routing."""

    def belongs(event: Event) -> bool:
        if isinstance(event, GuildEvent):
            return event.guild_id == guild_id
        routed = guilds_tracking(event.platform, event.broadcaster_user_id, event.via_chatroom_id)
        return guild_id in routed

    return belongs


@dataclass(frozen=True)
class LoggedEvent:
    ref: str  # the row id (embedded bus) or the entry id (Redis)
    key: str
    kind: str
    platform: str
    published_at: datetime | None
    state: str  # HANDLED, QUEUED or DEAD
    attempts: int
    error: str | None
    said: str = ""  # what happened, in a streamer's words (core/events/words.py)
    # The event itself, for a page to say it again with a member's name (describe's member).
    event: Event | None = field(default=None, compare=False, repr=False)

    @property
    def why(self) -> str:
        """What the event log shows of why it failed (:func:`shown_why`)."""
        return shown_why(self.error)


# The name an exception's repr (the embedded bus's record of a failure) starts with.
_RAISED = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,79})[(:]")


def shown_why(error: str | None) -> str:
    """Why an event failed, as a guild's event log shows it: the kind of failure, never its
    text. One event of a channel is handled for every guild following it, so the text may be
    another guild's handler's (its SQL and parameters, the database's address), and a re-queue
    names the admin who did it; the bot's log keeps all of it for the operator."""
    if not error:
        return ""
    if error.startswith("re-queued by "):
        return "Re-queued from the event log."
    if error.startswith("undecodable"):
        return "This version of the bot cannot read it."
    if error.startswith("waiting:"):
        return "Waiting for what it needs."
    if " not acknowledged after " in error:
        return "Not handled after repeated tries; the bot's log has the details."
    raised = _RAISED.match(error)
    kind = f" ({raised.group(1)})" if raised else ""
    return f"Handling failed{kind}; the bot's log has the details."


# Decoded events by payload: the window is read again at each view of the page, and an entry's
# payload never changes, so only the events new since the last view are decoded (decoding all
# 2,000 took most of the event log page's time, issue 27). Events are frozen: sharing is safe.
@functools.lru_cache(maxsize=2 * DEFAULT_WINDOW)
def _event(payload: str) -> Event | None:
    try:
        return event_from_dict(json.loads(payload))
    except (ValueError, TypeError):
        return None  # not an event this version knows: shown to nobody


class DatabaseEventLog:
    """The embedded bus's table (``bus_events``)."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], window: int = DEFAULT_WINDOW
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.window = window

    def recent(self, belongs: Scope, limit: int = 50, kind: str | None = None) -> list[LoggedEvent]:
        """The newest events of the guild (of one ``kind`` when given), newest first."""
        return self._read(belongs, limit, None if kind is None else {kind}, dead_only=False)

    def recent_of(self, belongs: Scope, kinds: Collection[str], limit: int) -> list[LoggedEvent]:
        """The newest ``limit`` events of the guild of any of ``kinds``, newest first: one read
        of the window, however many kinds."""
        return self._read(belongs, limit, set(kinds), dead_only=False)

    def dead(self, belongs: Scope, limit: int = 50) -> list[LoggedEvent]:
        """The guild's events set aside after repeated failures, newest first."""
        return self._read(belongs, limit, None, dead_only=True)

    def kinds(self, belongs: Scope) -> dict[str, int]:
        """How many of the newest events of the guild there are of each kind."""
        counts: dict[str, int] = {}
        for _row, event in self._events(belongs, None, dead_only=False):
            counts[event.kind] = counts.get(event.kind, 0) + 1
        return dict(sorted(counts.items()))

    def find(self, ref: str, belongs: Scope) -> Event | None:
        """The event ``ref`` names in the window, when it is the guild's (the replay button)."""
        number = row_id(ref)
        if number is None:
            return None
        b = bus_events.c
        with self.engine.connect() as conn:
            payload = conn.execute(sa.select(b.payload).where(b.id == number)).scalar()
        event = None if payload is None else _event(payload)
        return event if event is not None and belongs(event) else None

    def _events(
        self, belongs: Scope, kinds: Collection[str] | None, *, dead_only: bool
    ) -> Iterator[tuple[sa.Row, Event]]:
        """The newest ``window`` entries' events of the guild (of ``kinds``), newest first."""
        b = bus_events.c
        query = sa.select(bus_events).order_by(b.id.desc()).limit(self.window)
        if dead_only:
            query = query.where(b.dead_at.is_not(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            event = _event(row.payload)
            if event is None or (kinds is not None and event.kind not in kinds):
                continue
            if not belongs(event):
                continue
            yield row, event

    def _read(
        self, belongs: Scope, limit: int, kinds: Collection[str] | None, *, dead_only: bool
    ) -> list[LoggedEvent]:
        found = []
        for row, event in self._events(belongs, kinds, dead_only=dead_only):
            state = DEAD if row.dead_at else HANDLED if row.acked_at else QUEUED
            found.append(
                LoggedEvent(
                    str(row.id),
                    row.event_key,
                    event.kind,
                    str(event.platform),
                    row.published_at,
                    state,
                    row.attempts,
                    row.last_error,
                    describe(event),
                    event,
                )
            )
            if len(found) >= limit:
                break
        return found

    def retry(self, ref: str, belongs: Scope, actor_id: int) -> bool:
        """Queue a dead event of the guild again; False when it is not dead (any more) or not
        the guild's, and nothing changes then."""
        number = row_id(ref)
        if number is None:
            return False
        b = bus_events.c
        # Read and check first: the scope asks the database itself, and SQLite has one writer.
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(b.payload, b.last_error).where(b.id == number, b.dead_at.is_not(None))
            ).first()
        event = None if row is None else _event(row.payload)
        if row is None or event is None or not belongs(event):
            return False
        now = utc(self.clock())
        note = f"re-queued by {actor_id} at {now.isoformat()} after: {row.last_error or ''}"
        with self.engine.begin() as conn:  # only while it is still dead: a second retry is a no-op
            requeued = conn.execute(
                sa.update(bus_events)
                .where(b.id == number, b.dead_at.is_not(None))
                .values(dead_at=None, attempts=0, next_attempt_at=None, last_error=note[:2000])
            ).rowcount
        if requeued:
            log.info("event %s (%s) re-queued by %s", ref, event.key, actor_id)
        return bool(requeued)


# Move one dead entry back to the stream, once: KEYS dead stream, stream; ARGV the dead entry's
# id, the stream's MAXLEN, the note. Nil when that entry is not in the dead stream (any more).
_REQUEUE = """
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #entry == 0 then return false end
local fields = entry[1][2]
local payload
for i = 1, #fields, 2 do
  if fields[i] == 'event' then payload = fields[i + 1] end
end
if not payload then return false end
redis.call('XDEL', KEYS[1], ARGV[1])
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
                  'event', payload, 'requeued', ARGV[3])
"""


def _entry_time(entry_id: str) -> datetime | None:
    millis, _, _ = entry_id.partition("-")
    return datetime.fromtimestamp(int(millis) / 1000, UTC) if millis.isdecimal() else None


class RedisEventLog:
    """The Redis bus's stream and its dead stream (:class:`RedisStreamsBus`)."""

    def __init__(self, bus, clock: Callable[[], datetime], window: int = DEFAULT_WINDOW) -> None:  # type: ignore[no-untyped-def]
        self.bus = bus
        self.client = bus._client
        self.clock = clock
        self.window = window
        self._requeue = self.client.register_script(_REQUEUE)

    def recent(self, belongs: Scope, limit: int = 50, kind: str | None = None) -> list[LoggedEvent]:
        return self._recent(belongs, limit, None if kind is None else {kind})

    def recent_of(self, belongs: Scope, kinds: Collection[str], limit: int) -> list[LoggedEvent]:
        return self._recent(belongs, limit, set(kinds))

    def _recent(
        self, belongs: Scope, limit: int, kinds: Collection[str] | None
    ) -> list[LoggedEvent]:
        entries = self.client.xrevrange(self.bus.stream, count=self.window)
        states = self._states(entries)
        return self._keep(entries, belongs, limit, kinds, lambda entry_id, _f: states(entry_id))

    def dead(self, belongs: Scope, limit: int = 50) -> list[LoggedEvent]:
        entries = self.client.xrevrange(self.bus.dead_stream, count=self.window)
        return self._keep(entries, belongs, limit, None, lambda _id, _f: DEAD)

    def kinds(self, belongs: Scope) -> dict[str, int]:
        counts: dict[str, int] = {}
        for found in self.recent(belongs, self.window):
            counts[found.kind] = counts.get(found.kind, 0) + 1
        return dict(sorted(counts.items()))

    def _states(self, entries: list) -> Callable[[str], str]:  # type: ignore[type-arg]
        """Handled, or queued: not yet delivered to the group, or delivered and not acked."""
        last = "0-0"
        pending: set[str] = set()
        try:
            for info in self.client.xinfo_groups(self.bus.stream):
                if info.get("name") == self.bus.group:
                    last = str(info.get("last-delivered-id", "0-0"))
            if entries:
                rows = self.client.xpending_range(
                    self.bus.stream, self.bus.group, "-", "+", self.window
                )
                pending = {str(row["message_id"]) for row in rows}
        except Exception:  # no group yet: nothing was delivered
            last = "0-0"

        def key(entry_id: str) -> tuple[int, int]:
            millis, _, seq = entry_id.partition("-")
            return int(millis or 0), int(seq or 0)

        def state(entry_id: str) -> str:
            if entry_id in pending or key(entry_id) > key(last):
                return QUEUED
            return HANDLED

        return state

    def find(self, ref: str, belongs: Scope) -> Event | None:
        """The event ``ref`` names on the stream, when it is the guild's (the replay button)."""
        if not is_entry_id(ref):
            return None
        entries = self.client.xrange(self.bus.stream, ref, ref)
        if not entries:
            return None
        event = _event(entries[0][1].get("event", ""))
        return event if event is not None and belongs(event) else None

    def _keep(self, entries, belongs, limit, kinds, state_of) -> list[LoggedEvent]:  # type: ignore[no-untyped-def]
        found = []
        for entry_id, fields in entries:
            event = _event(fields.get("event", ""))
            if event is None or (kinds is not None and event.kind not in kinds):
                continue
            if not belongs(event):
                continue
            state = state_of(entry_id, fields)
            deliveries = fields.get("deliveries", "0")
            found.append(
                LoggedEvent(
                    entry_id,
                    event.key,
                    event.kind,
                    str(event.platform),
                    _entry_time(entry_id),
                    state,
                    int(deliveries) if str(deliveries).isdecimal() else 0,
                    fields.get("reason") or fields.get("requeued"),
                    describe(event),
                    event,
                )
            )
            if len(found) >= limit:
                break
        return found

    def retry(self, ref: str, belongs: Scope, actor_id: int) -> bool:
        if not is_entry_id(ref):
            return False
        entry = self.client.xrange(self.bus.dead_stream, ref, ref)
        if not entry:
            return False
        event = _event(entry[0][1].get("event", ""))
        if event is None or not belongs(event):
            return False
        note = f"re-queued by {actor_id} at {utc(self.clock()).isoformat()}"
        new_id = self._requeue(
            keys=[self.bus.dead_stream, self.bus.stream], args=[ref, self.bus.maxlen, note]
        )
        if new_id:
            log.info("dead entry %s (%s) re-queued by %s as %s", ref, event.key, actor_id, new_id)
        return bool(new_id)


def event_log_of(bus, clock: Callable[[], datetime]):  # type: ignore[no-untyped-def]
    """The event log of the runtime's bus (embedded or Redis)."""
    if getattr(bus, "name", "") == "embedded":
        return DatabaseEventLog(bus.engine, clock)
    return RedisEventLog(bus, clock)
