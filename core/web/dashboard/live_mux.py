"""``/live``: one Server-Sent Events stream carrying several subscriptions, shared by every tab
and preview of a browser (static/live-link.js holds it in a SharedWorker).

``GET /live?s=<subscription>&s=...&c=<connection id>``, a subscription being
``d:<guild id>:<topic>[:<last number>]`` (a dashboard page part: the signed-in user must manage
that guild, checked per guild as on its pages) or ``o:<overlay token>[:<last alert>]`` (an
overlay: its token is its secret). Each event's data is ``{"sub": <label>, "id": <number or
null>, "data": {...}}`` (core/web/dashboard/live.py: ``shared_event``), the label being the
subscription without its number; a subscription the user may not see gets ``refused`` (with
the reason), one that stops opening (a rotated overlay) ``gone``. The browser keeps each
subscription's last number and sends it back when it reconnects, so nothing missed goes
unnoticed. A stream counts once against each server and overlay link it carries
(core/web/dashboard/live_admission.py), and ``c`` lets a browser's new stream (one more
subscription) replace its old one at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import Blueprint, Flask, Response, current_app, url_for

from core.features.live.changes import TOPICS
from core.features.typed_numbers import whole_in
from core.web.dashboard.live import (
    Event,
    Subscription,
    TopicSubscription,
    answer_database_down,
    event_stream,
)
from core.web.dashboard.live import parse_number as _number

MAX_SUBSCRIPTIONS = 24
_DASHBOARD = re.compile(r"^d:([0-9]{1,20}):([a-z]{1,16})(?::([0-9]{0,18}))?$")
_OVERLAY = re.compile(r"^o:([A-Za-z0-9_-]{32})(?::([0-9]{0,18}))?$")
_CONNECTION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class RefusedSubscription:
    """A dashboard part the browser may not follow here: said once, then silent."""

    def __init__(self, guild_id: int, topic: str, reason: str) -> None:
        self.key = (guild_id, topic)
        self.label = f"d:{guild_id}:{topic}"
        self.reason = reason

    def opening(self, seen: int) -> list[Event]:
        return [("refused", {"reason": self.reason}, None)]

    def changed(self, seq: int) -> list[Event]:
        return []

    def still_open(self) -> bool:
        return True

    def idle(self) -> list[Event]:
        return []


def _subscriptions(asked: Sequence[str]) -> tuple[list[Subscription], set[int], set[str]]:
    """The subscriptions asked for, and the guilds and overlay tokens they really follow."""
    from core.web.dashboard.discord_client import DiscordUnavailable, TokenRefused
    from core.web.dashboard.guilds import may_manage
    from core.web.dashboard.state import current_user
    from core.web.overlays.stream import OverlaySubscription

    subs: list[Subscription] = []
    guilds: set[int] = set()
    tokens: set[str] = set()
    labels: set[str] = set()
    overlays = current_app.extensions.get("overlays")
    for raw in asked[:MAX_SUBSCRIPTIONS]:
        if found := _DASHBOARD.match(raw):
            guild_id, topic, last = whole_in(found[1], 1), found[2], _number(found[3] or None)
            if guild_id is None or topic not in TOPICS or f"d:{guild_id}:{topic}" in labels:
                continue  # no server has that id (past a 64-bit number): nothing to follow
            labels.add(f"d:{guild_id}:{topic}")
            user = current_user()
            try:
                allowed = user is not None and may_manage(user, guild_id)
            except TokenRefused:
                subs.append(RefusedSubscription(guild_id, topic, "Sign in again."))
                continue
            except DiscordUnavailable:
                subs.append(RefusedSubscription(guild_id, topic, "Discord did not answer."))
                continue
            if not allowed:
                reason = "Sign in again." if user is None else "Not your server."
                subs.append(RefusedSubscription(guild_id, topic, reason))
                continue
            subs.append(TopicSubscription(guild_id, topic, last))
            guilds.add(guild_id)
        elif (found := _OVERLAY.match(raw)) and overlays is not None:
            token, last = found[1], _number(found[2] or None)
            overlay = overlays.open(token)
            if overlay is None or f"o:{token}" in labels:
                continue  # an unknown link is simply not followed: a guess learns nothing
            labels.add(f"o:{token}")
            media = url_for("overlay.page", token=token) + "/media/"
            subs.append(OverlaySubscription(overlays, token, overlay, last, media_path=media))
            guilds.add(overlay.guild_id)
            tokens.add(token)
    return subs, guilds, tokens


def register(app: Flask, blueprints: set[str]) -> None:
    bp = Blueprint("live", __name__)
    answer_database_down(bp)

    @bp.get("/live")
    def shared_stream():  # type: ignore[no-untyped-def]
        from flask import request

        subs, guilds, tokens = _subscriptions(request.args.getlist("s"))
        if not subs:
            return Response("Nothing to follow.\n", 404, mimetype="text/plain")
        raw = request.args.get("c", "")
        return event_stream(
            lambda: subs,
            guilds=frozenset(guilds),
            tokens=frozenset(tokens),
            shared=True,
            connection=raw if _CONNECTION.match(raw) else None,
        )

    app.register_blueprint(bp)
    blueprints.add(bp.name)
