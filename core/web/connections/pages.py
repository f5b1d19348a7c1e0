"""What the sign-in blueprints (``signin.py``) and the linking pages share: the
plain pages, the private headers and error pages, the signed start link's check, the
browser-binding cookie, and what follows a viewer's verified identity (the link, and the
``AccountLinked`` / ``AccountLinkFailed`` guild events the bot acts on).

A blueprint calls :func:`guard` once; its views then use these helpers and never set headers or
catch database outages themselves.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Callable, Mapping

import sqlalchemy as sa
from flask import Blueprint, Response, make_response, redirect, render_template_string, request
from sqlalchemy.engine import Connection
from werkzeug.exceptions import HTTPException

from core.bus.base import BusUnavailable
from core.events import AccountLinked, AccountLinkFailed, GuildEvent, Platform, Viewer, utc
from core.features.connections.authorization import LINK_USED, AuthorizationFailed
from core.features.linking import calls
from core.features.linking.service import (
    DECLINED,
    LINK_EXPIRED,
    PLATFORM_ERRORS,
    LinkRefused,
    LinkResult,
)
from core.security.links import LinkClaims, LinkInvalid, verify_link_params
from core.storage.db import DatabaseUnavailable
from core.web.services import services

log = logging.getLogger(__name__)

# The browser-binding cookie: set when a start link is opened, required to start the sign-in
# and at the callback. Lax, so it comes along on the platform's top-level redirect back to us.
BROWSER_COOKIE = "sk_auth"
BROWSER_COOKIE_MAX_AGE = 600
BROWSER_COOKIE_PATH = "/auth"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")
LINK_PARAMS = ("guild", "user", "expires", "id", "sig")

# The tab says what the page says; <main> holds it all (a screen reader's landmark).
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} - StreamKeeper</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem}
h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1rem}</style></head>
<body><main><h1>{{ title }}</h1><p>{{ message }}</p>
{% if button %}<form method="post"><button type="submit">{{ button }}</button></form>
{% else %}<p>You can close this page.</p>{% endif %}</main></body></html>"""

LINK_PROBLEMS = {
    "expired": "This link has expired. Ask for a new one in Discord.",
    "tampered": "This link is not valid. Use the exact link the bot sent you.",
    "malformed": "This link is incomplete. Use the exact link the bot sent you.",
}
# The cookie lasts BROWSER_COOKIE_MAX_AGE from opening the link: a tab left open that long is
# the usual reason, a browser that blocks cookies the other.
NO_COOKIE = (
    "This page was open more than 10 minutes, or your browser did not keep the cookie this "
    "sign-in needs. Open the link from Discord again; if this page comes back, allow cookies "
    "for this site."
)
DATABASE_DOWN = (
    "The bot's database is unreachable right now, so nothing was changed. Try again in a minute."
)
_ASK_AGAIN = "Use !link (or /link) in Discord to get a new link."


def page(title: str, message: str, status: int = 200, button: str | None = None) -> Response:
    """A plain page; Jinja escapes ``title`` and ``message``."""
    html = render_template_string(_PAGE, title=title, message=message, button=button)
    return make_response(html, status)


