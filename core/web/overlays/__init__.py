"""On-stream overlays for OBS browser sources: ``/overlay/<token>`` (issue 30).

No login: the token in the path is the secret, and the kind (heist, raffle, alerts) follows from
it. A wrong, malformed or rotated token answers exactly what an unknown path under ``/overlay/``
answers (404: to a browser, OBS, a transparent page saying the link does not work,
:func:`missing_page`; to a script, the app's JSON), so a guess learns nothing, not even that the
path exists. Everything is read-only.

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
import logging
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from core.features.overlays.service import Overlay, OverlayService
from core.web.dashboard import DATABASE_ERRORS
from core.web.dashboard.live import (
    BUSY_RETRY_SECONDS,
    database_down_answer,
    event_stream,
    last_event_id,
)
from core.web.overlays.stream import OverlaySubscription, state_data
from core.web.templates import share_compiled_templates

log = logging.getLogger(__name__)

# The page loads only what the app serves, and only the dashboard (same origin) may frame it
# (its preview); OBS loads it directly.
OVERLAY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
# live-link.js also runs as the browser's shared live connection (a SharedWorker), whose policy
# is its script's: it may open the live stream on this site and nothing else.
WORKER_POLICY = "default-src 'none'; connect-src 'self'; base-uri 'none'; form-action 'none'"

bp = Blueprint(
    "overlay",
    __name__,
    url_prefix="/overlay",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


# What an overlay shows while the database does not answer: nothing on the stream (a blank,
# transparent page in OBS), and it loads itself again; its state and stream answer 503 with
# Retry-After, which live-link.js and the pages' fetches try again after.
DATABASE_DOWN_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Overlay</title>'
    '<script src="{retry}" data-seconds="{seconds}"></script></head><body></body></html>'
)


def _database_down(error: Exception) -> Response:
    log.warning("an overlay was not served: the database is unreachable (%s)", type(error).__name__)
    if request.endpoint == "overlay.page":
        retry = url_for("overlay.static", filename="retry.js")
        page = DATABASE_DOWN_PAGE.format(retry=retry, seconds=BUSY_RETRY_SECONDS)
        response = _headers(Response(page, 503, mimetype="text/html"))
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response
    return database_down_answer()


for _error in DATABASE_ERRORS:
    bp.register_error_handler(_error, _database_down)


def missing_page(error: HTTPException) -> Response | None:
    """What a browser (OBS) gets for an unknown address under ``/overlay/``, a wrong or rotated
    token included: a transparent page with one short note for the streamer, the same for every
    such address; None (the app's JSON answer) for anything else, and for a client that does not
    ask for a page (the live stream, the state)."""
    best = request.accept_mimetypes.best_match(("application/json", "text/html"))
    if error.code != 404 or best != "text/html":
        return None
    html = render_template("overlay/missing.html")
    return _headers(Response(html, 404, mimetype="text/html"))


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


@bp.after_request
def _worker_policy(response: Response) -> Response:
    if (
        request.endpoint == "overlay.static"
        and (request.view_args or {}).get("filename") == "live-link.js"
    ):
        response.headers["Content-Security-Policy"] = WORKER_POLICY
    return response


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
        body = state_data(service, overlay)
    return _headers(Response(json.dumps(body), mimetype="application/json"))


@bp.get("/<token>/events")
def events(token: str):  # type: ignore[no-untyped-def]
    overlay = _opened(token)
    service = _service()
    last_id = last_event_id()
    media_path = url_for("overlay.page", token=token) + "/media/"
    response = event_stream(
        lambda: [OverlaySubscription(service, token, overlay, last_id, media_path=media_path)],
        guilds=frozenset({overlay.guild_id}),
        tokens=frozenset({token}),
    )
    if response.status_code != 200:
        return response
    return _headers(response)


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
    # An upload's address never serves other bytes (a replaced picture is a new upload with an
    # address of its own, which the next alert names), so the browser may keep it for good.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


def register(app: Flask, service: OverlayService | None) -> None:
    share_compiled_templates(app)
    if service is not None:
        app.extensions["overlays"] = service
    app.register_blueprint(bp)
