"""The live streams' caps per overlay link, server and client address across web processes, on
a real Redis: two hubs (two processes) count each other's streams, a place given back is free
for the other, a killed process's places free themselves when their lease ends, a running
stream keeps its own, a replaced stream's place goes to its replacement, neither a link's secret
nor an address is written to Redis, and a Redis that does not answer leaves each process its
own counts. Then the same through two apps' ``/dashboard/<server>/live/<topic>``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
import redis

from core.features.live.backends import MemoryLive
from core.web.dashboard.live import LiveHub, TopicSubscription
from core.web.dashboard.live_admission import (
    CLIENT_FULL,
    OVERLAY_FULL,
    SERVER_FULL,
    LiveCaps,
    Refusal,
    Ticket,
)
from core.web.dashboard.live_shared_caps import (
    LEASE_SECONDS,
    RENEW_SECONDS,
    SharedCaps,
)
from core.web.dashboard.redis_counts import PAUSE_SECONDS
from tests.support.clock import Ticker
from tests.support.gone_redis import GoneRedis
from tests.web.dashboard.test_live import GUILD, discord, live_app
from tests.web.dashboard.test_security import _consent

__all__ = ["discord"]

CAPS = LiveCaps(process=50, per_overlay=1, per_guild=2, per_client=2)
NONE: frozenset[str] = frozenset()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def wall() -> Ticker:
    return Ticker(1_900_000_000.0)


@pytest.fixture
def ids() -> Iterator[int]:
    """Guild ids of this test alone (the Redis server is shared with other tests)."""
    base = uuid.uuid4().int % 10**15 * 1000
    return iter(range(base, base + 1000))


def hub(client: redis.Redis, wall: Ticker, name: str, caps: LiveCaps = CAPS) -> LiveHub:
    """A web process's hub, its shared caps in ``client``."""
    made = LiveHub(MemoryLive(), caps, stream_seconds=3600, heartbeat=0.01, clock=Ticker())
    made.shared = SharedCaps(client, lambda: made.caps, name, clock=wall)
    return made


def address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def admit(on: LiveHub, guild: int, client: str, token: str | None = None, connection=None):  # type: ignore[no-untyped-def]
    return on.admit(frozenset({guild}), frozenset({token}) if token else NONE, client, connection)


def test_each_cap_counts_the_streams_of_every_process(client, wall, ids):
    a, b = hub(client, wall, "a"), hub(client, wall, "b")
    me, guild, other_guild = address(), next(ids), next(ids)

    assert isinstance(admit(a, guild, me), Ticket)
    assert isinstance(admit(b, other_guild, me), Ticket)
    refused = admit(a, next(ids), me)  # a holds one of this address's streams, b the other
    assert isinstance(refused, Refusal)
    assert refused.reason == CLIENT_FULL
    assert a.open_streams == 1  # the refused one holds nothing here either

    assert isinstance(admit(b, guild, address()), Ticket)  # the server's second, in b
    assert admit(a, guild, address()).reason == SERVER_FULL  # type: ignore[union-attr]

    token = uuid.uuid4().hex
    assert isinstance(admit(a, next(ids), address(), token), Ticket)
    assert admit(b, next(ids), address(), token).reason == OVERLAY_FULL  # type: ignore[union-attr]


def test_a_place_given_back_in_one_process_is_free_in_the_other(client, wall, ids):
    a, b = hub(client, wall, "a"), hub(client, wall, "b")
    guild = next(ids)
    held = [admit(a, guild, address()) for _ in range(2)]
    assert isinstance(admit(b, guild, address()), Refusal)

    a.release(held[0])  # type: ignore[arg-type]
    a.release(held[0])  # type: ignore[arg-type]  # twice: nothing more is freed

    assert isinstance(admit(b, guild, address()), Ticket)
    assert isinstance(admit(b, guild, address()), Refusal)


def test_a_killed_processs_places_free_themselves_when_their_lease_ends(client, wall, ids):
    killed, living = hub(client, wall, "killed"), hub(client, wall, "living")
    guild = next(ids)
    assert all(isinstance(admit(killed, guild, address()), Ticket) for _ in range(2))
    # The killed process never gives its places back.
    wall.advance(LEASE_SECONDS - 1)
    assert isinstance(admit(living, guild, address()), Refusal)
    wall.advance(2)
    assert isinstance(admit(living, guild, address()), Ticket)


