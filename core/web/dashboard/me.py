"""``/me``: a logged-in viewer's own data, for any Discord user (no Manage Server needed).

Their linked Kick and Twitch accounts (unlinked with the same ``LinkingService.unlink`` as
``!unlink``), and per server the bot serves: watchtime, raffle tickets in the open period and
points of those accounts, their link history there; all of it as a JSON download. Everything is
keyed by the session's Discord user id, never by anything the request names, so a viewer only
ever sees and changes their own data.
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
from core.web.dashboard.guilds import guild_name, require_user
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


def _guild_data(links: list[Any]) -> list[GuildData]:
    """Per server the bot serves, what is stored about the user's accounts there; servers with
    nothing about them are left out."""
    config = dashboard().config
    found = []
    for guild_id in config.bot_guild_ids():
        data = GuildData(guild_id, guild_name(guild_id))
        if config.points is not None:
            data.currency = config.points.name(guild_id)
        for link in links:
            account = AccountData(str(link.platform), link.username, link.platform_user_id)
            if config.watchtime is not None:
                ranked = config.watchtime.find_by_user_id(
                    guild_id, link.platform_user_id, link.platform
                )
                if ranked is not None:
                    account.watch_seconds, account.watch_rank = ranked.entry.seconds, ranked.rank
            if config.points is not None:
                account.points = config.points.balance(
                    guild_id, link.platform, link.platform_user_id
                )
            if config.raffle is not None:
                standing = config.raffle.views.standing(
                    guild_id, link.platform, link.platform_user_id
                )
                if standing is not None:
                    account.tickets, account.ticket_rank = standing.tickets, standing.rank
            data.accounts.append(account)
        if config.linking is not None:
            data.history = [
                {
                    "at": entry.created_at.isoformat(),
                    "action": entry.action,
                    "platform": str(entry.platform),
                    "username": entry.username,
                    "reason": entry.reason,
                    "by_you": entry.actor_id == g.user.id,
                }
                for entry in config.linking.history(guild_id, g.user.id)
            ]
        made_here = any(link.linked_in_guild_id == guild_id for link in links)
        if made_here or data.history or any(a.has_data for a in data.accounts):
            found.append(data)
    return found


def _hours(seconds: int | None) -> str:
    if not seconds:
        return "0 h"
    hours, rest = divmod(seconds, 3600)
    return f"{hours:,} h {rest // 60} min"


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    links = _links()
    return render_template(
        "dashboard/me.html",
        user=g.user,
        links=links,
        guilds=_guild_data(links),
        hours=_hours,
        guild_name=guild_name,
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
            for data in _guild_data(links)
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
    was none."""
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

    return config.linking.unlink(guild_id, user_id, actor_id=user_id, platform=platform, then=queue)


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
