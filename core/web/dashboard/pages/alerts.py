"""Alerts and the goal bar: each kind of alert on or off with its words, duration, picture and
sound, its variations by amount, the pictures and sounds uploaded for them, the goal, and
"replay" for the recent events that make an alert. The overlays' URLs are on the Overlays page.

Every form posts with the page's CSRF token and answers with the page again (its refusal next
to the field at fault, status 400) or a notice after a redirect.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from core.bus.event_log import guild_scope
from core.features.overlays.alert_events import can_replay
from core.features.overlays.alert_kinds import FIELDS
from core.features.overlays.goal import MEASURES
from core.features.overlays.settings import OverlayRefused
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import config, done, installed, page

AREA = guild_blueprint("alerts", __name__, "Alerts and goal")
ORDER = 71
REPLAYABLE = {
    "followed",
    "subscribed",
    "subscriptions_gifted",
    "raided",
    "cheered",
    "kicks_gifted",
    "vip_added",
}
SHOWN_EVENTS = 15


def _replayable(guild_id: int) -> list[Any]:
    log = config().event_log
    tracking = config().guilds_tracking
    if log is None or tracking is None:
        return []
    return log.recent_of(guild_scope(guild_id, tracking), REPLAYABLE, SHOWN_EVENTS)


def _show(guild_id: int, errors: dict[str, str] | None = None, code: int | None = None):  # type: ignore[no-untyped-def]
    overlays = installed(config().overlays)
    media = overlays.alert_settings.media(guild_id)
    goal = overlays.goal.view(guild_id)["goal"]
    return page(
        "dashboard/alerts.html",
        guild_id,
        errors=errors,
        code=code,
        kinds=overlays.alert_settings.kinds(guild_id),
        images=[m for m in media if m.what == "image"],
        sounds=[m for m in media if m.what == "sound"],
        media=media,
        media_max_mb=overlays.alert_settings.media_max_bytes / 1_000_000,
        fields=", ".join("{" + name + "}" for name in FIELDS),
        goal=goal,
        measures=MEASURES,
        replayable=_replayable(guild_id),
        form=request.form if errors else {},
        failed=next(iter(errors or {}), ""),  # the field at fault: its form shows what was typed
    )


def _refused(guild_id: int, prefix: str, refusal: OverlayRefused):  # type: ignore[no-untyped-def]
    return _show(guild_id, {f"{prefix}{refusal.field or 'form'}": str(refusal)})


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/style/<kind>")
def style(guild_id: int, kind: str):  # type: ignore[no-untyped-def]
    settings = installed(config().overlays).alert_settings
    try:
        saved = settings.save_style(guild_id, kind[:32], request.form)
    except OverlayRefused as refusal:
        return _refused(guild_id, f"{kind[:32]}-", refusal)
    state = "on" if saved.enabled else "off"
    return done(".index", guild_id, f"Alert saved; it is {state}.")


@AREA.bp.post("/variation/<kind>")
def variation(guild_id: int, kind: str):  # type: ignore[no-untyped-def]
    settings = installed(config().overlays).alert_settings
    try:
        saved = settings.save_variation(guild_id, kind[:32], request.form)
    except OverlayRefused as refusal:
        return _refused(guild_id, f"{kind[:32]}-variation-", refusal)
    return done(".index", guild_id, f"Variation saved: from {saved.threshold:,} on.")


@AREA.bp.post("/variation/<kind>/delete")
def delete_variation(guild_id: int, kind: str):  # type: ignore[no-untyped-def]
    settings = installed(config().overlays).alert_settings
    try:
        gone = settings.delete_variation(
            guild_id, kind[:32], str(request.form.get("threshold", ""))
        )
    except OverlayRefused as refusal:
        return _refused(guild_id, f"{kind[:32]}-variation-", refusal)
    if not gone:
        return done(".index", guild_id, "That variation was deleted already.")
    return done(".index", guild_id, "Variation deleted.")


@AREA.bp.post("/media")
def upload(guild_id: int):  # type: ignore[no-untyped-def]
    settings = installed(config().overlays).alert_settings
    sent = request.files.get("file")
    if sent is None:
        return _show(guild_id, {"media-file": "Choose a file to upload."})
    data = sent.stream.read()  # the whole file (the request is capped), so its size is told
    try:
        info = settings.upload(guild_id, sent.filename or "", data)
    except OverlayRefused as refusal:
        return _refused(guild_id, "media-", refusal)
    return done(".index", guild_id, f"Uploaded {info.name} ({info.what}).")


@AREA.bp.post("/media/<media_id>/delete")
def delete_media(guild_id: int, media_id: str):  # type: ignore[no-untyped-def]
    settings = installed(config().overlays).alert_settings
    if not settings.delete_media(guild_id, media_id[:40]):
        return done(".index", guild_id, "That file was deleted already.")
    return done(".index", guild_id, "File deleted; alerts that used it go without it.")


@AREA.bp.post("/goal")
def goal(guild_id: int):  # type: ignore[no-untyped-def]
    try:
        installed(config().overlays).goal.save(guild_id, request.form)
    except OverlayRefused as refusal:
        return _refused(guild_id, "goal-", refusal)
    return done(".index", guild_id, "Goal saved.")


@AREA.bp.post("/goal/reset")
def reset_goal(guild_id: int):  # type: ignore[no-untyped-def]
    if not installed(config().overlays).goal.reset(guild_id):
        return done(".index", guild_id, "There is no goal to reset.")
    return done(".index", guild_id, "Goal reset: it counts from zero again, from now.")


@AREA.bp.post("/goal/remove")
def remove_goal(guild_id: int):  # type: ignore[no-untyped-def]
    installed(config().overlays).goal.remove(guild_id)
    return done(".index", guild_id, "Goal removed; the goal overlay shows nothing.")


@AREA.bp.post("/replay")
def replay(guild_id: int):  # type: ignore[no-untyped-def]
    overlays = installed(config().overlays)
    log = installed(config().event_log)
    scope = guild_scope(guild_id, installed(config().guilds_tracking))
    event = log.find(str(request.form.get("ref", ""))[:64], scope)
    if event is None or not can_replay(event):
        return _show(guild_id, {"replay": "That event cannot be replayed (too old, or no alert)."})
    number = overlays.event_alerts.replay(guild_id, event)
    flash(f"Replayed on the alerts overlay (alert #{number}).")
    if request.form.get("back") == "events":  # the button in the event log's activity feed
        return redirect(url_for("guild_events.index", guild_id=guild_id))
    return redirect(url_for(".index", guild_id=guild_id))