def private(response: Response) -> Response:
    """Every answer of a sign-in is personal and short-lived: never cached, never framed, and
    the signed link in the address is not sent on to the platform as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


def database_down(error: Exception) -> Response:
    log.warning("a sign-in step failed: the database is unreachable (%s)", type(error).__name__)
    return page("Please try again", DATABASE_DOWN, 503)


def unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return page(
            "Not found" if error.code == 404 else "Not valid",
            error.description or "",
            error.code or 400,
        )
    log.exception("unhandled error in a sign-in step")
    return page("Something went wrong", "Something went wrong on our side. Try again later.", 500)


def guard(bp: Blueprint) -> None:
    """Private headers on every answer of ``bp``, a 503 page when the database is down and a
    plain page (never a traceback) for anything else."""
    bp.after_request(private)
    for error in (DatabaseUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError):
        bp.register_error_handler(error, database_down)
    bp.register_error_handler(Exception, unexpected)


# --- the start link and the browser it was opened in -----------------------------------------


def verified(
    purpose: str, on_expired: Callable[[LinkClaims], Response] | None = None
) -> LinkClaims | Response:
    """The start link's claims, or the page that says why it cannot be used. A link signed by
    us that is only too old goes to ``on_expired`` when given (a viewer hears about it)."""
    web = services()
    params = {key: request.args.get(key, "") for key in LINK_PARAMS}
    try:
        return verify_link_params(web.link_secret, purpose, params, web.clock())
    except LinkInvalid as problem:
        log.info("refused a %s start link: %s", purpose, problem.reason)
        if on_expired is not None and problem.claims is not None:
            return on_expired(problem.claims)
        return page("Link not valid", LINK_PROBLEMS[problem.reason], 403)


def names_of(guild_id: int, discord_user_id: int) -> tuple[str | None, str | None]:
    """The server's name and the member's in it, as the bot last saw them (None for a name it
    never learnt): a start page says whom and where its link is for."""
    directory = services().directory
    if directory is None:
        return None, None
    server = directory.server_names([guild_id]).get(guild_id)
    member = directory.member_names(guild_id, [discord_user_id]).get(discord_user_id)
    return server, member


def viewer_intro(intro: str, claims: LinkClaims) -> str:
    """A viewer's start page: ``intro``, then the member and server the link is for, so that
    someone handed another member's link sees it is not theirs before pressing the button."""
    server, member = names_of(claims.guild_id, claims.discord_user_id)
    if member is None:
        return intro if server is None else f"{intro} It was asked for in {server}."
    where = "" if server is None else f" in the Discord server {server}"
    return (
        f"{intro} It links to the Discord account of {member}{where}: if that is not you, "
        "close this page."
    )


def browser_nonce() -> str | None:
    nonce = request.cookies.get(BROWSER_COOKIE, "")
    return nonce if _NONCE.match(nonce) else None


def bind_browser(response: Response, *, secure: bool) -> Response:
    """Give the browser that opened a start link its cookie (kept when it has one)."""
    response.set_cookie(
        BROWSER_COOKIE,
        browser_nonce() or secrets.token_urlsafe(32),
        max_age=BROWSER_COOKIE_MAX_AGE,
        path=BROWSER_COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="Lax",
    )
    return response


# --- a viewer's link ----------------------------------------------------------------------------


def go_to_consent(
    claims: LinkClaims | Response,
    begin: Callable[[LinkClaims, str], str],
    statuses: Mapping[str, int],
) -> Response:
    """The start page's button (a POST): with the verified ``claims``, use the link up and bind
    the sign-in to this browser (``begin(claims, nonce)`` gives the platform's consent URL), then
    go there; else the page that says why not, with the status ``statuses`` gives the
    refusal's code (400 otherwise)."""
    if isinstance(claims, Response):
        return claims
    nonce = browser_nonce()
    if nonce is None:
        return page("Cannot sign in", NO_COOKIE, 403)
    try:
        return redirect(begin(claims, nonce), code=303)
    except AuthorizationFailed as failed:
        title = "Link already used" if failed.code == LINK_USED else "Cannot sign in"
        return page(title, failed.reason, statuses.get(failed.code, 400))


def platform_name(platform: Platform) -> str:
    return platform.name.title()


def not_linked_text(platform: Platform, reason: str) -> str:
    """What a viewer reads when linking failed, by reason code."""
    name = platform_name(platform)
    if reason == LINK_EXPIRED:
        return f"This link has expired. {_ASK_AGAIN}"
    if reason == DECLINED:
        return f"You declined on {name}, so your accounts were not linked. {_ASK_AGAIN}"
    return f"{name} did not finish the sign-in, so your accounts were not linked. {_ASK_AGAIN}"


