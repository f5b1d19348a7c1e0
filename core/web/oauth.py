"""Kick sign-in: the signed start links from Discord, and the callback Kick redirects back to.

``/auth/kick/streamer`` connects a guild's Kick channel (a guild admin's link);
``/auth/kick`` links a viewer's Kick account to their Discord account. Both come back to
``/auth/kick/callback``; the single-use state says which it was.

A viewer's link, or its failure, is published on the bus (``AccountLinked`` or
``AccountLinkFailed``) when the member is known from a verified link or state, so that the bot
tells them in Discord and the guild's link log records it. A tampered link names nobody we can
trust, so it is only logged here.
"""

from __future__ import annotations

import asyncio
import logging

from flask import Blueprint, Response, request

from core.events import Platform
from core.features.connections.authorization import (
    KICK_UNAVAILABLE,
    LINK_USED,
    LINK_USED_MESSAGE,
    NOT_CONFIGURED,
    UNKNOWN_STATE,
    WRONG_ACCOUNT,
    WRONG_BROWSER,
)
from core.features.connections.kick.service import (
    PURPOSE_STREAMER,
    PURPOSE_VIEWER,
    AuthorizationFailed,
    Authorized,
    KickConnections,
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
bp = Blueprint("oauth", __name__, url_prefix="/auth")
guard(bp)

# The status of a refused sign-in, by AuthorizationFailed.code (400 otherwise).
_STATUS = {
    WRONG_BROWSER: 403,
    WRONG_ACCOUNT: 403,
    LINK_USED: 410,
    KICK_UNAVAILABLE: 502,
    NOT_CONFIGURED: 503,
}


def _verified(purpose: str) -> LinkClaims | Response:
    """The start link's claims, or the page that says why it cannot be used."""
    if purpose == PURPOSE_VIEWER:
        return verified(purpose, lambda claims: expired_viewer_link(Platform.KICK, claims))
    return verified(purpose)


def _open(purpose: str) -> Response:
    """GET of a start link: say what it does, with a button that starts the sign-in. Opening it
    changes nothing (link previews open links too); the button's POST uses it up."""
    connections = services().connections
    if connections is None:
        return page("Kick is not set up", "This bot has no Kick app configured yet.", 503)
    claims = _verified(purpose)
    if isinstance(claims, Response):
        return claims
    if connections.is_link_used(claims.link_id):
        return page("Link already used", LINK_USED_MESSAGE[purpose], 410)
    if purpose == PURPOSE_STREAMER:
        start_page = page(
            "Connect a Kick channel",
            _streamer_intro(connections, claims),
            button="Continue to Kick",
        )
    else:
        start_page = page(
            "Link your Kick account",
            "This personal link connects the Kick account you sign in with to the Discord "
            "account that asked for it with !link. Continue only if you asked for it yourself.",
            button="Continue to Kick",
        )
    return bind_browser(start_page, secure=connections.redirect_uri.startswith("https://"))


def _streamer_intro(connections: KickConnections, claims: LinkClaims) -> str:
    channel = connections.channel_to_connect(claims.guild_id)
    if channel is None:
        return (
            "This link connects a Kick channel to a Discord server, but the server has no "
            "channel set up any more: a server admin should run !kick setup <channel> first."
        )
    return (
        f"This link lets StreamKeeper act for the Kick channel {channel.channel_slug} in a "
        f"Discord server. Sign in on Kick as {channel.channel_slug}, its owner: any other "
        "account is refused."
    )


def _begin(purpose: str) -> Response:
    """POST from the start page: use the link up, bind the sign-in to this browser, go to Kick."""
    connections = services().connections
    if connections is None:
        return page("Kick is not set up", "This bot has no Kick app configured yet.", 503)
    return go_to_consent(
        _verified(purpose),
        lambda claims, nonce: connections.begin(purpose, claims, nonce),
        _STATUS,
    )


@bp.get("/kick/streamer")
def kick_streamer() -> Response:
    return _open(PURPOSE_STREAMER)


@bp.post("/kick/streamer")
def kick_streamer_begin() -> Response:
    return _begin(PURPOSE_STREAMER)


@bp.get("/kick")
def kick_viewer() -> Response:
    return _open(PURPOSE_VIEWER)


@bp.post("/kick")
def kick_viewer_begin() -> Response:
    return _begin(PURPOSE_VIEWER)


@bp.get("/kick/callback")
def kick_callback() -> Response:
    web = services()
    state = request.args.get("state", "")
    if web.connections is None or not state:
        return page("Sign-in not valid", "This page is only reached from Kick's sign-in.", 400)
    try:
        authorized = asyncio.run(
            web.connections.complete(
                state=state,
                code=request.args.get("code"),
                error=request.args.get("error"),
                browser_nonce=browser_nonce(),
            )
        )
    except AuthorizationFailed as failed:
        return _refused(failed)
    if authorized.purpose == PURPOSE_STREAMER:
        return page(
            "Kick channel connected",
            f"StreamKeeper now acts for the Kick channel of {authorized.kick_username}. "
            "It subscribes to the channel's events within a minute; check with !kick status.",
        )
    return _link_viewer(authorized)


def _refused(failed: AuthorizationFailed) -> Response:
    """The page for a sign-in that came back and was refused; a viewer whose state was valid
    (and who came back in the browser that started it) also hears about it in Discord."""
    pending = failed.pending
    status = _STATUS.get(failed.code, 400)
    if pending is None or failed.code == UNKNOWN_STATE:
        log.info("a Kick sign-in came back with an unknown, used or expired state")
    elif pending.purpose == PURPOSE_VIEWER and failed.code != WRONG_BROWSER:
        message = failed.reason if failed.code == KICK_UNAVAILABLE else None
        return viewer_refused(
            Platform.KICK, pending.guild_id, pending.discord_user_id, failed.code, status, message
        )
    return page("Nothing was connected", failed.reason, status)


def _link_viewer(authorized: Authorized) -> Response:
    return link_viewer(
        Platform.KICK,
        guild_id=authorized.guild_id,
        discord_user_id=authorized.discord_user_id,
        platform_user_id=authorized.kick_user_id,
        username=authorized.kick_username,
    )
