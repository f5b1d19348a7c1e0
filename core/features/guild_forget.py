"""Deleting a Discord server's data for good (``python -m core guild remove``): every row
keyed by its ``guild_id``, table by table as :data:`FORGET` says, except what proves a
published raffle draw (:data:`KEPT`, the reasons of :mod:`core.features.person_forget`) and
the markers that keep people forgotten before out of a later import
(:mod:`core.features.importers.forgotten`).

A test (tests/features/test_guild_forget.py) fails when a table with a ``guild_id`` column is
in neither list, so a feature's new table gets a decision.

What is kept per channel rather than per server (:data:`OF_CHANNEL`: when events last arrived,
the subscriptions a platform stopped) goes with the last server that follows the channel; while
another server follows it, it is that server's as much.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.importers import forgotten as import_forgotten
from core.features.person_forget import OPEN_PERIODS
from core.features.schema import all_tables


def _all(table: sa.Table) -> Any:
    return sa.true()


def _open_periods_ids() -> Any:
    periods = all_tables().tables["raffle_periods"]
    return sa.select(periods.c.id).where(periods.c.status.in_(OPEN_PERIODS))


def _of_open_periods(table: sa.Table) -> Any:
    return table.c.period_id.in_(_open_periods_ids())


def _open_period(table: sa.Table) -> Any:
    return table.c.status.in_(OPEN_PERIODS)


def _of_open_draws(table: sa.Table) -> Any:
    draws = all_tables().tables["raffle_draws"]
    open_draws = sa.select(draws.c.id).where(draws.c.period_id.in_(_open_periods_ids()))
    return table.c.draw_id.in_(open_draws)


# table -> which of the server's rows go: every one, or only those of a raffle period still open
Rows = Callable[[sa.Table], Any]
_RAFFLE: dict[str, Rows] = {
    "raffle_periods": _open_period,
    "raffle_ledger": _of_open_periods,
    "raffle_balances": _of_open_periods,
    "raffle_watch_progress": _of_open_periods,
    "raffle_gifts": _of_open_periods,
    "raffle_frozen_ranges": _of_open_periods,
    "raffle_draws": _of_open_periods,
    "raffle_winners": _of_open_draws,
}
_EVERY_ROW = [
    "chat_commands_pending",
    "directory_channels",
    "directory_guilds",
    "directory_members",
    "directory_roles",
    "guilds",
    "guild_channels",
    "heist_participants",
    "heist_settings",
    "heists",
    "import_runs",
    "imported_winners",
    "kick_connections",
    "link_history",
    "link_panels",
    "link_settings",
    "live_changes",
    "oauth_states",
    "outbox",
    "overlay_alert_counters",
    "overlay_alert_styles",
    "overlay_alert_variations",
    "overlay_alerts",
    "overlay_goal_moves",
    "overlay_goals",
    "overlay_media",
    "overlay_settings",
    "overlay_tokens",
    "payments_settlements",
    "points_accrual",
    "points_balances",
    "points_ledger",
    "points_se_holds",
    "points_settings",
    "processed_events",
    "raffle_exclusions",
    "raffle_settings",
    "role_awards",
    "role_settings",
    "role_tiers",
    "shuffle_link_requests",
    "shuffle_links",
    "shuffle_settings",
    "shuffle_wager_periods",
    "shuffle_wager_progress",
    "shuffle_wager_totals",
    "slot_call_blacklist",
    "slot_call_settings",
    "slot_calls",
    "sub_tiers",
    "twitch_connections",
    "used_links",
    "vip_audit",
    "vip_grants",
    "vip_paused_rewards",
    "vip_redemptions",
    "vip_rules",
    "vip_settings",
    "watch_hours",
    "watch_presence",
    "watch_settings",
    "watch_streams",
    "watchtime",
]


def _not_of_forgotten_people(table: sa.Table) -> Any:
    return sa.not_(import_forgotten.is_forgotten(table))


FORGET: dict[str, Rows] = {
    **dict.fromkeys(_EVERY_ROW, _all),
    **_RAFFLE,
    "import_markers": _not_of_forgotten_people,
}
KEPT: dict[str, str] = {
    "raffle_periods": "a closed period, whose proof page /raffle/<period_id> keeps verifying",
    "raffle_ledger": "a closed period's ledger is the evidence its published draw was fair",
    "raffle_balances": "a closed period's standings belong to its published proof",
    "raffle_watch_progress": "a closed period's progress belongs to its frozen ledger",
    "raffle_gifts": "a closed period's gifts belong to its frozen ledger",
    "raffle_frozen_ranges": "a closed period's ticket ranges, from which its winners were drawn",
    "raffle_draws": "a closed period's draws, published with its proof",
    "raffle_winners": "a published draw's winners",
    "import_markers": (
        "the other bots' rows of people forgotten since they were imported (privacy forget): "
        "a server added and imported into again does not bring them back"
    ),
}


# Tables keyed by a channel (platform and broadcaster), not a server: the platform of their rows
# (None: a ``platform`` column says it).
OF_CHANNEL: dict[str, Platform | None] = {
    "event_arrivals": None,
    "twitch_revocations": Platform.TWITCH,
    "webhook_arrivals": Platform.KICK,
}
SHARED_CHANNEL = "of a channel another server follows too"


@dataclass(frozen=True)
class TableCount:
    table: str
    going: int
    staying: int
    reason: str | None  # why the staying rows stay


def guild_tables() -> list[sa.Table]:
    """The tables with a ``guild_id`` column, children before parents."""
    return [t for t in reversed(all_tables().sorted_tables) if "guild_id" in t.c]


def count(conn: Connection, guild_id: int) -> list[TableCount]:
    """Per table holding any of the server's rows: how many would go and how many stay."""
    counts = []
    for table in guild_tables():
        mine = table.c.guild_id == guild_id
        total = conn.execute(sa.select(sa.func.count()).select_from(table).where(mine)).scalar()
        if not total:
            continue
        going = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(mine, FORGET[table.name](table))
        ).scalar()
        counts.append(TableCount(table.name, going, total - going, KEPT.get(table.name)))
    return counts + _count_of_channels(conn, guild_id)


