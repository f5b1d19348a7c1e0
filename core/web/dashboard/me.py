"""``/me``: a logged-in viewer's own data, for any Discord user (no Manage Server needed).

Their linked Kick and Twitch accounts (unlinked with the same ``LinkingService.unlink`` as
``!unlink``), and per server the bot serves where they have anything (read by account, in the
same few statements however many servers the bot serves): watchtime, raffle tickets in the open
period and points of those accounts, their link history there; all of it as a JSON download.
Everything is keyed by the session's Discord user id, never by anything the request names, so a
viewer only ever sees and changes their own data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.linking import calls
from core.features.linking.repository import AccountLink
from core.web.dashboard import answer_database_down, error_page
from core.web.dashboard.guilds import guild_names, require_user
from core.web.dashboard.state import dashboard

bp = Blueprint("me", __name__, url_prefix="/me")
answer_database_down(bp)


@dataclass
class AccountData:
    platform: str
    username: str
    platform_user_id: str
    watch_seconds: int | None = None
    watch_rank: int | None = None
    points: int | None = None
    tickets: int | None = None
    ticket_rank: int | None = None

    @property
    def has_data(self) -> bool:
        return bool(self.watch_seconds or self.points or self.tickets)


@dataclass
class GuildData:
    guild_id: int
    name: str
    accounts: list[AccountData] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    currency: str = "points"


bp.before_request(require_user)


def _links() -> list[Any]:
    linking = dashboard().config.linking
    return [] if linking is None else linking.links_of(g.user.id)


def _guild_data(links: list[Any]) -> tuple[list[GuildData], dict[int, str]]:
    """Per server the bot serves where the user has anything (a link made there, link history,
    watchtime, points or tickets of their accounts), what is stored about their accounts there:
    read by account across servers, never server by server; and the names of those servers and
    of those where the links were made, read at once."""
    config = dashboard().config
    accounts = [(str(link.platform), link.platform_user_id) for link in links]
    watch = {}
    if config.watchtime is not None:
        for w in config.watchtime.ranked_of_accounts(accounts):
            watch[(w.guild_id, str(w.platform), w.platform_user_id)] = w
    points = {} if config.points is None else config.points.balances_of_accounts(accounts)
    tickets = {}
    if config.raffle is not None:
        for t in config.raffle.views.open_standings_of(accounts):
            tickets[(t.guild_id, str(t.platform), t.platform_user_id)] = t
    history: dict[int, list[dict[str, Any]]] = {}
    for entry in [] if config.linking is None else config.linking.history_everywhere(g.user.id):
        history.setdefault(entry.guild_id, []).append(_history_line(entry))
    held = {key[0] for key, w in watch.items() if w.seconds}
    held |= {key[0] for key, balance in points.items() if balance}
    held |= {key[0] for key, t in tickets.items() if t.tickets}
    made = {link.linked_in_guild_id for link in links}
    guild_ids = sorted(config.served(held | made | set(history)))
    names = guild_names(set(guild_ids) | made)
    currency = {} if config.points is None else config.points.names(guild_ids)
    raffle_open = (
        set() if config.raffle is None else config.raffle.views.guilds_with_open_period(guild_ids)
    )
    found = []
    for guild_id in guild_ids:
        data = GuildData(guild_id, names[guild_id], history=history.get(guild_id, []))
        data.currency = currency.get(guild_id, data.currency)
        for link in links:
            key = (guild_id, str(link.platform), link.platform_user_id)
            account = AccountData(str(link.platform), link.username, link.platform_user_id)
            if key in watch:
                account.watch_seconds, account.watch_rank = watch[key].seconds, watch[key].rank
            if config.points is not None:
                account.points = points.get(key, 0)
            if guild_id in raffle_open:
                standing = tickets.get(key)
                account.tickets = 0 if standing is None else standing.tickets
                account.ticket_rank = None if standing is None else standing.rank
            data.accounts.append(account)
        found.append(data)
    return found, names


def _history_line(entry: Any) -> dict[str, Any]:
    return {
        "at": entry.created_at.isoformat(),
        "action": entry.action,
        "platform": str(entry.platform),
        "username": entry.username,
        "reason": entry.reason,
        "by_you": entry.actor_id == g.user.id,
    }


def _hours(seconds: int | None) -> str:
    if not seconds:
        return "0 h"
    hours, rest = divmod(seconds, 3600)
    return f"{hours:,} h {rest // 60} min"


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    links = _links()
    guilds, names = _guild_data(links)
    return render_template(
        "dashboard/me.html",
        user=g.user,
        links=links,
        guilds=guilds,
        hours=_hours,
        guild_names=names,
        notices=get_flashed_messages(),
    )


@bp.get("/data.json")
def download():  # type: ignore[no-untyped-def]
    links = _links()
    document = {
        "discord_user_id": str(g.user.id),
        "discord_name": g.user.name,
        "links": [
            {
                "platform": str(link.platform),
                "platform_user_id": link.platform_user_id,
                "username": link.username,
                "linked_at": link.linked_at.isoformat(),
                "linked_in_guild_id": str(link.linked_in_guild_id),
            }
            for link in links
        ],
        "guilds": [
            {
                "guild_id": str(data.guild_id),
                "name": data.name,
                "accounts": [
                    {
                        "platform": a.platform,
                        "platform_user_id": a.platform_user_id,
                        "username": a.username,
                        "watchtime_seconds": a.watch_seconds or 0,
                        "watchtime_rank": a.watch_rank,
                        "points": a.points or 0,
                        "points_name": data.currency,
                        "raffle_tickets_open_period": a.tickets or 0,
                        "raffle_rank": a.ticket_rank,
                    }
                    for a in data.accounts
                ],
                "link_history": data.history,
            }
            for data in _guild_data(links)[0]
        ],
    }
    response = Response(json.dumps(document, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="streamkeeper-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _unlink(platform: Platform) -> Any:
    """The user's own link on ``platform`` removed, as ``!unlink`` does in the server where it
    was made (the history row goes there), with what follows on Discord there (the linked role,
    watchtime roles and link log) queued for the bot in the same transaction; None when there
    was none. Nothing is written for a server whose data was deleted (``guild remove``): the
    bot neither serves it nor is in it."""
    config = dashboard().config
    current = config.linking.link_of(g.user.id, platform)
    if current is None:
        return None
    guild_id, user_id = current.linked_in_guild_id, g.user.id

    def queue(conn: Connection, removed: AccountLink) -> None:
        calls.enqueue_unlinked(
            conn, guild_id, removed, discord_user_id=user_id, actor_id=user_id,
            platform=platform, now=config.linking.clock(),
        )  # fmt: skip

    # A server nobody added a channel to is not served, but the bot in it (it described its
    # roles) keeps its link history and linked role all the same.
    is_kept_there = bool(config.served([guild_id])) or config.guild_roles(guild_id) is not None
    return config.linking.unlink(
        guild_id, user_id, actor_id=user_id, platform=platform, then=queue,
        is_kept_there=is_kept_there,
    )  # fmt: skip


@bp.post("/unlink")
def unlink():  # type: ignore[no-untyped-def]
    if dashboard().config.linking is None:
        return error_page(404, "Not available", "Linking is not set up here.")
    raw = request.form.get("platform", "")
    try:
        platform = Platform(raw)
    except ValueError:
        return error_page(400, "Which account?", "Choose the Kick or Twitch account to unlink.")
    removed = _unlink(platform)
    if removed is None:
        flash(f"You have no {platform.name.title()} account linked.")
    else:
        flash(f"Unlinked your {platform.name.title()} account {removed.username}.")
    return redirect(url_for("me.index"))


@bp.post("/unlink-all")
def unlink_all():  # type: ignore[no-untyped-def]
    if dashboard().config.linking is None:
        return error_page(404, "Not available", "Linking is not set up here.")
    removed = [link for link in map(_unlink, Platform) if link is not None]
    flash(f"Removed {len(removed)} link{'' if len(removed) == 1 else 's'}.")
    return redirect(url_for("me.index"))