def expired_viewer_link(platform: Platform, claims: LinkClaims) -> Response:
    """A viewer's start link signed by us but too old: the member hears about it in Discord,
    once per link however often it is opened."""
    report_failure(
        platform,
        claims.guild_id,
        claims.discord_user_id,
        LINK_EXPIRED,
        event_id=f"expired:{claims.guild_id}:{claims.discord_user_id}:"
        f"{int(claims.expires_at.timestamp())}",
    )
    return page("Not linked", not_linked_text(platform, LINK_EXPIRED), 403)


def viewer_refused(
    platform: Platform,
    guild_id: int,
    discord_user_id: int,
    code: str,
    status: int,
    message: str | None = None,
) -> Response:
    """A viewer's sign-in came back refused (declined, or the platform failed): the page (with
    ``message`` instead of the usual words when given), the member's DM and the link history."""
    reason = DECLINED if code == DECLINED else PLATFORM_ERRORS[platform]
    report_failure(platform, guild_id, discord_user_id, reason)
    return page("Not linked", message or not_linked_text(platform, reason), status)


def link_viewer(
    platform: Platform,
    *,
    guild_id: int,
    discord_user_id: int,
    platform_user_id: str,
    username: str,
) -> Response:
    """Link the identity the platform confirmed, queue what follows on Discord in the link's
    own transaction, publish ``AccountLinked`` (for the activity feed; the bot's handler finds
    the call queued already), and say so; a 409 page when the account belongs to another
    Discord user."""
    web = services()
    viewer = Viewer(platform_user_id, username)
    event_id, at = uuid.uuid4().hex, web.clock()

    def linked(result: LinkResult) -> AccountLinked:
        return AccountLinked(
            platform=platform,
            event_id=event_id,
            occurred_at=at,
            guild_id=guild_id,
            discord_user_id=discord_user_id,
            viewer=viewer,
            replaced_username=result.replaced_username,
        )

    def queue(conn: Connection, result: LinkResult) -> None:
        # Not left to the bus alone: a link made while it is down still gets its DM and roles.
        calls.enqueue(conn, guild_id, linked(result), utc(at))

    try:
        result = web.linking.link(
            guild_id=guild_id,
            discord_user_id=discord_user_id,
            platform=platform,
            platform_user_id=platform_user_id,
            username=username,
            then=queue,
        )
    except LinkRefused as refused:
        # link() kept the refusal in the history already.
        report_failure(
            platform, guild_id, discord_user_id, refused.reason, viewer=viewer, record=False
        )
        return page("Not linked", str(refused), 409)
    publish(linked(result))
    instead = f", instead of {result.replaced_username}" if result.replaced_username else ""
    return page(
        "Linked",
        f"Your Discord account is now linked to {username} on {platform_name(platform)}{instead}.",
    )


def report_failure(
    platform: Platform,
    guild_id: int,
    discord_user_id: int,
    reason: str,
    *,
    viewer: Viewer | None = None,
    event_id: str | None = None,
    record: bool = True,
) -> None:
    """Queue the bot's call (which DMs the member and writes the link log) with the history row,
    once per event, and publish the event."""
    web = services()
    failed = AccountLinkFailed(
        platform=platform,
        event_id=event_id or uuid.uuid4().hex,
        occurred_at=web.clock(),
        guild_id=guild_id,
        discord_user_id=discord_user_id,
        reason=reason,
        viewer=viewer,
    )

    def queue(conn: Connection) -> bool:
        # Not left to the bus alone: a refusal made while it is down still gets its DM and log.
        return calls.enqueue(conn, guild_id, failed, utc(failed.occurred_at))

    web.linking.record_refusal(guild_id, discord_user_id, reason, platform, then=queue, keep=record)
    publish(failed)


def publish(event: GuildEvent) -> bool:
    """Queue ``event`` for the bot; False when the same event was queued before. The page the
    viewer sees does not depend on it, so a bus outage is logged, not shown."""
    try:
        return services().publish(event) is not False
    except BusUnavailable:
        log.warning("guild %s: could not queue %s for the bot", event.guild_id, event.kind)
        return True
