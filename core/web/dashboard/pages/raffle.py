"""A guild's raffle: its ``!raffleset`` settings, periods and their proofs, standings, tickets
given or taken by hand, draws and rerolls.

Every write is the call the raffle commands make (core/discord_bot/raffle/cog.py) with the
dashboard user as actor; a refusal is shown next to its field (status 400). A success redirects
back to the page (so a reload sends nothing twice) with a note of what was done.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, render_template, request

from core.features.raffle.admin import MAX_ADMIN_TICKETS
from core.features.raffle.draws.service import MAX_WINNERS
from core.features.raffle.errors import MAX_TEXT, visible
from core.features.raffle.rates import CHANNEL_WORDS, SETTINGS, RaffleRates
from core.features.refusals import Refused
from core.features.typed_numbers import BIGINT_MAX
from core.features.viewers.search import NOT_A_NAME, name_query
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import (
    FormRefused,
    back_to,
    channel_choices,
    checked_channel,
    config,
    in_words,
    installed,
    member_refusal,
    members,
    new_reference,
    page,
    reference,
    whole_number,
)
from core.web.dashboard.zoned import in_zone, period_kept

AREA = guild_blueprint("raffle", __name__, "Raffle")
ORDER = 40
TEMPLATE = "dashboard/guild_raffle.html"
MAX_PRIZE = MAX_TEXT  # what the raffle keeps of a prize or a reason
MAX_REASON = MAX_TEXT
BOARD_SIZE = 25
HAND_CHANGES = 10

# What each !raffleset setting is called on the page, and how it is asked.
LABELS: dict[str, tuple[str, str]] = {
    "watch_hour": ("Tickets per hour watched", "count"),
    "gifted_sub": ("Tickets per gifted sub", "count"),
    "wager_thousand": ("Tickets per $1,000 wagered", "count"),
    "hold_minutes": ("Hold gifted subs' tickets for (minutes)", "count"),
    "auto_draw": ("Draw automatically when a period ends", "flag"),
    "channel": ("Announce draws in", "channel"),
    "time_zone": ("Time zone (e.g. Europe/Berlin)", "zone"),
    "linked_only": ("Only linked accounts can win", "flag"),
}

_NAMES = {name: label for name, (label, _kind) in LABELS.items()}


def setting_values(rates: RaffleRates) -> dict[str, str]:
    """The settings as their fields show them (and as !raffleset takes them)."""
    on = {True: "on", False: "off"}
    return {
        "watch_hour": str(rates.watch_hour_tickets),
        "gifted_sub": str(rates.gifted_sub_tickets),
        "wager_thousand": str(rates.wager_thousand_tickets),
        "hold_minutes": str(rates.gift_hold_minutes),
        "auto_draw": on[rates.auto_draw],
        "channel": str(rates.announcement_channel_id or ""),
        "time_zone": rates.time_zone,
        "linked_only": on[rates.linked_only],
    }


def _show(
    guild_id: int, *, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None
):  # type: ignore[no-untyped-def]
    raffle = installed(config().raffle)
    info = raffle.views.info(guild_id)
    values = setting_values(info.rates)
    values.update(typed or {})
    board = _board(raffle, guild_id)
    periods = raffle.views.periods(guild_id)
    last_closed = info.last_closed
    rerollable = [
        draw
        for row in periods
        if last_closed is not None and row.period.id == last_closed.id
        for draw in row.draws
        if draw.status == "done"
    ]
    draws = [draw for row in periods for draw in row.draws]
    if info.last_draw is not None:
        draws.append(info.last_draw)
    hand_changes = raffle.views.hand_changes(guild_id, HAND_CHANGES)
    query, found, search_error = _search(raffle, guild_id)
    people = [c.actor_id for c in hand_changes if c.actor_id]
    people += [e.actor_id for viewer in found or [] for e in viewer.entries if e.actor_id]
    people += [who for d in draws for who in (d.requested_by, d.forced_by) if who]
    return page(
        TEMPLATE,
        guild_id,
        errors=errors,
        info=info,
        hand_changes=hand_changes,
        members=members(guild_id, people),
        winner_names=raffle.views.winner_names(draws),
        labels=LABELS,
        values=values,
        board=board,
        periods=periods,
        rerollable=rerollable,
        reference=new_reference(),
        max_tickets=MAX_ADMIN_TICKETS,
        max_winners=MAX_WINNERS,
        channels=channel_choices(guild_id, values["channel"]),
        sources=_sources(raffle, guild_id),
        source_words=SOURCE_WORDS,
        query=query,
        found=found,
        search_error=search_error,
        typed=typed or {},
        shuffle=wagers.status(guild_id) if (wagers := config().wagers) else None,  # !shuffle status
        live="live" in current_app.extensions,  # off: no live parts, the page works by reload
    )


def _search(raffle: Any, guild_id: int) -> tuple[str, list[Any] | None, str | None]:
    """``?q=``: the viewers it names with their tickets and newest ledger lines (None: no
    search), or why it names nobody."""
    query = request.args.get("q", "").strip()
    if not query:
        return query, None, None
    asked = name_query(query)
    if asked is None:
        return query, None, NOT_A_NAME
    try:
        return query, raffle.views.viewers_named(guild_id, asked), None
    except Refused as refused:  # no raffle yet
        return query, None, str(refused)


def _board(raffle: Any, guild_id: int) -> Any:
    """The open period's standings (as !raffleboard), or None before the first period."""
    try:
        return raffle.views.board(guild_id, BOARD_SIZE)
    except Refused:
        return None


