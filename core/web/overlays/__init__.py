"""On-stream overlays for OBS browser sources: ``/overlay/<token>`` (issue 30).

No login: the token in the path is the secret, and the kind (heist, raffle, alerts) follows from
it. A wrong, malformed or rotated token answers exactly what an unknown path answers (the app's
404), so a guess learns nothing, not even that the path exists. Everything is read-only.

- ``/overlay/<token>``: the page (1920x1080, transparent, scaled to the source's size), with
  its script and stylesheet from ``/overlay/static/`` (CSP ``default-src 'self'``: nothing inline,
  nothing from elsewhere).
- ``/overlay/<token>/events``: Server-Sent Events on the dashboard's live hub (topics ``heist``,
  ``raffle``, ``alerts``). Heist and raffle: a ``state`` event with the whole view at once and
  after every change. Alerts: each alert as an ``alert`` event whose id is its number, so a
  reconnecting overlay (``Last-Event-ID``) gets exactly the ones after the last it saw; a fresh
  one starts at the newest (``ready``) and never replays the past.
- ``/overlay/<token>/state``: the same view as JSON, for an overlay without a stream.
- ``/overlay/<token>/media/<id>``: a picture or sound the guild uploaded, only through its own
  alerts overlay's token (another guild's token, or another kind's, answers 404).

The goal overlay streams like the heist and raffle ones (topic ``goal``); a points goal is read
from the points ledger, so its stream also looks again at every heartbeat and sends the state
when it changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, render_template, url_for

from core.events import utc
from core.features.overlays.repository import Alert
from core.features.overlays.service import MAX_CATCH_UP, Overlay, OverlayService
from core.web.dashboard.live import RETRY_MS, LiveHub, event_stream, last_event_id

# The page loads only what the app serves, and only the dashboard (same origin) may frame it
# (its preview); OBS loads it directly.
OVERLAY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
TOPIC = {"heist": "heist", "raffle": "raffle", "alerts": "alerts", "goal": "goal"}

bp = Blueprint(
    "overlay",
    __name__,
    url_prefix="/overlay",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _service() -> OverlayService:
    service = current_app.extensions.get("overlays")
    if service is None:
        abort(404)
    return service


def _opened(token: str) -> Overlay:
    overlay = _service().open(token)
    if overlay is None:
        abort(404)  # the same answer as any unknown path
    return overlay


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = OVERLAY_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response


def _alert(alert: Alert, media_path: str) -> dict[str, Any]:
    """The alert as its overlay reads it; ``media_path`` is where its token serves files (read
    in the request: the stream runs outside it)."""

    def media(media_id: str | None) -> str | None:
        return None if media_id is None else media_path + media_id

    return {
        "seq": alert.seq,
        "kind": alert.kind,
        "title": alert.title,
        "detail": alert.detail,
        "amount": alert.amount,
        "image": media(alert.image_id),
        "sound": media(alert.sound_id),
        "seconds": alert.seconds,
    }


def _state(service: OverlayService, overlay: Overlay) -> dict[str, Any]:
    return service.state(overlay) | {"now": utc(service.clock()).isoformat()}


@bp.get("/<token>")
def page(token: str):  # type: ignore[no-untyped-def]
    overlay = _opened(token)
    service = _service()
    chosen = service.settings(overlay.guild_id)
    html = render_template(
        f"overlay/{overlay.kind}.html",
        token=token,
        kind=overlay.kind,
        settings=chosen,
    )
    return _headers(Response(html, mimetype="text/html"))


@bp.get("/<token>/state")
def state(token: str):  # type: ignore[no-untyped-def]
    overlay = _opened(token)
    service = _service()
    if overlay.kind == "alerts":
        body: dict[str, Any] = {"last": service.last_alert(overlay.guild_id)}
    else:
        body = _state(service, overlay)
    return _headers(Response(json.dumps(body), mimetype="application/json"))


@bp.get("/<token>/events")
def events(token: str):  # type: ignore[no-untyped-def]
    overlay = _opened(token)
    service = _service()
    last_id = last_event_id()
    media_path = url_for("overlay.page", token=token) + "/media/"
    response = event_stream(lambda hub: _stream(hub, service, token, overlay, last_id, media_path))
    if response.status_code != 200:
        return response
    return _headers(response)


def _event(name: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = "" if event_id is None else f"id: {event_id}\n"
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"


def _stream(
    hub: LiveHub,
    service: OverlayService,
    token: str,
    overlay: Overlay,
    last_id: int | None,
    media_path: str,
) -> Iterator[str]:
    """The overlay's events until the stream's time is up, the server stops, or the token stops
    opening this overlay (rotated: checked at every wake-up, so within a heartbeat)."""
    guild_id, topic = overlay.guild_id, TOPIC[overlay.kind]
    ends = hub.clock() + hub.stream_seconds
    seen = hub.latest(guild_id, topic)  # before reading the database: nothing slips between
    sent: dict[str, Any] = {}  # the last state sent (heist, raffle, goal)
    yield f"retry: {RETRY_MS}\n\n"
    if overlay.kind == "alerts":
        newest = service.last_alert(guild_id)
        after = newest if last_id is None or last_id > newest else last_id
        if after == newest and last_id != newest:  # fresh, or a number this feed never gave
            yield _event("ready", {"last": after}, after)
        for alert in _alerts_after(service, guild_id, after):
            after = alert.seq
            yield _event("alert", _alert(alert, media_path), alert.seq)
    else:
        sent = _state(service, overlay)
        yield _event("state", sent)
    while True:
        now = hub.wait(guild_id, topic, seen, min(hub.heartbeat, ends - hub.clock()))
        if now is None or service.open(token) != overlay:
            return
        if now > seen:
            seen = now
            if overlay.kind == "alerts":
                for alert in _alerts_after(service, guild_id, after):
                    after = alert.seq
                    yield _event("alert", _alert(alert, media_path), alert.seq)
            else:
                sent = _state(service, overlay)
                yield _event("state", sent)
        elif hub.clock() >= ends:
            return
        elif overlay.kind == "goal" and _goal_moved(service, overlay, sent):
            sent = _state(service, overlay)
            yield _event("state", sent)
        else:
            yield ": heartbeat\n\n"


def _goal_moved(service: OverlayService, overlay: Overlay, sent: dict[str, Any]) -> bool:
    """Whether a points goal moved since ``sent`` (points are not told to the live hub)."""
    goal = sent.get("goal")
    if not goal or goal.get("measure") != "points":
        return False
    return service.state(overlay).get("goal") != goal


@bp.get("/<token>/media/<media_id>")
def media(token: str, media_id: str):  # type: ignore[no-untyped-def]
    overlay = _opened(token)
    if overlay.kind != "alerts":
        abort(404)
    found = _service().alert_settings.media_file(overlay.guild_id, media_id)
    if found is None:
        abort(404)
    response = _headers(Response(found.data, mimetype=found.content_type))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _alerts_after(service: OverlayService, guild_id: int, after: int) -> Iterator[Alert]:
    while True:
        batch = service.alerts_after(guild_id, after)
        yield from batch
        if len(batch) < MAX_CATCH_UP:
            return
        after = batch[-1].seq


def register(app: Flask, service: OverlayService | None) -> None:
    if service is not None:
        app.extensions["overlays"] = service
    app.register_blueprint(bp)
