"""The sign-in blueprint a platform gets: its signed start links from Discord, and the callback
the platform redirects back to.

``/auth/<platform>/streamer`` connects a guild's channel (a guild admin's link from the setup
command); ``/auth/<platform>`` links a viewer's account to their Discord account (``!link``). Both
come back to ``/auth/<platform>/callback``; the single-use state says which it was. Opening a
start link changes nothing (link previews open links too) and sets the browser-binding cookie;
its button (a POST) uses the link up and goes to the platform's consent; the callback finishes in
the same browser only.

Refusals are plain pages: 403 for the wrong account, browser or an expired link, 409 for an
account linked to another Discord user or a sign-in that came back twice (a double click, the
result page opened again: told so in the browser that started it), 410 for a used link, 502
when the platform did not answer (a viewer may be told 503: nothing on our side is wrong, try
later), 503 when the platform is not set up or the database is down. A viewer whose state was
valid also hears about a refusal in Discord (``pages.viewer_refused``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, request

from core.features.connections.authorization import (
    LINK_USED,
    NOT_CONFIGURED,
    STATE_USED,
    UNKNOWN_STATE,
    WRONG_ACCOUNT,
    WRONG_BROWSER,
)
from core.features.connections.round_trip import (
    AuthorizationFailed,
    Connected,
    RoundTrip,
    ViewerIdentity,
)
from core.security.links import LinkClaims
from core.web.connections.pages import (
    bind_browser,
    browser_nonce,
    expired_viewer_link,
    go_to_consent,
    guard,
    link_viewer,
    names_of,
    page,
    verified,
    viewer_intro,
    viewer_refused,
)
from core.web.services import WebServices, services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignInSite:
    """What a platform's sign-in pages need to know besides its round trip's own words."""

    flow: type[RoundTrip]  # the platform's sign-in: its platform, purposes, name and codes
    connections: Callable[[WebServices], RoundTrip | None]
    viewer_intro: str  # the start page of a viewer's link
    viewer_unavailable_status: int = 502
    viewer_unavailable_message: str | None = None  # None: the refusal's own reason


def signin_blueprint(site: SignInSite) -> Blueprint:
    flow = site.flow
    name = flow.PLATFORM_NAME
    slug = name.lower()
    statuses = {
        WRONG_BROWSER: 403,
        WRONG_ACCOUNT: 403,
        LINK_USED: 410,
        STATE_USED: 409,
        flow.UNAVAILABLE_CODE: 502,
        NOT_CONFIGURED: 503,
    }
    viewer_statuses = {**statuses, flow.UNAVAILABLE_CODE: site.viewer_unavailable_status}
    bp = Blueprint(f"{slug}_signin", __name__, url_prefix=f"/auth/{slug}")
    guard(bp)

    def connections() -> RoundTrip | None:
        found = site.connections(services())
        return found if found is not None and found.client_id else None

    def not_set_up() -> Response:
        return page(f"{name} is not set up", f"This bot has no {name} app configured yet.", 503)

    def verified_link(purpose: str) -> LinkClaims | Response:
        """The start link's claims, or the page that says why it cannot be used."""
        if purpose == flow.VIEWER_PURPOSE:
            return verified(purpose, lambda claims: expired_viewer_link(flow.PLATFORM, claims))
        return verified(purpose)

    def open_link(purpose: str) -> Response:
        """GET of a start link: say what it does, with a button that starts the sign-in."""
        found = connections()
        if found is None:
            return not_set_up()
        claims = verified_link(purpose)
        if isinstance(claims, Response):
            return claims
        if found.is_link_used(claims.link_id):
            return page("Link already used", flow.LINK_USED_MESSAGES[purpose], 410)
        if purpose == flow.VIEWER_PURPOSE:
            title, intro = f"Link your {name} account", viewer_intro(site.viewer_intro, claims)
        else:
            title, intro = f"Connect a {name} channel", streamer_intro(found, claims)
        start = page(title, intro, button=f"Continue to {name}")
        return bind_browser(start, secure=found.redirect_uri.startswith("https://"))

    def streamer_intro(found: RoundTrip, claims: LinkClaims) -> str:
        channel = found.channel_to_connect(claims.guild_id)
        if channel is None:
            return (
                f"This link connects a {name} channel to a Discord server, but the server has "
                f"no {name} channel set up any more: a server admin should run "
                f"{flow.SETUP_COMMAND} <channel> first."
            )
        server = names_of(claims.guild_id, claims.discord_user_id)[0]
        where = "a Discord server" if server is None else f"the Discord server {server}"
        return (
            f"This link lets StreamKeeper act for the {name} channel {channel.channel_slug} in "
            f"{where}. Sign in on {name} as {channel.channel_slug}, its owner: any other "
            "account is refused."
        )

    def begin(purpose: str) -> Response:
        """The button: use the link up, bind the sign-in to this browser, go to the platform."""
        found = connections()
        if found is None:
            return not_set_up()
        answer = go_to_consent(
            verified_link(purpose),
            lambda claims, nonce: found.begin(purpose, claims, nonce),
            statuses,
        )
        if answer.status_code != 303:
            return answer
        # The cookie, set when the link was opened, now lasts as long as the state just made:
        # a member who read the page a while and then signs in on the platform slowly still
        # comes back with it.
        return bind_browser(answer, secure=found.redirect_uri.startswith("https://"))

    def callback() -> Response:
        found = connections()
        state = request.args.get("state", "")
        if found is None or not state:
            return page(
                "Sign-in not valid", f"This page is only reached from {name}'s sign-in.", 400
            )
        try:
            done = asyncio.run(
                found.complete(
                    state=state,
                    code=request.args.get("code"),
                    error=request.args.get("error"),
                    browser_nonce=browser_nonce(),
                )
            )
        except AuthorizationFailed as failed:
            return refused(failed)
        if isinstance(done, ViewerIdentity):
            return link_viewer(
                flow.PLATFORM,
                guild_id=done.guild_id,
                discord_user_id=done.discord_user_id,
                platform_user_id=done.platform_user_id,
                username=done.username,
            )
        return connected(done)

    def refused(failed: AuthorizationFailed) -> Response:
        """The page for a sign-in that came back refused; a viewer whose state was valid (and
        who came back in the browser that started it) also hears about it in Discord."""
        pending = failed.pending
        if failed.code == STATE_USED:
            return page("Sign-in already finished", failed.reason, statuses[STATE_USED])
        if pending is None or failed.code == UNKNOWN_STATE:
            log.info("a %s sign-in came back with an unknown, used or expired state", name)
        elif pending.purpose == flow.VIEWER_PURPOSE and failed.code != WRONG_BROWSER:
            message = None
            if failed.code == flow.UNAVAILABLE_CODE:
                message = site.viewer_unavailable_message or failed.reason
            status = viewer_statuses.get(failed.code, 400)
            return viewer_refused(
                flow.PLATFORM,
                pending.guild_id,
                pending.discord_user_id,
                failed.code,
                status,
                message,
            )
        return page("Nothing was connected", failed.reason, statuses.get(failed.code, 400))

    def connected(done: Connected) -> Response:
        message = (
            f"StreamKeeper now acts for the {name} channel of {done.username}. It subscribes "
            f"to the channel's events within a minute; check with !{slug} status."
        )
        if done.missing_scopes:
            message += (
                " Some permissions were not granted ("
                + ", ".join(done.missing_scopes)
                + f"): !{slug} status gives a link to grant them."
            )
        return page(f"{name} channel connected", message)

    for path, purpose in (("/streamer", flow.STREAMER_PURPOSE), ("", flow.VIEWER_PURPOSE)):
        endpoint = "streamer" if purpose == flow.STREAMER_PURPOSE else "viewer"
        bp.add_url_rule(path, endpoint, lambda p=purpose: open_link(p), methods=["GET"])
        bp.add_url_rule(path, f"{endpoint}_begin", lambda p=purpose: begin(p), methods=["POST"])
    bp.add_url_rule("/callback", "callback", callback, methods=["GET"])
    return bp
