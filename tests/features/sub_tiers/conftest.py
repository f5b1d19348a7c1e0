"""Events from the real platform fixtures, parsed by the real parsers, and a tier service."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.events import Event
from core.features.sub_tiers.service import SubTierService
from core.platforms.kick.webhook_events import parse_event
from core.platforms.twitch.notifications import parse_notification
from tests.conftest import FIXTURES
from tests.support.clock import Clock

GUILD = 4242
T0 = datetime(2030, 11, 3, 18, 0, tzinfo=UTC)


def twitch_body(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "twitch" / f"{name}.json").read_text())


def twitch_event(name: str, at: datetime, message_id: str = "msg-1", **changes: Any) -> Event:
    body = twitch_body(name)
    body["event"].update(changes)
    event = parse_notification(
        body["subscription"]["type"], body, message_id=message_id, delivered_at=at
    )
    assert event is not None
    return event


def kick_event(name: str, at: datetime, message_id: str = "kick-1", **changes: Any) -> Event:
    payload = json.loads((FIXTURES / "kick" / f"{name}.json").read_text())
    payload.update(changes)
    event = parse_event(name, payload, message_id=message_id, delivered_at=at)
    assert event is not None
    return event


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def tiers(engine: Engine, clock: Clock) -> SubTierService:
    return SubTierService(engine, clock)