SOURCE_WORDS = {
    "watchtime": "Watching",
    "gift": "Gifted subs",
    "wager": "Shuffle wagers",
    "admin": "Given by admins",
    "import": "Imported",
}


def _sources(raffle, guild_id: int) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    """The shown period's tickets by where they came from, as the chart's rows."""
    try:
        totals = raffle.views.stats(guild_id).totals_by_source
    except Refused:
        return []  # no period to show
    return [
        (SOURCE_WORDS.get(source, source), tickets, f"{tickets:,}")
        for source, tickets in sorted(totals.items(), key=lambda item: -item[1])
        if tickets
    ]


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.get("/standings")
def standings(guild_id: int):  # type: ignore[no-untyped-def]
    """The standings alone, for the live page to fetch again."""
    raffle = installed(config().raffle)
    return render_template("dashboard/guild_raffle_standings.html", board=_board(raffle, guild_id))


def _channel(guild_id: int, value: str) -> str:
    """The channel field (stripped) as the setting takes it: empty is ``none`` (no
    announcements, not the process-wide channel again), a word that clears it (``none``, ``off``,
    ``default``) is kept, anything else must be one of this server's channels, checked as every
    page checks one (:func:`checked_channel`: refused when the server cannot be checked now)."""
    if value == "":
        return "none"
    if value.lower() in CHANNEL_WORDS:
        return value
    return str(checked_channel(guild_id, value, "The announcement channel"))


@AREA.bp.post("/settings")
def settings(guild_id: int):  # type: ignore[no-untyped-def]
    raffle = installed(config().raffle)
    current = setting_values(raffle.periods.rates(guild_id))
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    changed = []
    for name in SETTINGS:
        value = request.form.get(name)
        if value is None or value.strip() == current[name]:
            continue
        value = value.strip()
        try:
            checked = _channel(guild_id, value) if name == "channel" else value
            raffle.periods.configure(guild_id, name, checked)
            changed.append(name)
            continue
        except Refused as refused:
            errors[name] = in_words(str(refused), _NAMES)
        typed[name] = value[:100]
    saved = ", ".join(LABELS[name][0] for name in changed)
    if "time_zone" in changed:  # the open period keeps its dates: say until when
        info = raffle.views.info(guild_id)
        saved += period_kept(info.current, info.rates.time_zone)
    if errors:
        if changed:  # the page answers 400 for the others: it says what did change
            flash(f"Saved: {saved}.")
        return _show(guild_id, errors=errors, typed=typed)
    note = f"Saved: {saved}." if changed else "Nothing to change."
    return back_to(guild_id, note, "settings")


def _viewer(guild_id: int, text: str) -> dict[str, Any]:
    """A member of this server (by id or mention) or a Kick or Twitch viewer (by name)."""
    raw = text.strip()
    if not raw:
        raise FormRefused("Say whose tickets: a Discord member id, or a Kick or Twitch name.")
    digits = raw.removeprefix("<@").removeprefix("!").removesuffix(">")
    if digits.isdecimal():
        member_id = whole_number(digits, "A member id", 1, BIGINT_MAX)
        problem = member_refusal(guild_id, member_id)
        if problem is not None:
            raise FormRefused(problem)
        return {"member_id": member_id, "username": None}
    return {"member_id": None, "username": raw[:64]}


def _short(text: str, what: str, limit: int) -> str:
    """``text`` as typed, refused when longer than ``limit`` characters."""
    if len(text) > limit:
        raise FormRefused(f"Keep the {what} under {limit} characters.")
    return text


def _refused(guild_id: int, field: str, refused: Refused, **kept: int):  # type: ignore[no-untyped-def]
    """The page again with the refusal's words beside ``field``, and what was typed in the
    ``kept`` fields (each cut to the length given) still in them."""
    typed = {name: (request.form.get(name) or "")[:limit] for name, limit in kept.items()}
    return _show(guild_id, errors={field: str(refused)}, typed=typed)


