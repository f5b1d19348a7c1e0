"""Fuzz: validly signed Kick deliveries whose bodies are the real fixtures with fields mutated.

Property: never a 5xx or an unhandled exception; a delivery answered "queued" left exactly one
event in the queue, which decodes into a valid event; one refused (4xx) left nothing, neither
a queued event nor a receipt of its message id.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st

from core.events import RewardRedeemed, event_from_dict
from core.platforms.kick.signing import signed_headers
from core.platforms.kick.webhook import KICK_EVENT_TYPES
from core.platforms.lenient import WORD_MAX
from core.storage.tables import bus_events, webhook_receipts
from tests.fuzz.conftest import record
from tests.fuzz.strategies import header_text, kick_fixture, mutated

GUILD = 111
BROADCASTER = "123456789"
EVENT_TYPES = sorted(KICK_EVENT_TYPES)
FIXTURE_PAYLOADS = {name: kick_fixture(name) for name in EVENT_TYPES}
REDEMPTION = "channel.reward.redemption.updated"
FIXTURE_PAYLOADS[REDEMPTION]["broadcaster"]["user_id"] = int(BROADCASTER)
blanks = st.text(st.sampled_from(" \t\n\u00a0\u3000"), max_size=40)
# A redemption's status as Kick might send it: padded, shouted, long, blank or anything.
statuses = st.one_of(
    st.tuples(blanks, st.sampled_from(["pending", "Accepted", "REJECTED"]), blanks).map("".join),
    st.text(max_size=80),
    st.sampled_from(["\u0130" * WORD_MAX, "x" * 33, "   ", ""]),
)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    payload = draw(mutated(FIXTURE_PAYLOADS[event_type]))
    if isinstance(payload, dict) and draw(st.booleans()):
        for key in ("message_id", "id"):  # mostly a new natural id, so fewer duplicates
            if isinstance(payload.get(key), str):
                payload[key] = str(uuid.uuid4())
    # Now and then a hostile message id (HTTP trims the ends of a header value, so Kick signs
    # the trimmed one).
    message_id = draw(header_text).strip() if draw(st.integers(0, 9)) == 0 else ""
    if event_type == REDEMPTION and isinstance(payload, dict) and draw(st.booleans()):
        payload["status"] = draw(statuses)
    body_type = draw(st.sampled_from([*EVENT_TYPES, "channel.hype_train.begin"]))
    return (event_type if draw(st.integers(0, 9)) else body_type), payload, message_id


def counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(bus_events)).scalar_one()
        receipts = conn.execute(
            sa.select(sa.func.count()).select_from(webhook_receipts)
        ).scalar_one()
    return events, receipts


def newest_event(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        payload = conn.execute(
            sa.select(bus_events.c.payload).order_by(bus_events.c.id.desc()).limit(1)
        ).scalar_one()
    return json.loads(payload)


@pytest.fixture
def runtime(make_runtime, migrated_database_url):
    runtime = make_runtime(DATABASE_URL=migrated_database_url, LOG_LEVEL="CRITICAL")
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    return runtime


def test_signed_deliveries_are_queued_or_refused_cleanly(runtime, kick_keys, migrated_database_url):
    target = f"webhook-signed[{migrated_database_url.split(':', 1)[0].split('+')[0]}]"
    client = runtime.create_web_app().test_client()
    engine = runtime.engine

    padded = {**FIXTURE_PAYLOADS[REDEMPTION], "id": "01PADDED", "status": "  Accepted \t"}
    dotted = {**FIXTURE_PAYLOADS[REDEMPTION], "id": "01DOTTED", "status": "\u0130" * WORD_MAX}

    @given(deliveries())
    @example((REDEMPTION, padded, ""))
    @example((REDEMPTION, dotted, ""))
    def check(delivery: tuple[str, dict[str, Any], str]) -> None:
        event_type, payload, message_id = delivery
        body = json.dumps(payload).encode()
        headers = signed_headers(
            kick_keys[0], body, event_type=event_type, message_id=message_id or None
        )
        before = counts(engine)
        try:
            response = client.post("/webhooks/kick", data=body, headers=headers)
        except Exception:
            record(target, "error")
            raise
        events, receipts = counts(engine)
        outcome = f"{response.status_code} {response.json.get('status')}"
        if response.status_code >= 500 or response.status_code not in (200, 400):
            record(target, "error")
        assert response.status_code in (200, 400), (outcome, response.json)
        if response.status_code == 400:
            assert (events, receipts) == before, "a refused delivery left something behind"
        elif response.json["status"] == "queued":
            assert events == before[0] + 1
            event = event_from_dict(newest_event(engine))  # a valid event, or this raises
            if isinstance(event, RewardRedeemed):  # a status is a word, as a listed one is
                assert 0 < len(event.status) <= WORD_MAX, event.status
                assert event.status == event.status.strip().lower(), event.status
        else:
            assert events == before[0]
        record(target, outcome)

    check()
