"""Twitch sign-in: the signed start links from ``!twitch setup`` (a streamer connects the
guild's channel) and ``!link twitch`` (a viewer links their Twitch account), and the one
callback Twitch redirects back to (``/auth/twitch/callback``; the single-use state says which).

The same pages and guards as Kick's (``oauth.py``, both built on ``oauth_pages.py``): opening a
start link changes nothing and sets the browser-binding cookie; its button (a POST) uses the link
up and goes to Twitch's consent; the callback finishes in the same browser only. Failures are
plain pages: 403 wrong account, browser or an expired link, 409 a Twitch account linked to
another Discord user, 410 link used, 502 (streamer) or 503 (viewer) Twitch did not answer, 503
database.
"""

from __future__ import annotations

import asyncio
import logging

from flask import Blueprint, Response, request

from core.events import Platform
from core.features.connections.authorization import (
    LINK_USED,
    NOT_CONFIGURED,
    UNKNOWN_STATE,
    WRONG_ACCOUNT,
    WRONG_BROWSER,
)
from core.features.connections.round_trip import AuthorizationFailed
from core.features.connections.twitch.service import TwitchConnections
from core.features.connections.twitch.signin import (
    PURPOSE_TWITCH_STREAMER,
    TWITCH_LINK_USED_MESSAGE,
    TWITCH_UNAVAILABLE,
    TwitchAuthorized,
)
from core.features.connections.twitch.viewer_signin import (
    PURPOSE_TWITCH_VIEWER,
    TWITCH_VIEWER_LINK_USED_MESSAGE,
    TWITCH_VIEWER_UNAVAILABLE_MESSAGE,
    TwitchViewerIdentity,
)
from core.security.links import LinkClaims
from core.web.oauth_pages import (
    bind_browser,
    browser_nonce,
    expired_viewer_link,
    go_to_consent,
    guard,
    link_viewer,
    page,
    verified,
    viewer_refused,
)
from core.web.services import services

log = logging.getLogger(__name__)
bp = Blueprint("twitch_oauth", __name__, url_prefix="/auth/twitch")
guard(bp)

_STATUS = {
    WRONG_BROWSER: 403,
    WRONG_ACCOUNT: 403,
    LINK_USED: 410,
    TWITCH_UNAVAILABLE: 502,
    NOT_CONFIGURED: 503,
}
# A viewer is told Twitch is unreachable with a 503: nothing on our side is wrong, try later.
_VIEWER_STATUS = {**_STATUS, TWITCH_UNAVAILABLE: 503}


def _connections() -> TwitchConnections | None:
    connections = services().twitch_connections
    return connections if connections is not None and connections.client_id else None


def _not_set_up() -> Response:
    return page("Twitch is not set up", "This bot has no Twitch app configured yet.", 503)


def _verified(purpose: str) -> LinkClaims | Response:
    if purpose == PURPOSE_TWITCH_VIEWER:
        return verified(purpose, lambda claims: expired_viewer_link(Platform.TWITCH, claims))
    return verified(purpose)


def _open(purpose: str, intro: str | None = None) -> Response:
    """GET of a start link: say what it does, with a button that starts the sign-in; opening it
    (as link previews do) changes nothing."""
    connections = _connections()
    if connections is None:
        return _not_set_up()
    claims = _verified(purpose)
    if isinstance(claims, Response):
        return claims
    if connections.is_link_used(claims.link_id):
        used = (
            TWITCH_VIEWER_LINK_USED_MESSAGE
            if purpose == PURPOSE_TWITCH_VIEWER
            else TWITCH_LINK_USED_MESSAGE
        )
        return page("Link already used", used, 410)
    if purpose == PURPOSE_TWITCH_VIEWER:
        start = page(
            "Link your Twitch account",
            "This personal link connects the Twitch account you sign in with to the Discord "
            "account that asked for it with !link twitch. Twitch only tells us who you are; "
            "continue only if you asked for it yourself.",
            button="Continue to Twitch",
        )
    else:
        start = page(
            "Connect a Twitch channel",
            _streamer_intro(connections, claims),
            button="Continue to Twitch",
        )
    return bind_browser(start, secure=connections.redirect_uri.startswith("https://"))


def _streamer_intro(connections: TwitchConnections, claims: LinkClaims) -> str:
    channel = connections.channel_to_connect(claims.guild_id)
    if channel is None:
        return (
            "This link connects a Twitch channel to a Discord server, but the server has no "
            "Twitch channel set up any more: a server admin should run !twitch setup first."
        )
    return (
        f"This link lets StreamKeeper act for the Twitch channel {channel.channel_slug} in "
        f"a Discord server. Sign in on Twitch as {channel.channel_slug}, its owner: any "
        "other account is refused."
    )


def _begin(purpose: str) -> Response:
    """The button: use the link up, bind the sign-in to this browser, go to Twitch."""
    connections = _connections()
    if connections is None:
        return _not_set_up()
    return go_to_consent(
        _verified(purpose),
        lambda claims, nonce: connections.begin(claims, nonce, purpose),
        _STATUS,
    )


@bp.get("/streamer")
def streamer() -> Response:
    return _open(PURPOSE_TWITCH_STREAMER)


@bp.post("/streamer")
def streamer_begin() -> Response:
    return _begin(PURPOSE_TWITCH_STREAMER)


@bp.get("")
def viewer() -> Response:
    return _open(PURPOSE_TWITCH_VIEWER)


@bp.post("")
def viewer_begin() -> Response:
    return _begin(PURPOSE_TWITCH_VIEWER)


@bp.get("/callback")
def callback() -> Response:
    connections = _connections()
    state = request.args.get("state", "")
    if connections is None or not state:
        return page("Sign-in not valid", "This page is only reached from Twitch's sign-in.", 400)
    try:
        authorized = asyncio.run(
            connections.complete(
                state=state,
                code=request.args.get("code"),
                error=request.args.get("error"),
                browser_nonce=browser_nonce(),
            )
        )
    except AuthorizationFailed as failed:
        return _refused(failed)
    if isinstance(authorized, TwitchViewerIdentity):
        return link_viewer(
            Platform.TWITCH,
            guild_id=authorized.guild_id,
            discord_user_id=authorized.discord_user_id,
            platform_user_id=authorized.twitch_user_id,
            username=authorized.login,
        )
    return _connected(authorized)


def _refused(failed: AuthorizationFailed) -> Response:
    """The page for a sign-in that came back refused; a viewer whose state was valid (and who
    came back in the browser that started it) also hears about it in Discord."""
    pending = failed.pending
    if pending is None or failed.code == UNKNOWN_STATE:
        log.info("a Twitch sign-in came back with an unknown, used or expired state")
    elif pending.purpose == PURPOSE_TWITCH_VIEWER and failed.code != WRONG_BROWSER:
        status = _VIEWER_STATUS.get(failed.code, 400)
        message = TWITCH_VIEWER_UNAVAILABLE_MESSAGE if failed.code == TWITCH_UNAVAILABLE else None
        return viewer_refused(
            Platform.TWITCH, pending.guild_id, pending.discord_user_id, failed.code, status, message
        )
    return page("Nothing was connected", failed.reason, _STATUS.get(failed.code, 400))


def _connected(authorized: TwitchAuthorized) -> Response:
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
    return page("Twitch channel connected", message)
