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
import re
import secrets
import uuid

import sqlalchemy as sa
from flask import Blueprint, Response, make_response, redirect, render_template_string, request
from werkzeug.exceptions import HTTPException

from core.bus.base import BusUnavailable
from core.events import AccountLinked, AccountLinkFailed, GuildEvent, Platform, Viewer
from core.features.connections.authorization import (
    KICK_UNAVAILABLE,
    LINK_USED,
    LINK_USED_MESSAGE,
    NOT_CONFIGURED,
    UNKNOWN_STATE,
    WRONG_ACCOUNT,
    WRONG_BROWSER,
)
from core.features.connections.service import (
    PURPOSE_STREAMER,
    PURPOSE_VIEWER,
    AuthorizationFailed,
    Authorized,
    KickConnections,
)
from core.features.linking.service import (
    DECLINED,
    KICK_ERROR,
    LINK_EXPIRED,
    LinkRefused,
)
from core.security.links import LinkClaims, LinkInvalid, verify_link_params
from core.storage.db import DatabaseUnavailable
from core.web.services import services

log = logging.getLogger(__name__)
bp = Blueprint("oauth", __name__, url_prefix="/auth")

# The browser-binding cookie: set when a start link is opened, required to start the sign-in
# and at the callback. Lax, so it comes along on Kick's top-level redirect back to us.
BROWSER_COOKIE = "sk_auth"
BROWSER_COOKIE_MAX_AGE = 600
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StreamKeeper</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem}
h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1rem}</style></head>
<body><h1>{{ title }}</h1><p>{{ message }}</p>
{% if button %}<form method="post"><button type="submit">{{ button }}</button></form>
{% else %}<p>You can close this page.</p>{% endif %}</body></html>"""

_LINK_PROBLEMS = {
    "expired": "This link has expired (links work for one hour). Ask for a new one in Discord.",
    "tampered": "This link is not valid. Use the exact link the bot sent you.",
    "malformed": "This link is incomplete. Use the exact link the bot sent you.",
}
_ASK_AGAIN = "Use !link (or /link) in Discord to get a new link."
# What a viewer reads when linking fails, by reason code.
_NOT_LINKED = {
    LINK_EXPIRED: f"This link has expired (links work for one hour). {_ASK_AGAIN}",
    DECLINED: f"You declined on Kick, so your accounts were not linked. {_ASK_AGAIN}",
    KICK_ERROR: f"Kick did not finish the sign-in, so your accounts were not linked. {_ASK_AGAIN}",
}
# The status of a refused sign-in, by AuthorizationFailed.code (400 otherwise).
_STATUS = {
    WRONG_BROWSER: 403,
    WRONG_ACCOUNT: 403,
    LINK_USED: 410,
    KICK_UNAVAILABLE: 502,
    NOT_CONFIGURED: 503,
}
_NO_COOKIE = (
    "Your browser did not send back the cookie this sign-in needs. Allow cookies for this "
    "site, then open the link from Discord again."
)
_DATABASE_DOWN = (
    "The bot's database is unreachable right now, so nothing was changed. Try again in a minute."
)


def _page(title: str, message: str, status: int = 200, button: str | None = None) -> Response:
    html = render_template_string(_PAGE, title=title, message=message, button=button)
    return make_response(html, status)


@bp.after_request
def _private(response: Response) -> Response:
    """Every answer here is personal and short-lived: never cached, never framed, and the
    signed link in the address is not sent on to Kick as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


@bp.errorhandler(DatabaseUnavailable)
@bp.errorhandler(sa.exc.OperationalError)
@bp.errorhandler(sa.exc.InterfaceError)
def _database_down(error: Exception) -> Response:
    log.warning(
        "a Kick sign-in step failed: the database is unreachable (%s)", type(error).__name__
    )
    return _page("Please try again", _DATABASE_DOWN, 503)


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _page(
            "Not found" if error.code == 404 else "Not valid",
            error.description or "",
            error.code or 400,
        )
    log.exception("unhandled error in a Kick sign-in step")
    return _page("Something went wrong", "Something went wrong on our side. Try again later.", 500)


def _verified(purpose: str) -> LinkClaims | Response:
    """The start link's claims, or the page that says why it cannot be used."""
    web = services()
    params = {key: request.args.get(key, "") for key in ("guild", "user", "expires", "id", "sig")}
    try:
        return verify_link_params(web.link_secret, purpose, params, web.clock())
    except LinkInvalid as problem:
        log.info("refused a %s start link: %s", purpose, problem.reason)
        if purpose == PURPOSE_VIEWER and problem.claims is not None:
            # Signed by us, only too old: the member it was for hears about it in Discord.
            # One report per link, however often it is opened.
            expired = problem.claims
            _report_failure(
                expired.guild_id,
                expired.discord_user_id,
                LINK_EXPIRED,
                event_id=f"expired:{expired.guild_id}:{expired.discord_user_id}:"
                f"{int(expired.expires_at.timestamp())}",
            )
            return _page("Not linked", _NOT_LINKED[LINK_EXPIRED], 403)
        return _page("Link not valid", _LINK_PROBLEMS[problem.reason], 403)


