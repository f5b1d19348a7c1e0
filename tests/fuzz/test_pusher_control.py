"""Fuzz: Pusher's own control frames as the listener handles them (``PusherListener._handle`` in
core/platforms/kick/pusher.py): connection_established with any ``activity_timeout`` (1e400,
Infinity, NaN, text, nesting), pusher:error with any code and a message of any size or text
(NUL, lone surrogates), once or twice JSON-encoded. test_pusher_frames.py covers the events.

Property: handling a frame never raises; it leaves an activity timeout that is a float between
the listener's minimum and 120 s, and ends the connection, if at all, with a reason of at most
:data:`MAX_REASON_CHARS` characters that can be encoded for a log line or Discord.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from hypothesis import example, given
from hypothesis import strategies as st

from core.platforms.kick.pusher import (
    DEFAULT_ACTIVITY_TIMEOUT_SECONDS,
    MAX_REASON_CHARS,
    MIN_ACTIVITY_TIMEOUT_SECONDS,
    PusherChannels,
    PusherListener,
)
from tests.fuzz.conftest import record
from tests.fuzz.strategies import json_values, scalars

EVENTS = [
    "pusher:connection_established",
    "pusher:error",
    "pusher:subscription_error",
    "pusher_internal:subscription_succeeded",
    "pusher:ping",
]
# Number tokens as a server may spell them; Python's JSON reader takes Infinity and NaN too.
TIMEOUTS = ["1" + "0" * 400, "1e400", "Infinity", "-Infinity", "NaN", "1e-300", "0", "-1", "120"]
timeouts = st.one_of(
    st.sampled_from(TIMEOUTS),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers().map(str),
    json_values.map(json.dumps),
)
messages = st.one_of(scalars, st.just("m" * 100_000), st.text(max_size=2000), json_values)
codes = st.one_of(st.integers(3990, 4310), scalars)


@st.composite
def frames(draw: st.DrawFn) -> str:
    """A control frame as raw text, so that number tokens reach the reader as spelled."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        data = '{"activity_timeout":' + draw(timeouts) + ',"socket_id":"1.2"}'
        event = draw(st.sampled_from(["pusher:connection_established", *EVENTS]))
    elif kind == 1:
        data = json.dumps({"code": draw(codes), "message": draw(messages)})
        event = draw(st.sampled_from(["pusher:error", *EVENTS]))
    else:
        data = json.dumps(draw(json_values))
        event = draw(st.sampled_from(EVENTS))
    if draw(st.booleans()):
        data = json.dumps(data)  # Pusher sends data as a JSON string
    return '{"event":' + json.dumps(event) + ',"channel":"chatrooms.1.v2","data":' + data + "}"


class SentFrames:
    async def send_str(self, text: str) -> None:
        json.loads(text)


def handle(raw: str) -> tuple[PusherListener, Any]:
    listener = PusherListener(
        channel_ids=PusherChannels(1, 2, "3"),
        publish=lambda _event: None,
        webhooks_deliver=lambda _event: False,
    )

    async def go() -> Any:
        return await listener._handle(cast(Any, SentFrames()), raw, asyncio.Queue())

    return listener, asyncio.run(go())


@given(frames())
@example('{"event":"pusher:connection_established","data":{"activity_timeout":1' + "0" * 400 + "}}")
@example('{"event":"pusher:connection_established","data":{"activity_timeout":Infinity}}')
@example(json.dumps({"event": "pusher:error", "data": {"code": 4200, "message": "m" * 100_000}}))
@example(json.dumps({"event": "pusher:error", "data": {"code": 4001, "message": "\ud800\x00"}}))
def test_a_control_frame_leaves_a_bounded_timeout_and_reason(raw: str) -> None:
    listener, ended = handle(raw)
    timeout = listener._connection.activity_timeout
    assert type(timeout) is float
    assert MIN_ACTIVITY_TIMEOUT_SECONDS <= timeout <= DEFAULT_ACTIVITY_TIMEOUT_SECONDS
    if ended is None:
        record("pusher-control", "kept open")
        return
    assert len(ended.reason) <= MAX_REASON_CHARS
    ended.reason.encode()
    record("pusher-control", "refused" if ended.is_refused else "ended")
