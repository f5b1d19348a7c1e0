"""Heist & points: every ``!heistset`` setting, the recent heists with their crews and payouts,
the points' name and rates (``!points name`` / ``!points rate``), balances (top and by name),
and giving or taking points with a reason (``!pointsgive`` / ``!pointsremove``), recorded with
the dashboard user as actor."""

from __future__ import annotations

from flask import g, request

from core.features.heist.rules import SETTINGS, HeistRefused, setting_text
from core.features.points.rates import RATE_NAMES, named_rates
from core.features.points.service import MAX_AMOUNT, PointsRefused
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import (
    count_or_none,
    done,
    page,
    service,
)

AREA = guild_blueprint("heist", __name__, "Heist & points")
ORDER = 60
TOP_SHOWN = 20
RECENT_HEISTS = 10


def _setting_value(rules, name: str) -> str:  # type: ignore[no-untyped-def]
    """A setting as typed into its field (the listing's text, a channel as its id)."""
    text = setting_text(rules, name)
    return text.removeprefix("<#").removesuffix(">") if name == "channel" else text


def _show(guild_id: int, errors: dict[str, str] | None = None, **extra):  # type: ignore[no-untyped-def]
    heist, points = service("heist"), service("points")
    rules = heist.rules(guild_id)
    rates = points.rates(guild_id)
    query = request.args.get("q", "").strip()
    found, search_error = None, None
    if query:
        try:
            found = points.holders_named(guild_id, query)
        except PointsRefused as refused:
            search_error = str(refused)
    return page(
        "dashboard/heist.html",
        guild_id,
        errors=errors,
        settings=[(name, _setting_value(rules, name), SETTINGS[name][0]) for name in SETTINGS],
        recent=heist.recent_results(guild_id, RECENT_HEISTS),
        currency=points.name(guild_id),
        rates=named_rates(rates),
        top=points.leaderboard(guild_id, TOP_SHOWN),
        holders=points.count_holders(guild_id),
        query=query,
        found=found,
        search_error=search_error,
        form=request.form if request.method == "POST" else {},
        **extra,
    )


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/setting")
def heist_setting(guild_id: int):  # type: ignore[no-untyped-def]
    raw_name = request.form.get("name", "")
    try:
        name, text = service("heist").set_setting(guild_id, raw_name, request.form.get("value", ""))
    except HeistRefused as refused:
        field = raw_name if raw_name in SETTINGS else "heist"
        return _show(guild_id, {f"heist-{field}": str(refused)})
    return done(AREA.endpoint, guild_id, f"Heist {name} is now {text}.")


@AREA.bp.post("/points/name")
def points_name(guild_id: int):  # type: ignore[no-untyped-def]
    try:
        name = service("points").set_name(guild_id, request.form.get("currency", ""))
    except PointsRefused as refused:
        return _show(guild_id, {"currency": str(refused)})
    return done(AREA.endpoint, guild_id, f"Points are now called {name}.")


@AREA.bp.post("/points/rate")
def points_rate(guild_id: int):  # type: ignore[no-untyped-def]
    rate = request.form.get("rate", "")
    try:
        service("points").set_rate(guild_id, rate, request.form.get("value", ""))
    except PointsRefused as refused:
        field = rate if rate in RATE_NAMES else "rate"
        return _show(guild_id, {f"rate-{field}": str(refused)})
    return done(AREA.endpoint, guild_id, f"The {rate} rate is saved.")


@AREA.bp.post("/points/<any(give, remove):action>")
def points_change(guild_id: int, action: str):  # type: ignore[no-untyped-def]
    points = service("points")
    form = request.form
    amount = count_or_none(form.get("amount"))
    if amount is None or not 0 < amount <= MAX_AMOUNT:
        return _show(
            guild_id, {"amount": f"The amount is a whole number from 1 to {MAX_AMOUNT:,}."}
        )
    viewer = form.get("viewer", "")
    try:
        rows = points.holders_named(guild_id, viewer)
    except PointsRefused as refused:
        return _show(guild_id, {"viewer": str(refused)})
    if not rows:
        message = f"No viewer called {viewer.strip()[:64]!r} has chatted here."
        return _show(guild_id, {"viewer": message})
    if len(rows) > 1:
        names = " or ".join(f"{row.platform}:{row.username}" for row in rows)
        return _show(guild_id, {"viewer": f"That is more than one account; say which: {names}."})
    (row,) = rows
    change = points.give if action == "give" else points.remove
    try:
        balance = change(
            guild_id, row.platform, row.platform_user_id, amount,
            actor_id=g.user.id, actor="dashboard", reason=form.get("reason", ""),
        )  # fmt: skip
    except PointsRefused as refused:
        return _show(guild_id, {"amount": str(refused)})
    currency = points.name(guild_id)
    verb = "Gave" if action == "give" else "Took"
    word = "to" if action == "give" else "from"
    return done(
        AREA.endpoint,
        guild_id,
        f"{verb} {amount:,} {currency} {word} {row.username} ({row.platform}); "
        f"they have {balance:,}.",
    )