def test_a_running_stream_keeps_its_place_past_its_first_lease(client, wall, ids):
    one = LiveCaps(process=50, per_guild=1)
    a, b = hub(client, wall, "a", one), hub(client, wall, "b", one)
    guild = next(ids)
    ticket = admit(a, guild, address())
    assert isinstance(ticket, Ticket)
    stream = a.serve(ticket, [TopicSubscription(guild, "vip", None)], shared=False)
    assert next(stream) == "retry: 3000\n\n"
    assert "event: ready" in next(stream)

    for _ in range(4):  # four renewals, each after RENEW_SECONDS, together past the lease
        a.clock.advance(RENEW_SECONDS)  # type: ignore[attr-defined]
        wall.advance(RENEW_SECONDS)
        assert next(stream) == ": heartbeat\n\n"

    assert 4 * RENEW_SECONDS > LEASE_SECONDS
    assert admit(b, guild, address()).reason == SERVER_FULL  # type: ignore[union-attr]
    stream.close()
    a.release(ticket)
    assert isinstance(admit(b, guild, address()), Ticket)


def test_a_replaced_stream_gives_its_place_to_its_replacement(client, wall, ids):
    one_each = LiveCaps(process=50, per_client=1)
    a = hub(client, wall, "a", one_each)
    me = address()
    first = admit(a, next(ids), me, connection="tab-1")
    second = admit(a, next(ids), me, connection="tab-1")

    assert isinstance(second, Ticket)
    assert first.ended  # type: ignore[union-attr]
    assert isinstance(admit(hub(client, wall, "b", one_each), next(ids), me), Refusal)


def test_neither_an_overlay_links_secret_nor_an_address_is_written(client, wall, ids):
    token, me = f"secret-{uuid.uuid4().hex}", address()
    assert isinstance(admit(hub(client, wall, "a"), next(ids), me, token), Ticket)

    keys = [key.decode() for key in client.scan_iter(match="live:caps:*", count=1000)]
    assert keys
    assert not [key for key in keys if token in key or me in key]


def test_without_redis_each_process_admits_by_its_own_counts_and_lets_redis_be(wall, ids, caplog):
    gone = GoneRedis()
    a = hub(gone, wall, "a", LiveCaps(process=50, per_client=1))
    pause = Ticker()
    a.shared.pause.monotonic = pause  # type: ignore[union-attr]
    me = address()

    with caplog.at_level(logging.WARNING, logger="core.web.dashboard.live_shared_caps"):
        first = admit(a, next(ids), me)
        assert isinstance(first, Ticket)
        assert admit(a, next(ids), me).reason == CLIENT_FULL  # type: ignore[union-attr]
        assert isinstance(admit(a, next(ids), address()), Ticket)
        a.release(first)  # type: ignore[arg-type]
        assert gone.sent == 1  # the first failure; then Redis is left alone for a while
        pause.advance(PAUSE_SECONDS)
        assert isinstance(admit(a, next(ids), address()), Ticket)
        assert gone.sent == 2  # tried again

    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # once per failure, not once per stream
    for warning in warnings:
        assert "admitted by this process's counts alone; asked again in 30 s" in warning


def test_two_web_processes_answer_429_past_a_servers_cap_together(discord, client):
    """Each app admits 5 streams; the server may hold 2, whichever process serves them."""
    caps = LiveCaps(process=5, per_guild=2, per_client=5)
    first, second = (live_app(discord, MemoryLive(), caps, redis=client) for _ in range(2))
    assert isinstance(first.extensions["live"].shared, SharedCaps)
    opened = []
    a, b = first.test_client(), second.test_client()
    for browser in (a, b):
        done = browser.get("/dashboard/callback", query_string=_consent(browser, discord))
        assert done.status_code == 302
    for browser in (a, b):
        answer = browser.get(f"/dashboard/{GUILD}/live/vip", buffered=False)
        assert answer.status_code == 200
        opened.append(answer)
    refused = a.get(f"/dashboard/{GUILD}/live/events", buffered=False)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "15"
    assert "This server has as many live connections open as it may." in refused.text
    opened.pop().close()  # b's stream ends: its place is free for a
    again = a.get(f"/dashboard/{GUILD}/live/events", buffered=False)
    assert again.status_code == 200
    again.close()
    for answer in opened:
        answer.close()
