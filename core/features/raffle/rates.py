"""A guild's raffle settings as the rest of the raffle reads them, and ``!raffleset``'s parsing.

A guild's row leaves ``auto_draw`` and the announcement channel unset until an admin sets them;
until then the process-wide settings (``RAFFLE_AUTO_DRAW``, ``RAFFLE_ANNOUNCEMENT_CHANNEL_ID``)
apply. The process-wide channel belongs to one server: it applies to a server unless the
directory knows it as another server's, and a server that wants no announcements stores
:data:`NO_CHANNEL`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from core.config import RaffleSettings
from core.features.directory import repository as directory
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.periods import calendar
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.repository import GuildRaffleSettings
from core.features.typed_numbers import whole_in

NO_CHANNEL = 0  # stored: no announcements (None: the process-wide channel)
# What the channel setting takes instead of a channel, and what each stores.
CHANNEL_WORDS: dict[str, int | None] = {"none": NO_CHANNEL, "off": NO_CHANNEL, "default": None}
# A channel as typed: its exact mention or its bare id, nothing around or inside the digits (the
# channel checks of the command and the dashboard read only these, so nothing else is saved).
_CHANNEL = re.compile(r"<#([0-9]+)>|([0-9]+)", flags=re.ASCII)

# name -> (column, kind) for !raffleset
SETTINGS: dict[str, tuple[str, str]] = {
    "watch_hour": ("watch_hour_tickets", "count"),
    "gifted_sub": ("gifted_sub_tickets", "count"),
    "wager_thousand": ("wager_thousand_tickets", "count"),
    "hold_minutes": ("gift_hold_minutes", "count"),
    "auto_draw": ("auto_draw", "flag"),
    "channel": ("announcement_channel_id", "channel"),
    "time_zone": ("time_zone", "zone"),
    "linked_only": ("linked_only", "flag"),
}


@dataclass(frozen=True)
class RaffleRates:
    """A guild's raffle settings, with the process-wide defaults filled in."""

    watch_hour_tickets: int
    gifted_sub_tickets: int
    wager_thousand_tickets: int
    gift_hold_minutes: int
    auto_draw: bool
    announcement_channel_id: int | None
    time_zone: str
    linked_only: bool


def resolve_rates(
    conn: Connection, guild_id: int, stored: GuildRaffleSettings, defaults: RaffleSettings
) -> RaffleRates:
    return RaffleRates(
        watch_hour_tickets=stored.watch_hour_tickets,
        gifted_sub_tickets=stored.gifted_sub_tickets,
        wager_thousand_tickets=stored.wager_thousand_tickets,
        gift_hold_minutes=stored.gift_hold_minutes,
        auto_draw=defaults.auto_draw if stored.auto_draw is None else stored.auto_draw,
        announcement_channel_id=_announcement_channel(
            conn, guild_id, stored.announcement_channel_id, defaults.announcement_channel_id
        ),
        time_zone=stored.time_zone,
        linked_only=stored.linked_only,
    )


def read_rates(conn: Connection, guild_id: int, defaults: RaffleSettings) -> RaffleRates:
    return resolve_rates(conn, guild_id, periods_repository.get_settings(conn, guild_id), defaults)


def _announcement_channel(
    conn: Connection, guild_id: int, stored: int | None, default: int | None
) -> int | None:
    if stored == NO_CHANNEL:
        return None
    if stored is not None or default is None:
        return stored
    owner = directory.guild_of_channel(conn, default)
    return default if owner in (None, guild_id) else None


def parse_setting(name: str, value: str) -> tuple[str, Any]:
    """``!raffleset <name> <value>`` -> ``(column, value)`` to store."""
    key = name.strip().lower()
    if key not in SETTINGS:
        raise RaffleRefused(f"Settings I know: {', '.join(SETTINGS)}.")
    column, kind = SETTINGS[key]
    raw = value.strip()
    if kind == "count":
        count = whole_in(raw, high=100_000)
        if count is None:
            raise RaffleRefused(f"{key} takes a whole number from 0 to 100000.")
        return column, count
    if kind == "flag":
        if raw.lower() not in {"on", "off", "true", "false", "yes", "no"}:
            raise RaffleRefused(f"{key} takes on or off.")
        return column, raw.lower() in {"on", "true", "yes"}
    if kind == "channel":
        if raw.lower() in CHANNEL_WORDS:
            return column, CHANNEL_WORDS[raw.lower()]
        typed = _CHANNEL.fullmatch(raw)
        channel_id = None if typed is None else whole_in(typed.group(1) or typed.group(2), low=1)
        if channel_id is not None:
            return column, channel_id
        raise RaffleRefused("channel takes a #channel, a channel id, or none.")
    try:
        return column, calendar.zone_name(raw)
    except calendar.BadDates as exc:
        raise RaffleRefused(str(exc)) from exc
