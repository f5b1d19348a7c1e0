"""Kick sign-in: the signed start links from Discord, and the callback Kick redirects back to.

``/auth/kick/streamer`` connects a guild's Kick channel (a guild admin's link);
``/auth/kick`` links a viewer's Kick account to their Discord account. Both come back to
``/auth/kick/callback``; the single-use state says which it was.
"""

from __future__ import annotations

import asyncio
import logging

from flask import Blueprint, redirect, render_template_string, request

from core.events import Platform
from core.features.connections.service import (
    PURPOSE_STREAMER,
    PURPOSE_VIEWER,
    AuthorizationFailed,
)
from core.features.linking.service import LinkRefused
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
        return _page("Nothing was connected", failed.reason, 400)
    if authorized.purpose == PURPOSE_STREAMER:
        return _page(
            "Kick channel connected",
            f"StreamKeeper now acts for the Kick channel of {authorized.kick_username}. "
            "It subscribes to the channel's events within a minute; check with !kick status.",
        )
    try:
        web.linking.link(
            guild_id=authorized.guild_id,
            discord_user_id=authorized.discord_user_id,
            platform=Platform.KICK,
            platform_user_id=authorized.kick_user_id,
            username=authorized.kick_username,
        )
    except LinkRefused as refused:
        return _page("Not linked", str(refused), 409)
    return _page("Linked", f"Your Discord account is now linked to {authorized.kick_username}.")
