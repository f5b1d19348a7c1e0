"""Heist & points: every ``!heistset`` setting, the recent heists with their crews and payouts,
the points' name and rates (``!points name`` / ``!points rate``), balances (top and by name),
and giving or taking points with a reason (``!pointsgive`` / ``!pointsremove``), recorded with
the dashboard user as actor. In a guild that keeps its points in StreamElements a give or take
is queued for StreamElements as the Discord command queues it, and the balances shown are said
to be our ledger's (StreamElements is not asked for a list)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import abort, flash, g, request

from core.events import Platform, utc
from core.features.heist.history_repository import OUTCOMES, FinishedHeist
from core.features.heist.repository import CANCELLED
from core.features.heist.rules import SETTINGS
from core.features.points.board import BalanceRow
from core.features.points.rates import RATE_LABELS, RATE_NAMES, named_rates, rate_label
from core.features.points.se_logins import kick_without_twitch
from core.features.points.se_wallet import SeWallet
from core.features.points.se_words import queued_change_words
from core.features.points.service import PointsRefused, checked_reason, parse_amount
from core.features.refusals import Refused
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import (
    channel_choices,
    checked_channel,
    config,
    done,
    in_words,
    installed,
    new_reference,
    page,
    reference,
)
from core.web.dashboard.pages.heist_settings import BY_SLUG, GROUPS, field_value, kind_of

AREA = guild_blueprint("heist", __name__, "Heist & points")
ORDER = 60
TOP_SHOWN = 20
RECENT_HEISTS = 10
DAYS_CHARTED = 30


def _show(guild_id: int, errors: dict[str, str] | None = None, **extra):  # type: ignore[no-untyped-def]
    heist, points = installed(config().heist), installed(config().points)
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
        groups=GROUPS,
        values={name: field_value(rules, name) for name in SETTINGS},
        kind_of=kind_of,
        channels=channel_choices(guild_id, rules.channel_id),
        recent=heist.recent_results(guild_id, RECENT_HEISTS),
        **_charts(heist, guild_id),
        currency=points.name(guild_id),
        rates=named_rates(rates),
        rate_labels=RATE_LABELS,
        top=points.leaderboard(guild_id, TOP_SHOWN),
        holders=points.count_holders(guild_id),
        query=query,
        found=found,
        search_error=search_error,
        form=request.form if request.method == "POST" else {},
        streamelements=_streamelements(guild_id) is not None,
        reference=new_reference(),
        **extra,
    )


def _charts(heist, guild_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The charts' rows, (day, [(value, shown) per series]), for each of the last 30 days (UTC):
    heists by outcome, and points staked and paid out (cancelled heists refunded theirs, so
    only resolved ones count). A chart with nothing in it has no rows."""
    first_day = (utc(heist.clock()) - timedelta(days=DAYS_CHARTED - 1)).date()
    by_day: dict[date, list[FinishedHeist]] = {}
    for finished in heist.finished_since(guild_id, datetime.combine(first_day, time(), UTC)):
        by_day.setdefault(finished.finished_at.date(), []).append(finished)
    outcomes, points = [], []
    for offset in range(DAYS_CHARTED):
        day = first_day + timedelta(days=offset)
        label, found = day.strftime("%b %d"), by_day.get(day, [])
        counts = [sum(1 for f in found if f.outcome == outcome) for outcome in OUTCOMES]
        outcomes.append((label, [(count, f"{count:,}") for count in counts]))
        resolved = [f for f in found if f.state != CANCELLED]
        moved = (sum(f.staked for f in resolved), sum(f.paid for f in resolved))
        points.append((label, [(amount, f"{amount:,}") for amount in moved]))
    has_any = lambda rows: any(v for _label, series in rows for v, _shown in series)  # noqa: E731
    return {
        "outcome_series": OUTCOMES,
        "outcome_days": outcomes if has_any(outcomes) else [],
        "points_days": points if has_any(points) else [],
    }


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/settings/<slug>")
def heist_settings(guild_id: int, slug: str):  # type: ignore[no-untyped-def]
    """One group's Save: the fields that changed are saved together, as ``!heistset`` would
    take each (so both stake limits can be raised at once); a refused field is shown by itself
    while the others are saved."""
    group = BY_SLUG.get(slug)
    if group is None:
        abort(404)
    heist = installed(config().heist)
    current = heist.rules(guild_id)
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    for field in group.fields:
        posted = (request.form.get(field.name) or "").strip()
        if kind_of(field.name) == "channel" and posted == field_value(current, field.name):
            continue  # a channel left as it was is not asked again (the bot may not see it now)
        try:
            value = _typed(guild_id, field.name)
        except Refused as refused:
            errors[field.name] = str(refused)
            continue
        if value is not None and value != field_value(current, field.name):
            typed[field.name] = value or "none"
    _rules, refused = heist.set_settings(guild_id, typed)
    errors.update(refused)
    labels = {field.name: field.label for field in group.fields}
    if errors:
        saved = [labels[name] for name in typed if name not in refused]
        if saved:  # the page answers 400 for the others: it says what did change
            flash(f"{group.title}: saved {', '.join(saved)}.")
        return _show(
            guild_id,
            # In the group's words: a refusal may name another field (min_bet above max_bet).
            {f"heist-{name}": in_words(why, labels) for name, why in errors.items()},
        )
    changed = [field.label for field in group.fields if field.name in typed]
    what = ", ".join(changed) if changed else "nothing changed"
    return done(AREA.endpoint, guild_id, f"{group.title}: {what}.")


