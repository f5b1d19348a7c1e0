"""A guild's watchtime: tracking on or off (``!tracking on|off``), how it is counted, the
leaderboard (``!leaderboard``), a page at a time, and a viewer found by name with their rank
(``!watchtime <name>``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from flask import request

from core.events import utc
from core.features.typed_numbers import whole_in
from core.features.viewers.search import NOT_A_NAME, name_query
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import back_to, config, installed, page

if TYPE_CHECKING:
    from core.features.watchtime.service import RankedWatchtime

AREA = guild_blueprint("watchtime", __name__, "Watchtime")
ORDER = 10
TEMPLATE = "dashboard/guild_watchtime.html"
PAGE_SIZE = 25
DAYS_CHARTED = 30
HOURS_CHARTED = 48
MAX_PAGE = 10_000


def duration(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours:,} h {rest // 60:02d} min"


def _show(guild_id: int, *, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    watchtime = installed(config().watchtime)
    raw = request.args.get("page", "1")
    total = watchtime.count_viewers(guild_id)
    pages = max(1, -(-total // PAGE_SIZE))
    # A page past the end (an old link, a typed number) is the last one, never an empty page.
    number = min(whole_in(raw, 1, MAX_PAGE) or 1, pages)
    rows = watchtime.leaderboard(guild_id, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    days, crowd = _history(watchtime, guild_id)
    query = request.args.get("q", "").strip()
    found, search_error = None, None
    if query:
        asked = name_query(query)
        if asked is None:
            search_error = NOT_A_NAME
        else:
            found = [
                (
                    _place(ranked),
                    ranked.entry.username,
                    ranked.entry.platform,
                    duration(ranked.entry.seconds),
                )
                for ranked in watchtime.viewers_named(guild_id, asked)
            ]
    return page(
        TEMPLATE,
        guild_id,
        errors=errors,
        days=days,
        crowd=crowd,
        tracking=watchtime.tracking_status(guild_id),
        rows=[
            (_place(row), row.entry.username, row.entry.platform, duration(row.entry.seconds))
            for row in rows
        ],
        query=query,
        found=found,
        search_error=search_error,
        total=total,
        page_number=number,
        pages=pages,
    )


def _history(watchtime, guild_id: int):  # type: ignore[no-untyped-def]
    """The charts' rows, (label, value, shown): hours watched per day for 30 days (every day,
    zero where nobody watched) and the peak crowd of each of the last 48 hours (those with
    anyone)."""
    now = utc(watchtime.clock())
    first_day = (now - timedelta(days=DAYS_CHARTED - 1)).date()
    hours = watchtime.hours(guild_id, datetime.combine(first_day, time(), UTC))
    per_day: dict[date, int] = {}
    for hour in hours:
        per_day[hour.hour.date()] = per_day.get(hour.hour.date(), 0) + hour.viewer_seconds
    days = []
    for offset in range(DAYS_CHARTED):
        day = first_day + timedelta(days=offset)
        watched = round(per_day.get(day, 0) / 3600, 1)
        days.append((day.strftime("%b %d"), watched, f"{watched:,} h"))
    recent = now - timedelta(hours=HOURS_CHARTED)
    crowd = [
        (hour.hour.strftime("%b %d %H:00"), hour.peak_viewers, f"{hour.peak_viewers:,}")
        for hour in hours
        if hour.hour >= recent
    ]
    if not any(value for _label, value, _shown in days):
        days = []
    return days, crowd


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/tracking")
def tracking(guild_id: int):  # type: ignore[no-untyped-def]
    watchtime = installed(config().watchtime)
    wanted = request.form.get("tracking", "")
    if wanted not in ("on", "off"):
        return _show(guild_id, errors={"tracking": "Choose on or off."})
    status = watchtime.set_tracking(guild_id, wanted == "on")
    return back_to(
        guild_id,
        "Tracking is on: viewers who chat while live earn watchtime."
        if status.enabled
        else "Tracking is off; the totals so far are kept.",
    )


def _place(ranked: RankedWatchtime) -> str:
    """``2``, or ``=2`` for a rank shared with someone, as ``!leaderboard`` shows it."""
    return ranked.label.lstrip("#")
