"""/overlay/<token>: no login, read-only, the kind from the token, 404 for anything else (the
same answer as an unknown path), a strict CSP, and a live stream with Last-Event-ID catch-up."""

from __future__ import annotations

import json
import threading

import pytest

from core.features.vip import repository as vip_repository
from core.web.dashboard.live_admission import LiveCaps
from tests.features.overlays.conftest import NOW, vip_entry
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD


def token(site, kind: str, guild: int = GUILD) -> str:
    return site.runtime.overlays.link(guild, kind).path.removeprefix("/overlay/")


def grant(site, guild: int, user: str) -> None:
    with site.runtime.engine.begin() as conn:
        vip_repository.add_audit(conn, vip_entry(guild, user=user))
    site.runtime.live.flush()  # what the notifier does each second


@pytest.mark.parametrize("kind", ["heist", "raffle", "alerts"])
def test_an_overlay_opens_without_login_with_a_strict_policy(site, kind):
    client = site.app.test_client()  # nobody signed in
    answer = client.get(f"/overlay/{token(site, kind)}")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert f'data-kind="{kind}"' in html
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'self'" in policy
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in html
    assert "style=" not in html
    assert "Managed" not in html
    assert str(GUILD) not in html
    for asset in ("overlay.css", "overlay.js"):
        with client.get(f"/overlay/static/{asset}") as served:
            assert served.status_code == 200


def test_wrong_and_rotated_tokens_answer_like_an_unknown_path(site):
    client = site.app.test_client()
    unknown = client.get("/no/such/path")
    old = token(site, "heist")
    site.runtime.overlays.link(GUILD, "heist", rotate=True)
    for path in (
        f"/overlay/{old}",
        f"/overlay/{old}/events",
        f"/overlay/{old}/state",
        "/overlay/" + "A" * 32,
        "/overlay/short",
        "/overlay/" + "%00" * 40,
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.get_data() == unknown.get_data(), path
        assert b"Managed" not in answer.get_data()
        assert str(GUILD).encode() not in answer.get_data()


def test_overlays_are_read_only(site):
    client = site.app.test_client()
    path = f"/overlay/{token(site, 'alerts')}"
    for method in (client.post, client.put, client.delete):
        assert method(path).status_code == 405


def test_the_state_is_the_tokens_guilds_only(site):
    grant(site, OTHER_GUILD, "5")
    client = site.app.test_client()
    assert client.get(f"/overlay/{token(site, 'alerts')}/state").get_json() == {"last": 0}
    assert client.get(f"/overlay/{token(site, 'alerts', OTHER_GUILD)}/state").get_json() == {
        "last": 1
    }
    heist = client.get(f"/overlay/{token(site, 'heist')}/state").get_json()
    assert heist["state"] == "idle"


def _open(client, path: str, **headers):  # type: ignore[no-untyped-def]
    answer = client.get(path, headers=headers, buffered=False)
    return answer, iter(answer.response)


def _next_event(events) -> str:  # type: ignore[no-untyped-def]
    while True:
        chunk = next(events)
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        if not text.startswith((":", "retry:")):
            return text


def _chunk(events) -> str:  # type: ignore[no-untyped-def]
    """The stream's next chunk, a heartbeat included."""
    chunk = next(events)
    return chunk.decode() if isinstance(chunk, bytes) else chunk


def _data(event: str) -> dict:
    line = next(line for line in event.splitlines() if line.startswith("data: "))
    return json.loads(line.removeprefix("data: "))


@pytest.fixture
def fast_hub(site):
    hub = site.app.extensions["live"]
    hub.heartbeat = 0.05
    return hub


def test_a_fresh_alert_stream_starts_at_the_newest_and_sends_each_new_one(site, fast_hub):
    grant(site, GUILD, "1")  # before the overlay opened: not replayed
    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, 'alerts')}/events")
    assert answer.status_code == 200
    assert answer.mimetype == "text/event-stream"
    assert _next_event(events) == 'id: 1\nevent: ready\ndata: {"last": 1}\n\n'
    grant(site, OTHER_GUILD, "9")  # another guild's: never shown here
    grant(site, GUILD, "2")
    event = _next_event(events)
    assert event.startswith("id: 2\nevent: alert\n")
    assert _data(event)["title"] == "viewer2 is now a VIP"
    answer.close()


