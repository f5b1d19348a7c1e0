"""Twitch sign-in: the signed start link from ``!twitch setup`` and the callback Twitch
redirects back to.

The same pages and guards as Kick's (``oauth.py``): opening ``/auth/twitch/streamer`` changes
nothing and sets the browser-binding cookie; its button (a POST) uses the link up and goes to
Twitch's consent; ``/auth/twitch/callback`` finishes in the same browser only. Failures are plain
pages: 403 wrong account or browser, 410 link used, 502 Twitch did not answer, 503 database.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

import sqlalchemy as sa
from flask import Blueprint, Response, redirect, request

from core.features.connections.authorization import (
    LINK_USED,
    NOT_CONFIGURED,
    UNKNOWN_STATE,
    WRONG_ACCOUNT,
    WRONG_BROWSER,
)
from core.features.connections.signin import AuthorizationFailed
from core.features.connections.twitch_service import TwitchConnections
from core.features.connections.twitch_signin import (
    PURPOSE_TWITCH_STREAMER,
    TWITCH_LINK_USED_MESSAGE,
    TWITCH_UNAVAILABLE,
)
from core.security.links import LinkClaims, LinkInvalid, verify_link_params
from core.storage.db import DatabaseUnavailable
from core.web.oauth import (
    _LINK_PROBLEMS,
    _NO_COOKIE,
    BROWSER_COOKIE,
    BROWSER_COOKIE_MAX_AGE,
    _browser_nonce,
    _database_down,
    _page,
    _private,
    _unexpected,
)
from core.web.services import services

log = logging.getLogger(__name__)
bp = Blueprint("twitch_oauth", __name__, url_prefix="/auth/twitch")
bp.after_request(_private)
for _error in (DatabaseUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError):
    bp.register_error_handler(_error, _database_down)
bp.register_error_handler(Exception, _unexpected)

_STATUS = {
    WRONG_BROWSER: 403,
    WRONG_ACCOUNT: 403,
    LINK_USED: 410,
    TWITCH_UNAVAILABLE: 502,
    NOT_CONFIGURED: 503,
}


def _connections() -> TwitchConnections | None:
    return services().twitch_connections


def _not_set_up() -> Response:
    return _page("Twitch is not set up", "This bot has no Twitch app configured yet.", 503)


def _verified() -> LinkClaims | Response:
    web = services()
    params = {key: request.args.get(key, "") for key in ("guild", "user", "expires", "id", "sig")}
    try:
        return verify_link_params(web.link_secret, PURPOSE_TWITCH_STREAMER, params, web.clock())
    except LinkInvalid as problem:
        log.info("refused a Twitch start link: %s", problem.reason)
        return _page("Link not valid", _LINK_PROBLEMS[problem.reason], 403)


@bp.get("/streamer")
def streamer() -> Response:
    """Say what the link does, with a button that starts the sign-in; opening it (as link
    previews do) changes nothing."""
    connections = _connections()
    if connections is None or not connections.client_id:
        return _not_set_up()
    claims = _verified()
    if isinstance(claims, Response):
        return claims
    if connections.is_link_used(claims.link_id):
        return _page("Link already used", TWITCH_LINK_USED_MESSAGE, 410)
    channel = connections.channel_to_connect(claims.guild_id)
    if channel is None:
        intro = (
            "This link connects a Twitch channel to a Discord server, but the server has no "
            "Twitch channel set up any more: a server admin should run !twitch setup first."
        )
    else:
        intro = (
            f"This link lets StreamKeeper act for the Twitch channel {channel.channel_slug} in "
            f"a Discord server. Sign in on Twitch as {channel.channel_slug}, its owner: any "
            "other account is refused."
        )
    page = _page("Connect a Twitch channel", intro, button="Continue to Twitch")
    page.set_cookie(
        BROWSER_COOKIE,
        _browser_nonce() or secrets.token_urlsafe(32),
        max_age=BROWSER_COOKIE_MAX_AGE,
        path="/auth",
        secure=connections.redirect_uri.startswith("https://"),
        httponly=True,
        samesite="Lax",
    )
    return page


@bp.post("/streamer")
def streamer_begin() -> Response:
    """The button: use the link up, bind the sign-in to this browser, go to Twitch."""
    connections = _connections()
    if connections is None:
        return _not_set_up()
    claims = _verified()
    if isinstance(claims, Response):
        return claims
    nonce = _browser_nonce()
    if nonce is None:
        return _page("Cannot sign in", _NO_COOKIE, 403)
    try:
        return redirect(connections.begin(claims, nonce), code=303)
    except AuthorizationFailed as failed:
        title = "Link already used" if failed.code == LINK_USED else "Cannot sign in"
        return _page(title, failed.reason, _STATUS.get(failed.code, 400))


@bp.get("/callback")
def callback() -> Response:
    connections = _connections()
    state = request.args.get("state", "")
    if connections is None or not state:
        return _page("Sign-in not valid", "This page is only reached from Twitch's sign-in.", 400)
    try:
        authorized = asyncio.run(
            connections.complete(
                state=state,
                code=request.args.get("code"),
                error=request.args.get("error"),
                browser_nonce=_browser_nonce(),
            )
        )
    except AuthorizationFailed as failed:
        if failed.code == UNKNOWN_STATE:
            log.info("a Twitch sign-in came back with an unknown, used or expired state")
        return _page("Nothing was connected", failed.reason, _STATUS.get(failed.code, 400))
    message = (
        f"StreamKeeper now acts for the Twitch channel of {authorized.login}. It subscribes "
        "to the channel's events within a minute; check with !twitch status."
    )
    if authorized.missing_scopes:
        message += (
            " Some permissions were not granted ("
            + ", ".join(authorized.missing_scopes)
            + "): !twitch status gives a link to grant them."
        )
    return _page("Twitch channel connected", message)