Channel = tuple[str, str]  # (platform, broadcaster user id)


def _channels(conn: Connection, guild_id: int) -> tuple[list[Channel], list[Channel]]:
    """The server's channels: those no other server follows, and those another one does."""
    c = all_tables().tables["guild_channels"].c
    mine = [
        (row.platform, row.broadcaster_user_id)
        for row in conn.execute(
            sa.select(c.platform, c.broadcaster_user_id).where(c.guild_id == guild_id)
        )
    ]
    others = sa.select(c.platform, c.broadcaster_user_id).where(
        c.guild_id != guild_id, c.broadcaster_user_id.in_([b for _, b in mine])
    )
    shared = {(row.platform, row.broadcaster_user_id) for row in conn.execute(others)}
    return [ch for ch in mine if ch not in shared], [ch for ch in mine if ch in shared]


def _of_channels(table: sa.Table, channels: list[Channel]) -> Any:
    """The table's rows of ``channels``."""
    platform = OF_CHANNEL[table.name]
    if platform is not None:
        ids = [broadcaster for name, broadcaster in channels if name == str(platform)]
        return table.c.broadcaster_user_id.in_(ids) if ids else sa.false()
    if not channels:
        return sa.false()
    return sa.or_(
        *(
            sa.and_(table.c.platform == name, table.c.broadcaster_user_id == broadcaster)
            for name, broadcaster in channels
        )
    )


def _count_of_channels(conn: Connection, guild_id: int) -> list[TableCount]:
    only_mine, shared = _channels(conn, guild_id)
    counts = []
    for name in OF_CHANNEL:
        table = all_tables().tables[name]
        going, staying = (
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(_of_channels(table, channels))
            ).scalar()
            or 0
            for channels in (only_mine, shared)
        )
        if going or staying:
            counts.append(TableCount(name, going, staying, SHARED_CHANNEL if staying else None))
    return counts


# The tables whose rows say which rows of the others go (an open period's, an open draw's):
# they are deleted last, or the ledger of a period already deleted would be left behind.
_READ_BY_THE_RULES = ("raffle_draws", "raffle_periods")


def delete(conn: Connection, guild_id: int) -> list[TableCount]:
    """Deletes the server's rows as :data:`FORGET` says, children before parents and the
    tables the rules read last, on the caller's connection (one transaction); what went and
    what stayed, per table."""
    counts = count(conn, guild_id)
    only_mine, _shared = _channels(conn, guild_id)
    for name in OF_CHANNEL:
        table = all_tables().tables[name]
        conn.execute(sa.delete(table).where(_of_channels(table, only_mine)))
    for table in sorted(guild_tables(), key=lambda t: t.name in _READ_BY_THE_RULES):
        conn.execute(
            sa.delete(table).where(table.c.guild_id == guild_id, FORGET[table.name](table))
        )
    return counts