@AREA.bp.post("/tickets")
def tickets(guild_id: int):  # type: ignore[no-untyped-def]
    raffle = installed(config().raffle)
    form = request.form
    field = "tickets"
    try:
        field = "viewer"
        who = _viewer(guild_id, form.get("viewer", ""))
        field = "amount"
        amount = whole_number(form.get("amount"), "Tickets", 1, MAX_ADMIN_TICKETS)
        field = "action"
        action = form.get("action", "")
        if action not in ("give", "remove"):
            raise FormRefused("Choose give or remove.")
        field = "reason"
        reason = _short(form.get("reason", ""), "reason", MAX_REASON)
        field = "tickets"
        ref = reference(form.get("reference"))
        field = "viewer"
        given = raffle.admin.give(
            guild_id,
            actor_id=g.user.id,
            tickets=amount if action == "give" else -amount,
            reason=reason,
            reference=f"dashboard:{ref}",
            **who,
        )
    except Refused as refused:
        return _refused(guild_id, field, refused, viewer=100, amount=100, action=100, reason=100)
    verb = "Gave" if action == "give" else "Took"
    account = f"{given.platform.name.title()} account {given.account_name}"
    said = f"{verb} {amount:,} tickets ({account}); they now have {given.balance:,}."
    return back_to(guild_id, said, "tickets")


@AREA.bp.post("/draw")
def draw(guild_id: int):  # type: ignore[no-untyped-def]
    raffle = installed(config().raffle)
    form = request.form
    field = "winners"
    try:
        winners = whole_number(form.get("winners"), "Winners", 1, MAX_WINNERS)
        field = "prize"
        prize = _short(form.get("prize", "").strip(), "prize", MAX_PRIZE)
        field = "winners"
        done = raffle.draws.request(guild_id, actor_id=g.user.id, winners=winners, prize=prize)
    except Refused as refused:
        return _refused(guild_id, field, refused, winners=10, prize=200)
    return back_to(guild_id, _draw_note(done), "draws")


@AREA.bp.post("/reroll")
def reroll(guild_id: int):  # type: ignore[no-untyped-def]
    raffle = installed(config().raffle)
    form = request.form
    field = "draw_id"
    try:
        draw_id = whole_number(form.get("draw_id"), "Draw", 1, BIGINT_MAX)
        field = "reroll_reason"
        reason = form.get("reroll_reason", "")
        if not visible(reason):
            raise FormRefused("Say why you reroll; the reason is recorded with the draw.")
        _short(reason, "reason", MAX_REASON)
        field = "reroll_winner"
        typed = (form.get("reroll_winner") or "").strip()
        winner = whole_number(typed, "Winner", 1, MAX_WINNERS) if typed else None
        field = "draw_id" if winner is None else field
        done = raffle.draws.reroll(
            guild_id, actor_id=g.user.id, draw_id=draw_id, reason=reason, winner=winner
        )
    except Refused as refused:
        return _refused(guild_id, field, refused, reroll_reason=300, reroll_winner=10)
    return back_to(guild_id, _draw_note(done), "draws")


@AREA.bp.post("/force")
def force(guild_id: int):  # type: ignore[no-untyped-def]
    """What ``!raffleforce`` does: complete the draw waiting for the beacon without it (the
    proof says so), refused in the same words when none waits."""
    raffle = installed(config().raffle)
    try:
        done = raffle.draws.force(guild_id, actor_id=g.user.id)
    except Refused as refused:
        return _show(guild_id, errors={"force": str(refused)})
    return back_to(guild_id, _draw_note(done) + " Drawn without the beacon.", "draws")


@AREA.bp.post("/start")
def start(guild_id: int):  # type: ignore[no-untyped-def]
    """What ``!rafflestart`` does with no days: now to the end of the month, monthly after."""
    raffle = installed(config().raffle)
    try:
        period = raffle.periods.start(guild_id)
    except Refused as refused:
        return _refused(guild_id, "period", refused)
    verb = "is open" if period.is_open else "is scheduled"
    ends = in_zone(period.ends_at, raffle.periods.rates(guild_id).time_zone)
    return back_to(guild_id, f"Raffle period #{period.id} {verb} until {ends}.", "state")


@AREA.bp.post("/end")
def end(guild_id: int):  # type: ignore[no-untyped-def]
    """What ``!raffleend`` does: close the period now (drawing when the raffle draws by
    itself) and stop opening new ones."""
    raffle = installed(config().raffle)
    try:
        closing = raffle.periods.end(guild_id)
    except Refused as refused:
        return _refused(guild_id, "period", refused)
    period = closing.period
    if period.status != "closed":
        note = f"Raffle period #{period.id} will not open."
    else:
        note = f"Raffle period #{period.id} is closed; its tickets are frozen."
        if closing.draw is not None:
            note += " " + _draw_note(closing.draw)
    return back_to(guild_id, note, "state")


def _draw_note(draw) -> str:  # type: ignore[no-untyped-def]
    if draw.status == "waiting" and draw.beacon_round is None:  # no round fixed (yet)
        why = draw.last_error or "not tried yet"
        return (
            f"Draw #{draw.id} waits for the beacon: {why}. "
            '"Draw now without the beacon" completes it.'
        )
    if draw.status == "waiting":
        why = draw.last_error or "not tried yet"
        return (
            f"Draw #{draw.id} waits for beacon round {draw.beacon_round}: {why}. It completes "
            "by itself once the round is out."
        )
    count = len(draw.winners)
    return f"Draw #{draw.id} is done: {count} winner{'s' if count != 1 else ''}."
