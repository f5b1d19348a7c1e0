"""The live stream: guarded like a guild page, numbered events, Last-Event-ID resume,
heartbeats, a bound on open streams (429 + Retry-After), an end at shutdown and after its
longest duration."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from core.features.live.backends import MemoryLive
from core.web.dashboard import register
from core.web.dashboard.config import DashboardConfig
from core.web.dashboard.live_admission import LiveCaps
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth
from tests.web.dashboard.test_security import PUBLIC, _consent

GUILD = 111111111111111111
OTHER = 222222222222222222


@pytest.fixture
def discord():
    with FakeDiscordOAuth() as fake:
        user = fake.add_user(900000000000000001, "ana").member_of(GUILD, "Managed", MANAGE_GUILD)
        user.member_of(OTHER, "Not mine", 0)
        fake.sign_in_as(user)
        yield fake


@pytest.fixture
def backend():
    return MemoryLive()


def live_app(discord, backend, caps: LiveCaps, **config) -> Flask:  # type: ignore[no-untyped-def]
    """A web process's app with the dashboard and its live hub (heartbeats every 50 ms), on
    the fake Discord; ``config``: more of ``DashboardConfig`` (a Redis client)."""
    settings = DashboardConfig(
        secret="test-secret",
        public_url=PUBLIC,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base_url=discord.api_base_url,
        oauth_base_url=discord.oauth_base_url,
        bot_guild_ids=lambda: [GUILD, OTHER],
        live_backend=backend,
        live_caps=caps,
        live_stream_seconds=30,
        **config,
    )
    app = Flask(__name__)
    register(app, settings)
    app.extensions["live"].heartbeat = 0.05
    return app


@pytest.fixture
def app(discord, backend):
    return live_app(discord, backend, LiveCaps(process=2))


@pytest.fixture
def client(app, discord):
    with app.test_client() as client:
        done = client.get("/dashboard/callback", query_string=_consent(client, discord))
        assert done.status_code == 302
        yield client


def _open(client, topic="vip", guild=GUILD, **headers):  # type: ignore[no-untyped-def]
    answer = client.get(f"/dashboard/{guild}/live/{topic}", headers=headers, buffered=False)
    return answer, iter(answer.response)


def _read(events) -> str:  # type: ignore[no-untyped-def]
    chunk = next(events)
    return chunk.decode() if isinstance(chunk, bytes) else chunk


def test_a_stream_says_ready_then_each_change_with_its_number(client, backend):
    answer, events = _open(client)
    assert answer.status_code == 200
    assert answer.mimetype == "text/event-stream"
    assert answer.headers["Cache-Control"].startswith("no-cache")
    assert _read(events) == "retry: 3000\n\n"
    assert _read(events) == 'id: 0\nevent: ready\ndata: {"topic": "vip"}\n\n'
    assert _read(events) == ": heartbeat\n\n"
    backend.publish([(GUILD, "raffle"), (OTHER, "vip")])  # another topic, another guild
    assert _read(events) == ": heartbeat\n\n"
    backend.publish([(GUILD, "vip")])
    chunk = _read(events)
    while chunk == ": heartbeat\n\n":
        chunk = _read(events)
    assert chunk == 'id: 1\nevent: changed\ndata: {"topic": "vip"}\n\n'
    answer.close()


def test_a_resumed_stream_gets_what_it_missed_or_reload(client, backend):
    backend.publish([(GUILD, "events")] * 3)
    answer, events = _open(client, "events", **{"Last-Event-ID": "1"})
    assert _read(events).startswith("retry:")
    assert _read(events) == 'id: 3\nevent: changed\ndata: {"topic": "events"}\n\n'
    answer.close()
    answer, events = _open(client, "events", **{"Last-Event-ID": "3"})
    _read(events)
    assert _read(events) == ": heartbeat\n\n"  # missed nothing
    answer.close()
    answer, events = _open(client, "events", **{"Last-Event-ID": "99"})  # from before a restart
    _read(events)
    assert _read(events) == 'id: 3\nevent: reload\ndata: {"topic": "events"}\n\n'
    answer.close()
    answer, events = _open(client, "events", **{"Last-Event-ID": "x" * 40})  # nonsense: fresh
    _read(events)
    assert "event: ready" in _read(events)
    answer.close()


def test_an_open_stream_hears_a_change_after_the_counter_started_over(client, backend):
    """Redis came back without its last numbers (AOF's last second, or no persistence): the
    next change is number 1 again. The open page must still hear it, not wait for the counter
    to climb back past the number it saw."""
    answer, events = _open(client)
    assert _read(events).startswith("retry:")
    assert "event: ready" in _read(events)
    backend.publish([(GUILD, "vip")] * 3)
    assert _read(events) == 'id: 3\nevent: changed\ndata: {"topic": "vip"}\n\n'
    backend._seq.clear()  # the counter starts over
    backend.publish([(GUILD, "vip")])
    assert _read(events) == 'id: 1\nevent: changed\ndata: {"topic": "vip"}\n\n'
    answer.close()


def test_a_late_note_with_an_older_number_does_not_hide_the_change_before_it(client, backend):
    """Two processes' notes may be heard in another order than numbered (4, then a late 3):
    a stream that saw 3 must still be woken by the 4, whatever the hub holds when it wakes."""
    backend.publish([(GUILD, "vip")] * 3)
    answer, events = _open(client, **{"Last-Event-ID": "3"})
    assert _read(events).startswith("retry:")
    backend._tell(GUILD, "vip", 4)  # another process's change
    backend._tell(GUILD, "vip", 3)  # a late copy of an older note, before the stream woke
    assert "\nevent: changed\n" in _read(events)  # the page reads again: it sees the 4th change
    answer.close()


def test_streams_are_bounded_per_process(client, app):
    hub = app.extensions["live"]
    first, _ = _open(client)
    second, _ = _open(client, "raffle")
    third, _ = _open(client, "events")
    assert third.status_code == 429
    assert third.headers["Retry-After"] == "15"
    assert hub.open_streams == 2
    first.close()
    assert hub.open_streams == 1
    fourth, _ = _open(client, "events")
    assert fourth.status_code == 200
    second.close()
    fourth.close()
    assert hub.open_streams == 0


def test_streams_end_at_shutdown_and_after_their_longest_duration(client, app):
    hub = app.extensions["live"]
    answer, events = _open(client)
    _read(events), _read(events)
    ended = threading.Event()

    def drain() -> None:
        for _chunk in events:
            pass
        ended.set()

    threading.Thread(target=drain, daemon=True).start()
    hub.close()
    assert ended.wait(5)
    answer.close()
    assert _open(client)[0].status_code == 429  # no new stream while stopping
    hub._closed = False
    hub.stream_seconds = 0.2
    answer, events = _open(client)
    assert len(list(events)) >= 2  # retry, ready, perhaps heartbeats, then the end
    answer.close()


def test_streams_are_guarded_like_guild_pages(client, app):
    assert client.get(f"/dashboard/{OTHER}/live/vip").status_code == 403
    assert client.get(f"/dashboard/{GUILD}/live/secrets").status_code == 404
    assert client.get("/dashboard/1/live/vip").status_code == 403
    with app.test_client() as anonymous:
        answer = anonymous.get(f"/dashboard/{GUILD}/live/vip")
        assert answer.status_code == 302
