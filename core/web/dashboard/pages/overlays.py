"""On-stream overlays (issue 30): each overlay's secret URL to paste into an OBS browser source,
a live preview, "send test alert", rotating a URL (the old one stops at once) and the overlay
settings. The same URLs as ``python -m core overlay url``."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from core.features.overlays.settings import KINDS, OverlayRefused, milestones_words
from core.features.typed_numbers import whole_in
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import config, done, installed, page

AREA = guild_blueprint("overlays", __name__, "Overlays")
ORDER = 70
TITLES = {
    "heist": "Heist: the crew, the countdown, then the payouts",
    "raffle": "Raffle: the top viewers by tickets and the last draw's winners",
    "alerts": "Alerts: follows, subs, gifts, raids, cheers, KICKs, VIP and ticket milestones, "
    "one at a time",
    "goal": "Goal: a bar toward the number of subs, gifted subs, follows or points you set",
}


def _base_url() -> str:
    public = config().public_url
    return (public or request.host_url).rstrip("/")


def _show(guild_id: int, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    overlays = installed(config().overlays)
    chosen = overlays.settings(guild_id)
    form = request.form if errors else {}
    values = {
        "alert_vip": "on" if chosen.alert_vip else "off",
        "alert_gifts": "on" if chosen.alert_gifts else "off",
        "alert_milestones": "on" if chosen.alert_milestones else "off",
        "milestones": milestones_words(chosen.milestones),
        "alert_seconds": str(chosen.alert_seconds),
        "accent_colour": chosen.accent_colour,
        "text_colour": chosen.text_colour,
    }
    values.update({name: str(form[name])[:200] for name in values if name in form})
    base = _base_url()
    # After "send test alert" (?sent=N), the alerts preview starts just before it, so it shows.
    sent = whole_in(request.args.get("sent"), low=1)
    since = f"?since={sent - 1}" if sent is not None else ""
    links = [
        (
            link.kind,
            TITLES[link.kind],
            base + link.path,
            link.path + (since if link.kind == "alerts" else ""),
        )
        for link in overlays.links(guild_id)
    ]
    return page("dashboard/overlays.html", guild_id, errors=errors, links=links, values=values)


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/rotate/<kind>")
def rotate(guild_id: int, kind: str):  # type: ignore[no-untyped-def]
    if kind not in KINDS:
        return _show(guild_id, {"rotate": "There is no such overlay."})
    installed(config().overlays).link(guild_id, kind, rotate=True)
    return done(
        ".index",
        guild_id,
        f"The {kind} overlay has a new URL; the old one stopped working. "
        "Paste the new one into your OBS browser source.",
    )


@AREA.bp.post("/test-alert")
def test_alert(guild_id: int):  # type: ignore[no-untyped-def]
    number = installed(config().overlays).send_test_alert(guild_id)
    flash(f"Test alert #{number} sent to the alerts overlay.")
    return redirect(url_for(".index", guild_id=guild_id, sent=number))


@AREA.bp.post("/settings")
def settings(guild_id: int):  # type: ignore[no-untyped-def]
    try:
        installed(config().overlays).save_settings(guild_id, request.form)
    except OverlayRefused as refusal:
        return _show(guild_id, {refusal.field or "settings": str(refusal)})
    return done(
        ".index",
        guild_id,
        "Overlay settings saved. Colours and timing apply when the overlay is loaded again.",
    )
