"""Temporary VIP: who is VIP (with countdowns, updated live), grant / extend / revoke, the
reward and the settings, and the audit log with filters. Every write is the call ``!vip ...``
makes (core/discord_bot/vip/cog.py), with the dashboard user as actor; a refusal is shown next
to its form with status 400."""

from __future__ import annotations

from datetime import MAXYEAR, UTC, datetime, timedelta
from typing import Any

from flask import (
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)

from core.features.amounts import AmountNotUnderstood, parse_whole_amount
from core.features.refusals import Refused
from core.features.vip.limits import (
    MAX_COOLDOWN_SECONDS,
    MAX_REDEMPTIONS,
    MAX_REWARD_PROMPT,
    RewardLimits,
    describe_limits,
    limits_of,
)
from core.features.vip.ports import TwitchBusy
from core.features.vip.service import VipService, name_key
from core.features.vip.texts import how_granted, removal_note
from core.web.dashboard.guilds import guild_blueprint, guild_name
from core.web.dashboard.pages import vip_rules
from core.web.dashboard.pages._forms import (
    channel_choices,
    checked_channel,
    config,
    installed,
    members,
)

AREA = guild_blueprint("vip", __name__, "Temporary VIP")
ORDER = 60
ACTIONS = ("granted", "extended", "removed", "refused", "refunded")
REWARD_CHANGES = ("cost", "hours", "title", "pause", "resume")
LIMIT_BOUNDS = {
    "prompt": MAX_REWARD_PROMPT,
    "count": MAX_REDEMPTIONS,
    "cooldown": MAX_COOLDOWN_SECONDS,
}
SWITCHES = (
    ("is_stacking", "Redeeming again adds time (stacking)"),
    ("is_chat_notices", "Announce grants and removals in chat"),
    ("is_auto_removal", "Remove VIP when the time is up"),
)


def _service() -> VipService:
    installed(config().run)  # its calls to Twitch run on the bot's loop
    return installed(config().vip)


def _run(coro: Any) -> Any:
    """A service coroutine's result; Twitch not answering is a refusal like the bot's."""
    try:
        return installed(config().run)(coro)
    except TwitchBusy:
        raise Refused("Twitch did not answer; try again in a moment.") from None


def _whole(value: str | None, what: str) -> int:
    try:
        return parse_whole_amount(value or "", max_digits=9)
    except AmountNotUnderstood as exc:
        if exc.ambiguous:
            raise Refused(f"{what}: {exc}") from None
        raise Refused(f"{what} is a whole number.") from None


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Refused("The date is a day like 2026-03-01.") from None
    if day.year >= MAXYEAR:  # the day after it is the filter's end: no calendar holds it
        raise Refused("The date is a day like 2026-03-01.")
    return day


def _filters() -> tuple[dict[str, str], dict[str, Any], str | None]:
    """The audit log's filters from the query string: as shown, as the service takes them, and
    the refusal for a bad one."""
    shown = {name: request.args.get(name, "").strip()[:100] for name in ("viewer", "action", "on")}
    asked: dict[str, Any] = {"login": shown["viewer"] or None}
    try:
        if shown["action"]:
            if shown["action"] not in ACTIONS:
                raise Refused("Pick an action from the list.")
            asked["action"] = shown["action"]
        day = _day(shown["on"])
        if day is not None:
            asked["since"], asked["until"] = day, day + timedelta(days=1)
    except Refused as refused:
        return shown, {}, str(refused)
    return shown, asked, None


