"""kick-watchtime-bot's rows, checked one by one: pure functions of the raw column values.

Each ``*_row`` function takes the values as the database driver handed them over (any type:
see :mod:`source_values`) and returns the typed row, an :class:`Aside` (a row that is not for
import by design: another platform's link, a row of no tickets) or a :class:`Problem` (the row
is left out and reported: which row, and why). They never raise, so the reader never stops at
a hostile row and every row of the source ends up in exactly one count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.features.importers.source_values import (
    MINUTES_MAX,
    NAME_MAX,
    PRIZE_MAX,
    ROLE_NAME_MAX,
    SNOWFLAKE_MAX,
    TICKETS_MAX,
    Unfit,
    flag,
    moment,
    shown,
    snowflake,
    text,
    whole_number,
)
from core.features.roles.service import MAX_MINUTES as TIER_MINUTES_MAX

WATCHTIME = "watchtime"
LINKS = "links"
ROLE_TIERS = "role tiers"
TICKETS = "raffle tickets"
WINNERS = "raffle winners"
TABLES = (WATCHTIME, LINKS, ROLE_TIERS, TICKETS, WINNERS)  # as the report lists them


@dataclass(frozen=True)
class WatchRow:
    username: str
    minutes: int
    last_active: datetime | None


@dataclass(frozen=True)
class LinkRow:
    discord_id: int
    kick_name: str
    linked_at: datetime | None


@dataclass(frozen=True)
class RoleRow:
    id: int
    role_name: str
    minutes_required: int
    enabled: bool
    is_default: bool  # a row of no server: every server's tiers unless it has its own


@dataclass(frozen=True)
class TicketRow:
    id: int
    discord_id: int
    kick_name: str
    tickets: int


@dataclass(frozen=True)
class WinnerRow:
    id: int
    discord_id: int
    kick_name: str
    prize: str
    drawn_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    period_tickets: int | None  # the winner's tickets in that period, when still kept


@dataclass(frozen=True)
class Problem:
    """A source row left out: the report's table, and the row and the reason in words."""

    table: str
    text: str


@dataclass(frozen=True)
class Aside:
    """A source row not for import by design, counted under ``reason`` (not a problem)."""

    table: str
    reason: str


def watch_row(username: Any, minutes: Any, last_active: Any) -> WatchRow | Problem:
    label = _name_label(username)
    try:
        return WatchRow(
            text(username, "the username", limit=NAME_MAX, name=True),
            whole_number(minutes, "minutes", high=MINUTES_MAX),
            moment(last_active, "last_active"),
        )
    except Unfit as unfit:
        return Problem(WATCHTIME, f"{label}: {unfit}; left out")


def link_row(
    discord_id: Any, kick_name: Any, linked_at: Any, platform: Any = "kick"
) -> LinkRow | Aside | Problem:
    label = f"Discord {_id_shown(discord_id)} and Kick {_name_label(kick_name)}"
    try:
        platform_name = text(platform, "the platform", limit=50)
        if platform_name.strip().casefold() != "kick":
            return Aside(LINKS, "other platforms")
        return LinkRow(
            snowflake(discord_id, "the Discord id"),
            text(kick_name, "the Kick name", limit=NAME_MAX, name=True),
            moment(linked_at, "linked_at"),
        )
    except Unfit as unfit:
        return Problem(LINKS, f"{label}: {unfit}; left out")


def role_row(
    role_id: Any, role_name: Any, minutes_required: Any, enabled: Any, server_id: Any
) -> RoleRow | Problem:
    label = f"tier {_id_shown(role_id)} ({_name_label(role_name)})"
    try:
        return RoleRow(
            whole_number(role_id, "the id", high=SNOWFLAKE_MAX),
            text(role_name, "the role name", limit=ROLE_NAME_MAX, name=True),
            # 0 minutes: every member of the server, linked or not, would reach it.
            whole_number(minutes_required, "minutes_required", low=1, high=TIER_MINUTES_MAX),
            flag(enabled, "enabled"),
            server_id is None,
        )
    except Unfit as unfit:
        return Problem(ROLE_TIERS, f"{label}: {unfit}; left out")


def ticket_row(
    row_id: Any, discord_id: Any, kick_name: Any, total_tickets: Any
) -> TicketRow | Aside | Problem:
    label = f"row {_id_shown(row_id)} ({_name_label(kick_name)})"
    try:
        row = TicketRow(
            whole_number(row_id, "the id", high=SNOWFLAKE_MAX),
            snowflake(discord_id, "the Discord id"),
            text(kick_name, "the Kick name", limit=NAME_MAX, name=True),
            whole_number(total_tickets, "total_tickets", high=TICKETS_MAX),
        )
    except Unfit as unfit:
        return Problem(TICKETS, f"{label}: {unfit}; left out")
    return Aside(TICKETS, "no tickets") if row.tickets == 0 else row


def winner_row(
    draw_id: Any,
    discord_id: Any,
    kick_name: Any,
    prize: Any,
    drawn_at: Any,
    period_start: Any,
    period_end: Any,
    period_tickets: Any,
) -> WinnerRow | Problem:
    """A draw's winner; ``period_*`` are the draw's period's (None when it is gone)."""
    label = f"draw {_id_shown(draw_id)} ({_name_label(kick_name)})"
    try:
        return WinnerRow(
            whole_number(draw_id, "the id", high=SNOWFLAKE_MAX),
            snowflake(discord_id, "the winner's Discord id"),
            text(kick_name, "the winner's Kick name", limit=NAME_MAX, name=True),
            "" if prize is None else text(prize, "the prize", limit=PRIZE_MAX, blank=True),
            moment(drawn_at, "drawn_at"),
            moment(period_start, "the period's start_date"),
            moment(period_end, "the period's end_date"),
            None
            if period_tickets is None
            else whole_number(period_tickets, "the winner's tickets", high=TICKETS_MAX),
        )
    except Unfit as unfit:
        return Problem(WINNERS, f"{label}: {unfit}; left out")


def _name_label(name: Any) -> str:
    if isinstance(name, str) and name.strip():
        return shown(name)
    if name is None or isinstance(name, str):
        return "(no name)"
    return "(a name that is not text)"


def _id_shown(value: Any) -> str:
    """An id as the other bot's tables show it: digits without separators."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value.bit_length() <= 64 else "(a huge number)"
    return shown(value) if isinstance(value, str) else "?"
