"""The first-run setup page, ``/setup``: every setting checked, what is missing and where to get
it, and the bot's invite link (``core/setup/`` makes the checks; this only renders them).

Only the operator gets it: a request made on this machine straight to the server, or a
browser that brought the one-time token from the log (it then holds a signed cookie for half an
hour), and in either case naming this server in its ``Host`` (a loopback name or the public
address), so that no other site can read it through DNS rebinding. Anyone else gets the app's
plain 404, the same as for a path that does not exist, so nothing hints that the page is there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Request, abort, current_app, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from core.features.guilds.invite import BOT_PERMISSIONS, PERMISSIONS_VALUE, invite_url
from core.setup.access import SetupToken
from core.setup.checks import SetupReport, setup_report
from core.web.dashboard.security import add_dashboard_headers
from core.web.templates import share_compiled_templates

if TYPE_CHECKING:
    from core.config import Settings
    from core.health import HealthReport

COOKIE = "sk_setup"
COOKIE_SECONDS = 30 * 60
# Behind a reverse proxy every request comes from loopback: one that says it was forwarded
# (whatever the address it names) must bring the token.
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host")

bp = Blueprint("setup", __name__, template_folder="templates")


@dataclass(frozen=True)
class SetupConfig:
    token: SetupToken
    secret: str = field(repr=False)  # signs the cookie
    report: Callable[[], SetupReport]  # runs every check once (its outside calls included)
    public_host: str | None = None  # OAUTH_BASE_URL's host: the page answers it, and loopback


def setup_config(
    settings: Settings, health: Callable[[], HealthReport], token: SetupToken, secret: str
) -> SetupConfig:
    """The page's token, cookie key and checks (``health``: the process's own checks)."""

    def report() -> SetupReport:
        def invite(client_id: str) -> str:
            return invite_url(client_id, settings.discord.oauth_base_url)

        return setup_report(settings, health(), invite)

    public = settings.web.oauth_base_url
    return SetupConfig(
        token=token,
        secret=secret,
        report=report,
        public_host=urlsplit(public).hostname if public else None,
    )


def register(app: Flask, config: SetupConfig) -> None:
    share_compiled_templates(app)
    app.extensions["setup"] = config
    app.register_blueprint(bp)


def _config() -> SetupConfig:
    return current_app.extensions["setup"]


def _signer(config: SetupConfig) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret, salt="streamkeeper setup page")


def is_direct_loopback(req: Request) -> bool:
    """Made on this machine straight to the server: a loopback peer and no forwarding header."""
    if any(name in req.headers for name in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address((req.remote_addr or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


LOOPBACK_NAMES = ("localhost", "localhost.")


def is_our_host(req: Request, public_host: str | None) -> bool:
    """Whether the request names this server: a loopback name or address, or the configured
    public address. A page on another site whose name was made to point at 127.0.0.1 (DNS
    rebinding) sends its own name, and is refused."""
    try:
        host = urlsplit(f"//{req.host}").hostname or ""
    except ValueError:  # a Host header that is no host (an unclosed bracket)
        return False
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    if public_host is not None and host == public_host.lower():
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _has_cookie(config: SetupConfig) -> bool:
    sent = request.cookies.get(COOKIE)
    if not sent:
        return False
    try:
        mark = _signer(config).loads(sent, max_age=COOKIE_SECONDS)
    except BadSignature:  # a forged, changed or expired cookie
        return False
    return mark == config.token.process_mark


# Every method is routed here, so that no method answers 405 (or OPTIONS 200) where an unknown
# path answers 404; only GET is served (a HEAD, as a link preview may send, uses no token up).
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.route("/setup", methods=ANY_METHOD, provide_automatic_options=False)
def page():  # type: ignore[no-untyped-def]
    config = _config()
    if request.method != "GET" or not is_our_host(request, config.public_host):
        abort(404)
    token = request.args.get("token")
    if token is not None:
        if config.token.redeem(token):
            # Into a cookie, and off the address bar (and out of the browser's history).
            response = redirect("/setup", 303)
            response.set_cookie(
                COOKIE,
                _signer(config).dumps(config.token.process_mark),
                max_age=COOKIE_SECONDS,
                path="/setup",
                httponly=True,
                # Secure when the browser came over https (to us, or to the proxy in front).
                secure=request.is_secure or request.headers.get("X-Forwarded-Proto") == "https",
                samesite="Strict",
            )
            return response
        if is_direct_loopback(request) or _has_cookie(config):
            return redirect("/setup", 303)
        abort(404)
    if not (is_direct_loopback(request) or _has_cookie(config)):
        abort(404)
    report = config.report()
    return render_template(
        "setup/setup.html",
        user=None,
        report=report,
        permissions=[(name, why) for name, why in BOT_PERMISSIONS.items()],
        permissions_value=PERMISSIONS_VALUE,
    )


@bp.after_request
def headers(response: Response) -> Response:
    if response.status_code == 404:
        return response  # the app's own 404, untouched: the same as any unknown path
    return add_dashboard_headers(response)
