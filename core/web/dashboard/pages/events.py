"""The event log: webhooks received and refused (by reason), the Kick webhooks arriving for this
server, its recent events by type, and its dead events with a Retry button. Every list is the
guild's own: events are kept when the dispatcher would route them to this guild."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flask import current_app, g, render_template, request

from core.bus.event_log import LoggedEvent, guild_scope
from core.events import EVENT_TYPES, Platform, utc
from core.events.words import describe, kick_webhook_type, member_of
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import config, done, installed, page
from core.web.dashboard.pages.alerts import REPLAYABLE

AREA = guild_blueprint("events", __name__, "Event log")
ORDER = 90
SHOWN = 50
ARRIVALS_SINCE = timedelta(days=7)


def _scope(guild_id: int):  # type: ignore[no-untyped-def]
    return guild_scope(guild_id, installed(config().guilds_tracking))


def _webhook_counts() -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    metrics = config().metrics
    if metrics is None:
        return [], []

    def rows(counter, label: str) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
        found = [
            (labels.get("platform", "").title(), _words(labels.get(label, "")), int(value))
            for labels, value in counter.counts()
            if value
        ]
        return sorted(found)

    return rows(metrics.webhooks_received, "outcome"), rows(metrics.webhooks_rejected, "reason")


def _arrivals(guild_id: int) -> list[tuple[str, str, object]]:
    """(channel name, event type in words, when it last arrived) of the Kick webhooks arriving
    for the guild's channel: its rows alone are read."""
    arrivals = config().webhook_arrivals
    channel = config().channel_of(guild_id, Platform.KICK)
    if arrivals is None or channel is None:
        return []
    since = utc(arrivals.clock()) - ARRIVALS_SINCE
    found = arrivals.arrived_since(since, channel.broadcaster_user_id)
    return sorted(
        (channel.channel_slug, kick_webhook_type(event_type), at)
        for (_broadcaster, event_type), at in found.items()
    )


def _follows_a_channel(guild_id: int) -> bool:
    """Whether the server follows a Kick or Twitch channel (else no event can come)."""
    return any(config().channel_of(guild_id, platform) is not None for platform in Platform)


def _named(guild_id: int, events: list[LoggedEvent]) -> list[LoggedEvent]:
    """``events`` with a link's member named as the bot last saw them (the directory, one read
    for all); "A member" stays for one it does not know."""
    members = {e.ref: member_of(e.event) for e in events if e.event is not None}
    wanted = {m for m in members.values() if m is not None}
    directory = config().directory
    if not wanted or directory is None:
        return events
    names = directory.member_names(guild_id, wanted)
    return [
        replace(e, said=describe(e.event, names.get(members[e.ref])))  # type: ignore[arg-type]
        if members.get(e.ref) is not None
        else e
        for e in events
    ]


def _words(code: str) -> str:
    """A webhook answer's label ("bad_signature") in words ("bad signature")."""
    return code.replace("_", " ").replace(".", " ")


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    log = installed(config().event_log)
    scope = _scope(guild_id)
    kind, errors = _kind()
    live = "live" in current_app.extensions  # off: no live parts, the page works by reload
    values = _values(guild_id, log, scope, kind)
    return page("dashboard/events.html", guild_id, errors=errors, live=live, **values)


def _kind() -> tuple[str | None, dict[str, str]]:
    """The event type asked for in the query string (None: all), and the refusal of a bad one."""
    kind = request.args.get("kind") or None
    if kind is not None and kind not in EVENT_TYPES:
        return None, {"kind": "No such event type."}
    return kind, {}


@AREA.bp.get("/live")
def live_part(guild_id: int):  # type: ignore[no-untyped-def]
    """The dead and recent events alone, for the live page to fetch again."""
    log = installed(config().event_log)
    scope = _scope(guild_id)
    kind, errors = _kind()
    return render_template(
        "dashboard/events_live.html",
        guild_id=guild_id,
        errors=errors,
        kind=kind,
        kinds=log.kinds(scope),
        recent=_named(guild_id, log.recent(scope, SHOWN, kind)),
        **_dead(guild_id, log, scope),
        replayable_kinds=REPLAYABLE,
        follows_a_channel=_follows_a_channel(guild_id),
    )


def _values(guild_id: int, log, scope, kind: str | None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    received, refused = _webhook_counts()
    kick = config().channel_of(guild_id, Platform.KICK)
    return {
        "kick_channel": kick.channel_slug if kick is not None else None,
        "follows_a_channel": _follows_a_channel(guild_id),
        "received": received,
        "refused": refused,
        "arrivals": _arrivals(guild_id),
        "kinds": log.kinds(scope),
        "kind": kind,
        "recent": _named(guild_id, log.recent(scope, SHOWN, kind)),
        **_dead(guild_id, log, scope),
        "replayable_kinds": REPLAYABLE,
    }


def _dead(guild_id: int, log, scope) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The newest ``SHOWN`` dead events, and whether there are more (one more is read to know:
    the heading must not call the shown ones all of them)."""
    dead = log.dead(scope, SHOWN + 1)
    return {"dead": _named(guild_id, dead[:SHOWN]), "dead_more": len(dead) > SHOWN}


@AREA.bp.post("/retry")
def retry(guild_id: int):  # type: ignore[no-untyped-def]
    ref = request.form.get("ref", "")[:64]
    if installed(config().event_log).retry(ref, _scope(guild_id), g.user.id):
        return done(AREA.endpoint, guild_id, "The event is queued again.")
    return done(
        AREA.endpoint, guild_id, "That event is not waiting for a retry (queued again already?)."
    )
