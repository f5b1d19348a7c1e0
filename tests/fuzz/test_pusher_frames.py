"""Fuzz: frames from Kick's Pusher socket, the real fixtures mutated and arbitrary text.

Property: the parser never raises; what it accepts is a valid event that survives the bus's
encoding and is stored by the embedded bus (SQLite and PostgreSQL) without error.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from core.bus.embedded import EmbeddedBus
from core.events import Event, event_from_dict, event_to_dict
from core.platforms.kick.pusher_events import parse_frame
from core.storage.tables import bus_events
from tests.conftest import FIXTURES
from tests.fuzz.conftest import record
from tests.fuzz.strategies import mutated

FRAMES = [
    json.loads(path.read_text()) for path in sorted((FIXTURES / "kick").glob("pusher-*.json"))
]
RECEIVED_AT = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)


@st.composite
def raw_frames(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=500))
    if kind == 1:
        return draw(st.text(max_size=500))
    frame = json.loads(json.dumps(draw(st.sampled_from(FRAMES))))
    if isinstance(frame.get("data"), str):
        with contextlib.suppress(ValueError):
            frame["data"] = json.loads(frame["data"])
    frame = draw(mutated(frame))
    if isinstance(frame, dict) and isinstance(frame.get("data"), dict) and draw(st.booleans()):
        frame["data"] = json.dumps(frame["data"])
    return json.dumps(frame)


def test_pusher_frames_parse_to_storable_events_or_nothing(engine):
    target = f"pusher-frames[{engine.dialect.name}]"
    bus = EmbeddedBus(engine)

    @given(raw_frames())
    def check(raw: str | bytes) -> None:
        try:
            event = parse_frame(raw, broadcaster_user_id="123456789", received_at=RECEIVED_AT)
            if event is None:
                record(target, "none")
                return
            assert isinstance(event, Event)
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
