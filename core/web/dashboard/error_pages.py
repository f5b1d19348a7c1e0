"""The pages a browser gets for an HTTP error (an unknown address, a wrong method, a form too
large, a fault of ours): the dashboard's look, plain words, and nothing of the request or the
fault (werkzeug's own descriptions speak to developers). A client that asks for JSON, or asks
for nothing in particular (a script, a platform's webhook), keeps the app's JSON answer."""

from __future__ import annotations

import logging

from flask import Response, render_template, request
from werkzeug.exceptions import HTTPException

from core.platforms.webhook_checks import MAX_BODY_BYTES
from core.web.dashboard.security import DASHBOARD_POLICY

log = logging.getLogger(__name__)

GENERIC = ("Something went wrong", "StreamKeeper could not answer this request. Try again.")
WORDS: dict[int, tuple[str, str]] = {
    400: (
        "Not understood",
        "StreamKeeper could not read what was sent. Go back, reload the page and try again.",
    ),
    403: ("Not allowed", "You cannot open this page."),
    404: (
        "Page not found",
        "There is no page at this address. Check the link, or start again from the home page.",
    ),
    405: (
        "Not available this way",
        "This address does not take that kind of request. Go back and use the page's own "
        "links and buttons.",
    ),
    413: (
        "Too large",
        "What was sent is larger than StreamKeeper takes in one request "
        f"({MAX_BODY_BYTES // (1024 * 1024)} MiB), so nothing was saved. Send something "
        "smaller: an alert's picture or sound, at most the size its page says.",
    ),
    429: ("Slow down", "Too many requests in a short time. Wait a minute and try again."),
    500: (
        "Something went wrong",
        "StreamKeeper could not finish this request. Nothing was shown that should not be; the "
        "operator's log has the details. Try again, and tell the operator if it keeps happening.",
    ),
}


# An overlay's address is opened by OBS, which draws whatever comes back over the stream: an
# opaque page there would cover it. Nothing under it gets this module's pages: a browser gets
# the overlays' own transparent note (core/web/overlays: missing_page), anything else the JSON
# answer (a wrong token answers what any unknown address under it does).
NEVER_A_PAGE = ("/overlay/",)


def wants_page(dashboard_blueprints: set[str]) -> bool:
    """Whether this request is answered with a page: it is one of the dashboard's, or its client
    prefers HTML to JSON (a browser does; a script asking ``*/*`` or nothing does not)."""
    if request.path.startswith(NEVER_A_PAGE):
        return False
    if request.blueprint in dashboard_blueprints:
        return True
    best = request.accept_mimetypes.best_match(("application/json", "text/html"))
    return best == "text/html"


def http_error_page(error: HTTPException, message: str | None = None) -> Response | None:
    """The page for ``error`` (in ``message``'s words when given), with its headers (a 405's
    ``Allow``); None when even the page cannot be drawn (the caller answers in JSON then)."""
    from core.web.dashboard.state import current_user

    status = error.code or 500
    title, words = WORDS.get(status, GENERIC)
    try:
        user = current_user()
    except Exception:  # the database, say: the page is drawn without who is signed in
        user = None
    try:
        body = render_template(
            "dashboard/error.html", title=title, message=message or words, user=user
        )
    except Exception:
        log.exception("the error page for %s could not be drawn", status)
        return None
    response = Response(body, status, mimetype="text/html")
    # The dashboard's own policy (no inline style either) wherever the error happened.
    response.headers["Content-Security-Policy"] = DASHBOARD_POLICY
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