def test_a_reconnecting_alert_stream_catches_up_by_number_without_repeats(site, fast_hub):
    for user in ("1", "2", "3"):
        grant(site, GUILD, user)
    client = site.app.test_client()
    path = f"/overlay/{token(site, 'alerts')}/events"
    answer, events = _open(client, path, **{"Last-Event-ID": "1"})
    assert [_data(_next_event(events))["seq"] for _ in range(2)] == [2, 3]
    answer.close()
    answer, events = _open(client, path + "?last_id=3")  # after a 503, the page's own retry
    grant(site, GUILD, "4")
    assert _data(_next_event(events))["seq"] == 4
    answer.close()


def test_an_alert_whose_note_never_came_is_sent_at_the_next_heartbeat(site, fast_hub, monkeypatch):
    """A note that went out before its alert was readable (or was lost) must not hold the alert
    back until the next one: the alerts stream reads again at each heartbeat."""
    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, 'alerts')}/events")
    assert _next_event(events) == 'id: 0\nevent: ready\ndata: {"last": 0}\n\n'

    def unreachable(changes) -> None:  # type: ignore[no-untyped-def]
        raise ConnectionError("Redis did not answer")

    monkeypatch.setattr(site.runtime.live.backend, "publish", unreachable)
    grant(site, GUILD, "1")  # recorded, but its note is dropped
    first = _chunk(events)  # the stream runs in this thread: its very next wake-up brings it
    assert first.startswith("id: 1\nevent: alert\n")
    assert _data(first)["title"] == "viewer1 is now a VIP"
    answer.close()


def test_a_heist_stream_sends_the_whole_state_at_once_and_after_a_change(site, fast_hub):
    from tests.features.overlays.test_views import open_heist

    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, 'heist')}/events")
    assert _data(_next_event(events))["state"] == "idle"
    open_heist(site.runtime.engine, GUILD, [("1", "alice", 200, "high", False)])
    site.runtime.live.flush()
    state = _data(_next_event(events))
    assert state["state"] == "open"
    assert state["crew"][0]["name"] == "alice"
    answer.close()


def test_overlay_streams_count_against_the_bound_on_open_streams(site, fast_hub):
    fast_hub.caps = LiveCaps(process=1)
    client = site.app.test_client()
    first, _ = _open(client, f"/overlay/{token(site, 'heist')}/events")
    assert first.status_code == 200
    busy = client.get(f"/overlay/{token(site, 'alerts')}/events")
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == "15"
    assert fast_hub.open_streams == 1
    first.close()
    assert fast_hub.open_streams == 0


def test_a_number_the_feed_never_gave_starts_fresh_at_the_newest(site, fast_hub):
    grant(site, GUILD, "1")
    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, 'alerts')}/events?last_id=99")
    assert _next_event(events) == 'id: 1\nevent: ready\ndata: {"last": 1}\n\n'
    grant(site, GUILD, "2")
    assert _data(_next_event(events))["seq"] == 2
    answer.close()


def test_rotating_ends_the_old_urls_open_stream(site, fast_hub):
    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, 'raffle')}/events")
    assert _data(_next_event(events))["top"] == []
    site.runtime.overlays.link(GUILD, "raffle", rotate=True)
    assert list(events) in ([], [": heartbeat\n\n"])  # it ends at its next wake-up
    answer.close()