def _open(purpose: str) -> Response:
    """GET of a start link: say what it does, with a button that starts the sign-in. Opening it
    changes nothing (link previews open links too); the button's POST uses it up."""
    connections = services().connections
    if connections is None:
        return _page("Kick is not set up", "This bot has no Kick app configured yet.", 503)
    claims = _verified(purpose)
    if isinstance(claims, Response):
        return claims
    if connections.is_link_used(claims.link_id):
        return _page("Link already used", LINK_USED_MESSAGE[purpose], 410)
    if purpose == PURPOSE_STREAMER:
        page = _page(
            "Connect a Kick channel",
            _streamer_intro(connections, claims),
            button="Continue to Kick",
        )
    else:
        page = _page(
            "Link your Kick account",
            "This personal link connects the Kick account you sign in with to the Discord "
            "account that asked for it with !link. Continue only if you asked for it yourself.",
            button="Continue to Kick",
        )
    nonce = _browser_nonce() or secrets.token_urlsafe(32)
    page.set_cookie(
        BROWSER_COOKIE,
        nonce,
        max_age=BROWSER_COOKIE_MAX_AGE,
        path="/auth",
        secure=connections.redirect_uri.startswith("https://"),
        httponly=True,
        samesite="Lax",
    )
    return page


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
        return _page("Kick is not set up", "This bot has no Kick app configured yet.", 503)
    claims = _verified(purpose)
    if isinstance(claims, Response):
        return claims
    nonce = _browser_nonce()
    if nonce is None:
        return _page("Cannot sign in", _NO_COOKIE, 403)
    try:
        return redirect(connections.begin(purpose, claims, nonce), code=303)
    except AuthorizationFailed as failed:
        title = "Link already used" if failed.code == LINK_USED else "Cannot sign in"
        return _page(title, failed.reason, _STATUS.get(failed.code, 400))


def _browser_nonce() -> str | None:
    nonce = request.cookies.get(BROWSER_COOKIE, "")
    return nonce if _NONCE.match(nonce) else None


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
        return _page("Sign-in not valid", "This page is only reached from Kick's sign-in.", 400)
    try:
        authorized = asyncio.run(
            web.connections.complete(
                state=state,
                code=request.args.get("code"),
                error=request.args.get("error"),
                browser_nonce=_browser_nonce(),
            )
        )
    except AuthorizationFailed as failed:
        return _refused(failed)
    if authorized.purpose == PURPOSE_STREAMER:
        return _page(
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
        reason = DECLINED if failed.code == DECLINED else KICK_ERROR
        _report_failure(pending.guild_id, pending.discord_user_id, reason)
        message = failed.reason if failed.code == KICK_UNAVAILABLE else _NOT_LINKED[reason]
        return _page("Not linked", message, status)
    return _page("Nothing was connected", failed.reason, status)


def _link_viewer(authorized: Authorized) -> Response:
    web = services()
    viewer = Viewer(authorized.kick_user_id, authorized.kick_username)
    try:
        result = web.linking.link(
            guild_id=authorized.guild_id,
            discord_user_id=authorized.discord_user_id,
            platform=Platform.KICK,
            platform_user_id=authorized.kick_user_id,
            username=authorized.kick_username,
        )
    except LinkRefused as refused:
        # link() kept the refusal in the history already.
        _report_failure(
            authorized.guild_id,
            authorized.discord_user_id,
            refused.reason,
            viewer=viewer,
            record=False,
        )
        return _page("Not linked", str(refused), 409)
    linked = AccountLinked(
        platform=Platform.KICK,
        event_id=uuid.uuid4().hex,
        occurred_at=web.clock(),
        guild_id=authorized.guild_id,
        discord_user_id=authorized.discord_user_id,
        viewer=viewer,
        replaced_username=result.replaced_username,
    )
    _publish(linked)
    return _page("Linked", f"Your Discord account is now linked to {authorized.kick_username}.")


def _report_failure(
    guild_id: int,
    discord_user_id: int,
    reason: str,
    *,
    viewer: Viewer | None = None,
    event_id: str | None = None,
    record: bool = True,
) -> None:
    """Tell the bot (which DMs the member and writes the link log) and keep it in the history."""
    web = services()
    failed = AccountLinkFailed(
        platform=Platform.KICK,
        event_id=event_id or uuid.uuid4().hex,
        occurred_at=web.clock(),
        guild_id=guild_id,
        discord_user_id=discord_user_id,
        reason=reason,
        viewer=viewer,
    )
    is_new = _publish(failed)
    if record and is_new:
        web.linking.record_refusal(guild_id, discord_user_id, reason)


def _publish(event: GuildEvent) -> bool:
    """Queue ``event`` for the bot; False when the same event was queued before. The page the
    viewer sees does not depend on it, so a bus outage is logged, not shown."""
    try:
        return services().publish(event) is not False
    except BusUnavailable:
        log.warning("guild %s: could not queue %s for the bot", event.guild_id, event.kind)
        return True