def _typed(guild_id: int, name: str) -> str | None:
    """What the form says of a setting, as !heistset takes it; None: the form did not send it."""
    form = request.form
    kind = kind_of(name)
    if kind == "switch":
        return "on" if form.get(name) == "on" else "off"
    if name not in form:
        return None
    if kind == "channel":  # a picked or typed channel must be this server's
        channel = checked_channel(guild_id, form.get(name), "The results channel")
        return "" if channel is None else str(channel)
    return (form.get(name) or "").strip().removeprefix("x").removesuffix("%")


@AREA.bp.post("/points/name")
def points_name(guild_id: int):  # type: ignore[no-untyped-def]
    try:
        name = installed(config().points).set_name(guild_id, request.form.get("currency", ""))
    except PointsRefused as refused:
        return _show(guild_id, {"currency": str(refused)})
    return done(AREA.endpoint, guild_id, f"Points are now called {name}.")


@AREA.bp.post("/points/rate")
def points_rate(guild_id: int):  # type: ignore[no-untyped-def]
    rate = request.form.get("rate", "")
    try:
        installed(config().points).set_rate(guild_id, rate, request.form.get("value", ""))
    except PointsRefused as refused:
        field = rate if rate in RATE_NAMES else "rate"
        said = str(refused).replace(f"The {rate.strip().casefold()} rate", rate_label(field))
        return _show(guild_id, {f"rate-{field}": said})
    return done(AREA.endpoint, guild_id, f"Saved: {rate_label(rate)}.")


@AREA.bp.post("/points/<any(give, remove):action>")
def points_change(guild_id: int, action: str):  # type: ignore[no-untyped-def]
    points = installed(config().points)
    form = request.form
    try:  # read as !pointsgive reads it, refused in its words ("1,5" reads two ways)
        amount = parse_amount(form.get("amount") or "")
    except PointsRefused as refused:
        return _show(guild_id, {"amount": str(refused)})
    try:
        row = points.holder_named(guild_id, form.get("viewer", ""))
    except PointsRefused as refused:
        return _show(guild_id, {"viewer": str(refused)})
    try:
        reason = checked_reason(form.get("reason", ""))
    except PointsRefused as refused:
        return _show(guild_id, {"reason": str(refused)})
    try:
        ref = f"dashboard:{action}:{reference(form.get('reference'))}"
    except Refused as refused:
        return _show(guild_id, {"give": str(refused)})
    wallet = _streamelements(guild_id)
    if wallet is not None:
        return _queue_for_streamelements(
            wallet, guild_id, row, amount if action == "give" else -amount, reason, ref
        )
    change = points.give if action == "give" else points.remove
    try:
        balance = change(
            guild_id,
            row.platform,
            row.platform_user_id,
            amount,
            actor_id=g.user.id,
            actor="dashboard",
            reason=reason,
            ref=ref,  # a form sent twice changes the balance once
        )
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


def _streamelements(guild_id: int) -> SeWallet | None:
    """The wallet when this guild keeps its points in StreamElements; else None."""
    wallet = config().points_wallet
    return wallet if wallet is not None and wallet.uses_streamelements(guild_id) else None


def _queue_for_streamelements(  # type: ignore[no-untyped-def]
    wallet: SeWallet, guild_id: int, row: BalanceRow, amount: int, reason: str, ref: str
):
    """A give or take in a StreamElements guild: queued for the ``streamelements`` worker as
    ``!pointsgive`` queues it (our ledger, which nothing reads then, is not touched), keyed by
    the form's one-time reference, so a form sent twice queues one change."""
    [login] = wallet.logins_of([(row.platform, row.platform_user_id, row.username)])
    if login is None:
        return _show(guild_id, {"amount": kick_without_twitch(row.username)})
    try:
        change = installed(config().run)(
            wallet.queue_change(
                guild_id,
                login,
                amount,
                ref=ref,
                actor_id=g.user.id,
                reason=reason,
            )
        )
    except PointsRefused as refused:
        return _show(guild_id, {"amount": str(refused)})
    currency = installed(config().points).name(guild_id)
    who = f"{row.username} ({row.platform})"
    if row.platform is not Platform.TWITCH:
        who = f"{who} as {login} (twitch)"
    return done(
        AREA.endpoint,
        guild_id,
        queued_change_words(change, who, lambda points: f"{points:,} {currency}"),
    )
