"""An event the store refuses is the event's fault: EventRefused (a 400), not BusUnavailable (503).

Events check their values when built, so the buses only ever see such an event when an adapter
forgets to: these tests forge one past that check (``object.__setattr__`` on the frozen event),
which is the only way to reach the buses' last line.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from core.bus.base import BusUnavailable, EventRefused
from core.bus.embedded import EmbeddedBus
from core.bus.redis_streams import RedisStreamsBus
from core.events import ChatMessageSent
from core.storage.tables import bus_events
from tests.bus import make_event


def forged(event_id: str) -> ChatMessageSent:
    event = make_event()
    object.__setattr__(event, "event_id", event_id)
    return event


def bus_rows(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(bus_events)).scalar_one()


@pytest.mark.parametrize("event_id", ["\ud800", "a\x00b", "x" * 300])
def test_the_embedded_bus_refuses_what_its_database_cannot_store(engine, event_id):
    bus = EmbeddedBus(engine)
    try:
        stored = bus.publish(forged(event_id))
    except EventRefused:
        stored = False
    except BusUnavailable:  # pragma: no cover - the failure this test exists for
        pytest.fail("an event the database refuses was reported as a queue outage (503)")
    # SQLite stores a NUL and any length; PostgreSQL refuses both; neither takes a surrogate.
    expected = engine.dialect.name == "sqlite" and event_id != "\ud800"
    assert stored is expected
    assert bus_rows(engine) == (1 if expected else 0)
    assert bus.publish(make_event()) is True  # the bus itself is fine


def test_the_embedded_bus_still_reports_an_outage_as_unavailable(sqlite_engine):
    bus = EmbeddedBus(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bus_events"))
    with pytest.raises(BusUnavailable):
        bus.publish(make_event())


@pytest.fixture
def redis_bus(redis_url: str) -> Iterator[tuple[RedisStreamsBus, redis.Redis]]:
    bus = RedisStreamsBus(redis_url, stream="sk:test:refused:events", group="sk:test:refused")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield bus, client
    for key in client.scan_iter("sk:test:refused*"):
        client.delete(key)
    bus.close()
    client.close()


def test_the_redis_bus_refuses_an_event_it_cannot_encode_and_writes_nothing(redis_bus):
    bus, client = redis_bus
    with pytest.raises(EventRefused):
        bus.publish(forged("\ud800"))
    with pytest.raises(EventRefused):
        bus.publish_delivery(forged("\udfff"), "01MESSAGE")
    assert client.exists("sk:test:refused:events") == 0
    assert client.exists("sk:webhook-seen:01MESSAGE") == 0
