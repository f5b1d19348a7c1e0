"""Fuzz: frames from Twitch's EventSub WebSocket, the real fixtures mutated and arbitrary text.

Property: reading a frame never raises; a session it accepts has a usable id and a reconnect
URL only of the websocket schemes; a revocation names its subscription; an event it accepts is
a valid event that survives the bus's encoding and is stored by the embedded bus (SQLite and
PostgreSQL) without error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from core.bus.embedded import EmbeddedBus
from core.events import Event, event_from_dict, event_to_dict
from core.platforms.twitch.eventsub_frames import (
    KEEPALIVE,
    NOTIFICATION,
    RECONNECT,
    REVOCATION,
    WELCOME,
    decode_frame,
    event_of,
    revocation_of,
    session_of,
)
from core.storage.tables import bus_events
from tests.conftest import FIXTURES
from tests.fuzz.conftest import record
from tests.fuzz.strategies import mutated

FRAMES = [
    json.loads(path.read_text())
    for path in sorted((FIXTURES / "twitch" / "websocket").glob("*.json"))
]
RECEIVED_AT = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
KNOWN_TYPES = {KEEPALIVE, NOTIFICATION, RECONNECT, REVOCATION, WELCOME}


@st.composite
def raw_frames(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=500))
    if kind == 1:
        return draw(st.text(max_size=500))
    frame = json.loads(json.dumps(draw(st.sampled_from(FRAMES))))
    return json.dumps(draw(mutated(frame)))


def test_twitch_ws_frames_parse_to_storable_events_or_nothing(engine):
    target = f"twitch-ws-frames[{engine.dialect.name}]"
    bus = EmbeddedBus(engine)

    @given(raw_frames())
    def check(raw: str | bytes) -> None:
        try:
            frame = decode_frame(raw)
            if frame is None:
                record(target, "unreadable")
                return
            session = session_of(frame)
            if session is not None:
                assert session.id
                url = session.reconnect_url
                assert url is None or url.startswith(("wss://", "ws://"))
            revocation = revocation_of(frame, received_at=RECEIVED_AT)
            if revocation is not None:
                assert revocation.subscription_id
                record(target, "revocation")
                return
            event = event_of(frame, received_at=RECEIVED_AT)
            if event is None:
                known = frame.message_type in KNOWN_TYPES
                record(target, f"{frame.message_type if known else 'other type'} without event")
                return
            assert isinstance(event, Event)
            assert event.occurred_at <= RECEIVED_AT
            assert event_from_dict(json.loads(json.dumps(event_to_dict(event)))) == event
            is_new = bus.publish(event)
            with engine.connect() as conn:
                stored = conn.execute(
                    sa.select(sa.func.count()).where(bus_events.c.event_key == event.key)
                ).scalar_one()
            assert stored == 1
        except Exception:
            record(target, "error")
            raise
        record(target, f"{event.kind} {'stored' if is_new else 'duplicate'}")

    check()