def test_rotating_ends_the_old_urls_open_stream_at_once_not_at_a_heartbeat(site):
    """A leaked URL rotated away stops showing anything now, not up to a heartbeat later."""
    hub = site.app.extensions["live"]
    hub.heartbeat = 3600.0  # only the rotation itself can wake the stream
    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, 'alerts')}/events")
    assert _next_event(events).startswith("id: 0\nevent: ready\n")
    rest: list[str] = []
    reader = threading.Thread(target=lambda: rest.extend(str(chunk) for chunk in events))
    reader.start()
    site.runtime.overlays.link(GUILD, "alerts", rotate=True)
    site.runtime.live.flush()  # what the notifier does each second
    reader.join(timeout=30)  # a hang bound only: a working rotation ends it at once
    ended = not reader.is_alive()
    if not ended:
        hub.close()  # end the stream the rotation left open
        reader.join()
    assert ended
    assert rest == []
    answer.close()


def _next_named(events, most_heartbeats: int = 400) -> str:  # type: ignore[no-untyped-def]
    """The stream's next event; fails after ``most_heartbeats`` heartbeats without one."""
    for _ in range(most_heartbeats):
        text = _chunk(events)
        if not text.startswith((":", "retry:")):
            return text
    raise AssertionError(f"no event in {most_heartbeats} heartbeats")


@pytest.mark.parametrize("kind", ["raffle", "alerts"])
def test_an_open_overlay_is_told_to_reload_when_its_look_changes(site, fast_hub, kind):
    """The streamer changes the colours (or how long alerts stay) on the dashboard: a source
    open in OBS takes them up without the streamer refreshing it. An alerts overlay is not
    handed the alerts of that moment before it reloads: it asks for them again after."""
    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, kind)}/events")
    _next_named(events)  # its state, or "ready"
    form = {"alert_vip": "on", "alert_gifts": "on", "milestones": "100", "alert_seconds": "6"}
    colours = {"accent_colour": "#ff0000", "text_colour": "#ffffff"}
    site.runtime.overlays.save_settings(GUILD, form | colours)
    grant(site, GUILD, "1")  # an alert in the same moment (flushes the note of both)
    event = _next_named(events)
    assert event.startswith("event: reload\n"), event
    answer.close()


WHITE = {"text_colour": "#ffffff"}


def test_alerts_of_a_kind_turned_off_are_not_handed_out_but_tests_and_replays_are(site, fast_hub):
    """A follow-bot flood, say: the streamer turns the kind off. Alerts of it not yet shown
    (an overlay catching up, or reloaded with alerts still waiting their turn) are dropped;
    a test alert and a replay (shown even of a kind turned off) still come."""
    from core.events import Platform, Viewer, VipAdded

    grant(site, GUILD, "1")
    grant(site, GUILD, "2")
    test_seq = site.runtime.overlays.send_test_alert(GUILD)
    vip = VipAdded(platform=Platform.TWITCH, event_id="v-9", broadcaster_user_id="4242",
                   occurred_at=NOW, viewer=Viewer("9", "viewer9"))  # fmt: skip
    form = {"alert_gifts": "on", "milestones": "100", "alert_seconds": "6"}
    site.runtime.overlays.save_settings(GUILD, form | {"accent_colour": "#9146ff"} | WHITE)
    replay_seq = site.runtime.overlays.event_alerts.replay(GUILD, vip)
    client = site.app.test_client()
    path = f"/overlay/{token(site, 'alerts')}/events"
    answer, events = _open(client, path, **{"Last-Event-ID": "0"})
    assert [_data(_next_named(events))["seq"] for _ in range(2)] == [test_seq, replay_seq]
    answer.close()


def test_turning_an_alert_kind_off_tells_open_alerts_overlays_to_reload(site, fast_hub):
    """Its alerts already waiting their turn in the page go with the reload."""
    client = site.app.test_client()
    answer, events = _open(client, f"/overlay/{token(site, 'alerts')}/events")
    _next_named(events)  # "ready"
    style = {"template": "{who} just followed!", "seconds": "6"}  # no "enabled": off
    site.runtime.overlays.alert_settings.save_style(GUILD, "follow", style)
    site.runtime.live.flush()
    assert _next_named(events).startswith("event: reload\n")
    answer.close()