def _page(guild_id: int, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    service = _service()
    shown, asked, filter_error = _filters()
    errors = dict(errors or {})
    if filter_error:
        errors["filters"] = filter_error
    entries = [] if filter_error else _run(service.log(guild_id, limit=50, **asked))
    settings = _run(service.settings(guild_id))
    rules = vip_rules.context(service, _run, guild_id)
    # A refusal for a rule the list does not show (removed meanwhile, or never this server's)
    # is said above the list: its own place is the rule's row.
    listed = {"rule-add", *(f"rule-{rule.id}" for rule in rules["rules"])}
    for name in [n for n in errors if n.startswith("rule-") and n not in listed]:
        errors.setdefault("rules", errors.pop(name))
    page = render_template(
        "dashboard/vip.html",
        user=g.user,
        guild_id=guild_id,
        guild_name=guild_name(guild_id),
        grants=_run(service.list_vips(guild_id)),
        how_granted=how_granted,
        removal_note=removal_note,
        waiting=_run(service.reconnection.counts(guild_id)),
        settings=settings,
        limits=limits_of(settings),
        limits_words=describe_limits(limits_of(settings)),
        limit_bounds=LIMIT_BOUNDS,
        entries=entries,
        **_log_names(guild_id, entries),
        filters=shown,
        actions=ACTIONS,
        reward_changes=REWARD_CHANGES,
        switches=SWITCHES,
        channels=channel_choices(guild_id, settings.notice_channel_id),
        errors=errors,
        form=request.form if request.method == "POST" else {},
        notices=get_flashed_messages(),  # what _write flashed before its redirect
        now=datetime.now(UTC),
        live="live" in current_app.extensions,  # off: no live parts, the page works by reload
        **rules,
    )
    return page, 400 if errors else 200


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _page(guild_id)


@AREA.bp.get("/list")
def vip_list(guild_id: int):  # type: ignore[no-untyped-def]
    """The list alone, for the live page to fetch again."""
    grants = _run(_service().list_vips(guild_id))
    return render_template(
        "dashboard/vip_list.html",
        grants=grants,
        guild_id=guild_id,
        now=datetime.now(UTC),
        how_granted=how_granted,
        removal_note=removal_note,
    )


@AREA.bp.get("/log")
def audit(guild_id: int):  # type: ignore[no-untyped-def]
    """The audit log alone (same filters), for the live page to fetch again."""
    _shown, asked, filter_error = _filters()
    if filter_error:
        return filter_error, 400
    entries = _run(_service().log(guild_id, limit=50, **asked))
    return render_template(
        "dashboard/vip_log.html", entries=entries, **_log_names(guild_id, entries)
    )


def _log_names(guild_id: int, entries: list[Any]) -> dict[str, Any]:
    """Names for the log's ids: viewers as StreamKeeper last saw them, Discord admins as the
    bot last saw them in this server; an id with no name known stays an id."""
    admins = {int(e.actor_id) for e in entries if e.actor_kind == "discord" and e.actor_id}
    return {
        "viewer_names": _run(_service().viewer_names(entries)),
        "members": members(guild_id, sorted(admins)),
        "name_key": name_key,
    }


def _write(guild_id: int, form_name: str, call: Any):  # type: ignore[no-untyped-def]
    """Run ``call()`` (the service call); back to the page with its message (flashed: the page
    shows it once, and takes no notice from its address), or the page again with the refusal
    next to the form."""
    try:
        message = call()
    except Refused as refused:
        return _page(guild_id, {form_name: str(refused)})
    flash(message)
    return redirect(url_for("guild_vip.index", guild_id=guild_id) + f"#{form_name}")


vip_rules.add_routes(AREA.bp, _service, _run, lambda *a: _write(*a), lambda *a: _whole(*a))


@AREA.bp.post("/grant")
def grant(guild_id: int):  # type: ignore[no-untyped-def]
    def call() -> str:
        hours = _whole(request.form.get("hours"), "Hours")
        login = request.form.get("login", "")
        if not login.strip():
            raise Refused("Name the Twitch viewer.")
        made = _run(_service().manual.grant(guild_id, g.user.id, login, hours))
        return f"{made.username} is a VIP until {made.expires_at:%Y-%m-%d %H:%M} UTC."

    return _write(guild_id, "grant", call)


@AREA.bp.post("/extend")
def extend(guild_id: int):  # type: ignore[no-untyped-def]
    def call() -> str:
        hours = _whole(request.form.get("hours"), "Hours")
        made = _run(
            _service().manual.extend(guild_id, g.user.id, request.form.get("login", ""), hours)
        )
        return f"{made.username} is now a VIP until {made.expires_at:%Y-%m-%d %H:%M} UTC."

    return _write(guild_id, "extend", call)


@AREA.bp.post("/revoke")
def revoke(guild_id: int):  # type: ignore[no-untyped-def]
    def call() -> str:
        gone = _run(_service().manual.revoke(guild_id, g.user.id, request.form.get("login", "")))
        return f"{gone.username} is no longer a VIP."

    return _write(guild_id, "revoke", call)


@AREA.bp.post("/setup")
def setup(guild_id: int):  # type: ignore[no-untyped-def]
    """What ``!vip setup <title> <cost> <hours>`` does."""

    def call() -> str:
        form = request.form
        title = (form.get("title") or "").strip()
        cost = _whole(form.get("cost"), "The cost")
        hours = _whole(form.get("hours"), "The hours")
        limits = _limits(form)
        result = _run(_service().setup(guild_id, g.user.id, title, cost, hours, limits))
        return (
            f"The reward {result.reward.title} is on Twitch: {result.reward.cost:,} points for "
            f"{hours} hour(s) of VIP, {describe_limits(limits)}."
        )

    return _write(guild_id, "setup", call)


@AREA.bp.post("/reward")
def reward(guild_id: int):  # type: ignore[no-untyped-def]
    def call() -> str:
        what = request.form.get("what", "")
        if what not in REWARD_CHANGES:
            raise Refused("Change the reward's cost, hours or title, or pause or resume it.")
        value = request.form.get("value", "").strip() or None
        return str(_run(_service().change_reward(guild_id, what, value))).replace("**", "")

    return _write(guild_id, "reward", call)


@AREA.bp.post("/limits")
def limits(guild_id: int):  # type: ignore[no-untyped-def]
    """The reward's prompt and limits; an empty box is no limit."""
    return _write(
        guild_id, "limits", lambda: _run(_service().change_limits(guild_id, _limits(request.form)))
    )


def _limits(form: Any) -> RewardLimits:
    """The prompt and limits from a form; an empty count is no limit (the service checks the
    bounds)."""

    def count(name: str, what: str) -> int | None:
        value = (form.get(name) or "").strip()
        return _whole(value, what) if value else None

    return RewardLimits(
        form.get("prompt") or "",
        count("max_per_stream", "Redemptions per stream"),
        count("max_per_user_per_stream", "Redemptions per viewer per stream"),
        count("cooldown_seconds", "The cooldown"),
    )


@AREA.bp.post("/settings")
def settings(guild_id: int):  # type: ignore[no-untyped-def]
    def call() -> str:
        form = request.form
        changes: dict[str, Any] = {name: form.get(name) == "on" for name, _label in SWITCHES}
        changes["max_hours"] = _whole(form.get("max_hours"), "The stacking cap")
        most = form.get("max_concurrent", "").strip()
        changes["max_concurrent"] = _whole(most, "The most VIPs at once") if most else None
        channel = (form.get("notice_channel_id") or "").strip()
        service = _service()
        kept = _run(service.settings(guild_id)).notice_channel_id
        if kept is None or channel != str(kept):  # a channel left as it was is not asked again
            changes["notice_channel_id"] = checked_channel(guild_id, channel, "The notice channel")
        _run(service.update_settings(guild_id, **changes))
        return "Settings saved."

    return _write(guild_id, "settings", call)
