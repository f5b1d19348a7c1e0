"""Security headers on every response, set once for the whole app (every blueprint gets them).

A view that needs something else (the dashboard's own policy, a cacheable asset) sets the header
itself; these are only defaults.
"""

from __future__ import annotations

from flask import Response, request

# JSON, plain text and redirects: nothing on them may load anything or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# HTML pages: their own resources only (the dashboard will add scripts from 'self', never inline
# ones). Inline styles stay allowed: the small pages carry
# a <style> block, and the text in them is escaped by Jinja, so no visitor's input can write one.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Areas whose answers carry or lead to a token, a signed link, a sign-in or a viewer's own data:
# never cached, pages (every page is) or not (a redirect, a JSON download). Blueprint names:
# Discord login and logout, the Kick and Twitch sign-ins (core/web/connections/), and /me.
NO_STORE_BLUEPRINTS = frozenset({"auth", "kick_signin", "twitch_signin", "me"})

_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


# The headers of an answer that is not a page (JSON, plain text), for a WSGI answer made without
# Flask (the webhooks, core/web/webhooks.py).
API_HEADERS: tuple[tuple[str, str], ...] = (
    *_ALWAYS.items(),
    ("Content-Security-Policy", API_POLICY),
)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    for name, value in _ALWAYS.items():
        headers.setdefault(name, value)
    is_page = response.mimetype == "text/html"
    headers.setdefault("Content-Security-Policy", PAGE_POLICY if is_page else API_POLICY)
    if is_page or request.blueprint in NO_STORE_BLUEPRINTS:
        headers["Cache-Control"] = "no-store"
    return response
