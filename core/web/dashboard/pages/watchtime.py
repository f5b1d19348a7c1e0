"""A guild's watchtime: tracking on or off (``!tracking on|off``), how it is counted, and the
leaderboard (``!leaderboard``), a page at a time."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import page, service

AREA = guild_blueprint("watchtime", __name__, "Watchtime")
ORDER = 10
TEMPLATE = "dashboard/guild_watchtime.html"
PAGE_SIZE = 25
MAX_PAGE = 10_000


def duration(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours:,} h {rest // 60:02d} min"


def _show(guild_id: int, *, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    watchtime = service("watchtime")
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isdecimal() and 1 <= int(raw) <= MAX_PAGE else 1
    total = watchtime.count_viewers(guild_id)
    rows = watchtime.leaderboard(guild_id, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    return page(
        TEMPLATE,
        guild_id,
        errors=errors,
        tracking=watchtime.tracking_status(guild_id),
        rows=[(row.rank, row.entry.username, duration(row.entry.seconds)) for row in rows],
        total=total,
        page_number=number,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/tracking")
def tracking(guild_id: int):  # type: ignore[no-untyped-def]
    watchtime = service("watchtime")
    wanted = request.form.get("tracking", "")
    if wanted not in ("on", "off"):
        return _show(guild_id, errors={"tracking": "Choose on or off."})
    status = watchtime.set_tracking(guild_id, wanted == "on")
    flash(
        "Tracking is on: viewers who chat while live earn watchtime."
        if status.enabled
        else "Tracking is off; the totals so far are kept."
    )
    return redirect(url_for(".index", guild_id=guild_id), code=303)
