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
import uuid

from flask import Blueprint, redirect, render_template_string, request

from core.bus.base import BusUnavailable
from core.events import AccountLinked, AccountLinkFailed, GuildEvent, Platform, Viewer
from core.features.connections.service import (
    PURPOSE_STREAMER,
    PURPOSE_VIEWER,
    AuthorizationFailed,
    Authorized,
)
from core.features.linking.service import (
    DECLINED,
    KICK_ERROR,
    LINK_EXPIRED,
    LinkRefused,
)
from core.security.links import LinkInvalid, verify_link_params
from core.web.services import services

log = logging.getLogger(__name__)
bp = Blueprint("oauth", __name__, url_prefix="/auth")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StreamKeeper</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem}
h1{font-size:1.4rem}</style></head>
<body><h1>{{ title }}</h1><p>{{ message }}</p><p>You can close this page.</p></body></html>"""

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


def _page(title: str, message: str, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template_string(_PAGE, title=title, message=message), status


def _start(purpose: str):  # type: ignore[no-untyped-def]
    web = services()
    if web.connections is None:
        return _page("Kick is not set up", "This bot has no Kick app configured yet.", 503)
    params = {key: request.args.get(key, "") for key in ("guild", "user", "expires", "sig")}
    try:
        claims = verify_link_params(web.link_secret, purpose, params, web.clock())
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
    try:
        return redirect(web.connections.begin(purpose, claims), code=302)
    except AuthorizationFailed as failed:
        return _page("Cannot sign in", failed.reason, 503)


@bp.get("/kick/streamer")
def kick_streamer():  # type: ignore[no-untyped-def]
    return _start(PURPOSE_STREAMER)


@bp.get("/kick")
def kick_viewer():  # type: ignore[no-untyped-def]
    return _start(PURPOSE_VIEWER)


@bp.get("/kick/callback")
def kick_callback():  # type: ignore[no-untyped-def]
    web = services()
    state = request.args.get("state", "")
    if web.connections is None or not state:
        return _page("Sign-in not valid", "This page is only reached from Kick's sign-in.", 400)
    try:
        authorized = asyncio.run(
            web.connections.complete(
                state=state, code=request.args.get("code"), error=request.args.get("error")
            )
        )
    except AuthorizationFailed as failed:
        pending = failed.pending
        if pending is None:
            log.info("a Kick sign-in came back with an unknown, used or expired state")
        elif pending.purpose == PURPOSE_VIEWER:
            reason = DECLINED if failed.code == DECLINED else KICK_ERROR
            _report_failure(pending.guild_id, pending.discord_user_id, reason)
            return _page("Not linked", _NOT_LINKED[reason], 400)
        return _page("Nothing was connected", failed.reason, 400)
    if authorized.purpose == PURPOSE_STREAMER:
        return _page(
            "Kick channel connected",
            f"StreamKeeper now acts for the Kick channel of {authorized.kick_username}. "
            "It subscribes to the channel's events within a minute; check with !kick status.",
        )
    return _link_viewer(authorized)


def _link_viewer(authorized: Authorized):  # type: ignore[no-untyped-def]
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
