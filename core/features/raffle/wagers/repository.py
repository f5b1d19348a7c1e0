"""Wager tickets' tables: Shuffle settings, account claims, totals, baselines and progress."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.raffle.tables import (
    raffle_periods,
    shuffle_link_requests,
    shuffle_links,
    shuffle_settings,
    shuffle_wager_periods,
    shuffle_wager_progress,
    shuffle_wager_totals,
)
from core.storage.db import insert_for


@dataclass(frozen=True)
class ShuffleSettingsRow:
    guild_id: int
    affiliate_url: str | None  # encrypted
    campaign_codes: tuple[str, ...]
    verified_role_id: int | None
    poll_failures: int = 0
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_problem: str | None = None
    last_problem_at: datetime | None = None


@dataclass(frozen=True)
class LinkRequest:
    discord_user_id: int
    username: str
    requested_at: datetime


@dataclass(frozen=True)
class ShuffleLink:
    account_key: str
    username: str
    discord_user_id: int
    verified_by: int
    verified_at: datetime


@dataclass(frozen=True)
class Total:
    username: str
    cents: int
    seen_at: datetime | None = None  # when it was read (stored totals only)


@dataclass(frozen=True)
class Progress:
    account_key: str
    baseline_cents: int
    tickets_given: int


# --- settings and poll state -----------------------------------------------------------------


def find_settings(conn: Connection, guild_id: int) -> ShuffleSettingsRow | None:
    row = conn.execute(
        sa.select(shuffle_settings).where(shuffle_settings.c.guild_id == guild_id)
    ).first()
    return None if row is None else _settings(row)


def update_settings(conn: Connection, guild_id: int, now: datetime, **values: Any) -> None:
    """Set the given columns, creating the guild's row when it has none."""
    values = {**values, "updated_at": now}
    stmt = insert_for(conn, shuffle_settings).values(guild_id=guild_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["guild_id"], set_=values))


def list_guild_ids_due(conn: Connection, now: datetime) -> list[int]:
    """Guilds with a URL and codes set that are not backing off."""
    s = shuffle_settings.c
    query = (
        sa.select(s.guild_id)
        .where(
            s.affiliate_url.is_not(None),
            s.campaign_codes != "",
            sa.or_(s.next_poll_at.is_(None), s.next_poll_at <= now),
        )
        .order_by(s.guild_id)
    )
    return list(conn.execute(query).scalars())


def list_guild_ids_ending(conn: Connection, now: datetime) -> list[int]:
    """Guilds with a URL and codes set, not backing off, whose open period has ended (it is
    about to close) and that have had no successful poll since its end."""
    s, p = shuffle_settings.c, raffle_periods.c
    query = (
        sa.select(s.guild_id)
        .join(raffle_periods, p.guild_id == s.guild_id)
        .where(
            s.affiliate_url.is_not(None),
            s.campaign_codes != "",
            sa.or_(s.next_poll_at.is_(None), s.next_poll_at <= now),
            p.status == "open",
            p.ends_at <= now,
            sa.or_(s.last_success_at.is_(None), s.last_success_at < p.ends_at),
        )
        .distinct()
        .order_by(s.guild_id)
    )
    return list(conn.execute(query).scalars())


def record_poll_success(conn: Connection, guild_id: int, now: datetime) -> bool:
    """Record a successful poll that read Shuffle at ``now``; False, changing nothing, when a
    poll that read it later has already been recorded (this reply is stale). The row's lock
    is held to the end of the transaction, so one guild's polls are taken one at a time."""
    s = shuffle_settings.c
    recorded = conn.execute(
        sa.update(shuffle_settings)
        .where(
            s.guild_id == guild_id, sa.or_(s.last_success_at.is_(None), s.last_success_at <= now)
        )
        .values(poll_failures=0, next_poll_at=None, last_success_at=now)
        .returning(s.guild_id)
    ).first()
    if recorded is not None:
        return True
    later = conn.execute(sa.select(s.last_success_at).where(s.guild_id == guild_id)).scalar()
    return later is None or later <= now


def record_poll_problem(
    conn: Connection, guild_id: int, now: datetime, problem: str, next_poll_at: datetime
) -> None:
    s = shuffle_settings.c
    conn.execute(
        sa.update(shuffle_settings)
        .where(s.guild_id == guild_id)
        .values(
            poll_failures=s.poll_failures + 1,
            next_poll_at=next_poll_at,
            last_problem=problem[:200],
            last_problem_at=now,
        )
    )


# --- account claims ----------------------------------------------------------------------------


def save_request(
    conn: Connection, guild_id: int, discord_user_id: int, username: str, now: datetime
) -> None:
    """Record (or replace) the member's request to be linked to ``username``."""
    stmt = insert_for(conn, shuffle_link_requests).values(
        guild_id=guild_id, discord_user_id=discord_user_id, username=username, requested_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["guild_id", "discord_user_id"],
            set_={"username": username, "requested_at": now},
        )
    )


def find_request(conn: Connection, guild_id: int, discord_user_id: int) -> LinkRequest | None:
    r = shuffle_link_requests.c
    row = conn.execute(
        sa.select(shuffle_link_requests).where(
            r.guild_id == guild_id, r.discord_user_id == discord_user_id
        )
    ).first()
    return None if row is None else LinkRequest(row.discord_user_id, row.username, row.requested_at)


def delete_request(conn: Connection, guild_id: int, discord_user_id: int) -> None:
    r = shuffle_link_requests.c
    conn.execute(
        sa.delete(shuffle_link_requests).where(
            r.guild_id == guild_id, r.discord_user_id == discord_user_id
        )
    )


def list_requests(conn: Connection, guild_id: int, limit: int = 25) -> list[LinkRequest]:
    r = shuffle_link_requests.c
    query = (
        sa.select(shuffle_link_requests)
        .where(r.guild_id == guild_id)
        .order_by(r.requested_at, r.discord_user_id)
        .limit(limit)
    )
    return [
        LinkRequest(row.discord_user_id, row.username, row.requested_at)
        for row in conn.execute(query)
    ]


def count_requests(conn: Connection, guild_id: int) -> int:
    query = sa.select(sa.func.count()).where(shuffle_link_requests.c.guild_id == guild_id)
    return conn.execute(query).scalar_one()


def find_link_by_account(conn: Connection, guild_id: int, account_key: str) -> ShuffleLink | None:
    return _find_link(conn, guild_id, shuffle_links.c.account_key == account_key)


def find_link_by_member(
    conn: Connection, guild_id: int, discord_user_id: int
) -> ShuffleLink | None:
    return _find_link(conn, guild_id, shuffle_links.c.discord_user_id == discord_user_id)


def _find_link(
    conn: Connection, guild_id: int, condition: sa.ColumnElement[bool]
) -> ShuffleLink | None:
    query = sa.select(shuffle_links).where(shuffle_links.c.guild_id == guild_id, condition)
    row = conn.execute(query).first()
    return None if row is None else _link(row)


def save_link(conn: Connection, guild_id: int, link: ShuffleLink) -> bool:
    """Insert the link; False when the account or the member is linked already (a race)."""
    stmt = (
        insert_for(conn, shuffle_links)
        .values(
            guild_id=guild_id,
            account_key=link.account_key,
            username=link.username,
            discord_user_id=link.discord_user_id,
            verified_by=link.verified_by,
            verified_at=link.verified_at,
        )
        .on_conflict_do_nothing()
        .returning(shuffle_links.c.account_key)
    )
    return conn.execute(stmt).first() is not None


def delete_link_of_member(conn: Connection, guild_id: int, discord_user_id: int) -> None:
    s = shuffle_links.c
    conn.execute(
        sa.delete(shuffle_links).where(s.guild_id == guild_id, s.discord_user_id == discord_user_id)
    )


def list_links(conn: Connection, guild_id: int) -> list[ShuffleLink]:
    query = (
        sa.select(shuffle_links)
        .where(shuffle_links.c.guild_id == guild_id)
        .order_by(shuffle_links.c.account_key)
    )
    return [_link(row) for row in conn.execute(query)]


# --- totals, baselines and progress ----------------------------------------------------------


def load_totals(conn: Connection, guild_id: int) -> dict[str, Total]:
    query = sa.select(shuffle_wager_totals).where(shuffle_wager_totals.c.guild_id == guild_id)
    return {
        row.account_key: Total(row.username, row.total_cents, row.seen_at)
        for row in conn.execute(query)
    }


def save_totals(
    conn: Connection, guild_id: int, totals: Mapping[str, Total], now: datetime
) -> None:
    """Store each account's total as read at ``now``, unless a later reading is stored."""
    if not totals:
        return
    stmt = insert_for(conn, shuffle_wager_totals)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["guild_id", "account_key"],
            set_={
                "username": stmt.excluded.username,
                "total_cents": stmt.excluded.total_cents,
                "seen_at": stmt.excluded.seen_at,
            },
            # An older reading (a poll that read Shuffle earlier and commits later) never
            # replaces a newer one.
            where=shuffle_wager_totals.c.seen_at <= stmt.excluded.seen_at,
        ),
        [
            {
                "guild_id": guild_id,
                "account_key": key,
                "username": total.username,
                "total_cents": total.cents,
                "seen_at": now,
            }
            for key, total in totals.items()
        ],
    )


def claim_baseline(conn: Connection, guild_id: int, period_id: int, now: datetime) -> bool:
    """Mark ``now`` as the period's baseline poll; False when an earlier poll already was."""
    stmt = (
        insert_for(conn, shuffle_wager_periods)
        .values(guild_id=guild_id, period_id=period_id, baseline_at=now)
        .on_conflict_do_nothing()
        .returning(shuffle_wager_periods.c.period_id)
    )
    return conn.execute(stmt).first() is not None


def forget_baseline(conn: Connection, guild_id: int, period_id: int) -> None:
    """Let the period's next poll take the baseline again (for accounts not counted yet)."""
    p = shuffle_wager_periods.c
    conn.execute(
        sa.delete(shuffle_wager_periods).where(p.guild_id == guild_id, p.period_id == period_id)
    )


def find_baseline_at(conn: Connection, guild_id: int, period_id: int) -> datetime | None:
    p = shuffle_wager_periods.c
    query = sa.select(p.baseline_at).where(p.guild_id == guild_id, p.period_id == period_id)
    return conn.execute(query).scalar_one_or_none()


def load_progress(conn: Connection, guild_id: int, period_id: int) -> dict[str, Progress]:
    p = shuffle_wager_progress.c
    query = sa.select(shuffle_wager_progress).where(
        p.guild_id == guild_id, p.period_id == period_id
    )
    return {
        row.account_key: Progress(row.account_key, row.baseline_cents, row.tickets_given)
        for row in conn.execute(query)
    }


def insert_progress(
    conn: Connection,
    guild_id: int,
    period_id: int,
    baselines: Iterable[tuple[str, int]],
    now: datetime,
) -> None:
    """Start counting these accounts from their baseline; an account already counted keeps
    its row (another poller got there first)."""
    rows = [
        {
            "period_id": period_id,
            "account_key": key,
            "guild_id": guild_id,
            "baseline_cents": cents,
            "tickets_given": 0,
            "updated_at": now,
        }
        for key, cents in baselines
    ]
    if rows:
        conn.execute(insert_for(conn, shuffle_wager_progress).on_conflict_do_nothing(), rows)


def advance_tickets(
    conn: Connection, period_id: int, account_key: str, given: int, now_given: int, now: datetime
) -> bool:
    """Move the account's tickets given from ``given`` to ``now_given``; False when another
    poll moved it first (the row no longer says ``given``), in which case nothing changes."""
    p = shuffle_wager_progress.c
    stmt = (
        sa.update(shuffle_wager_progress)
        .where(p.period_id == period_id, p.account_key == account_key, p.tickets_given == given)
        .values(tickets_given=now_given, updated_at=now)
        .returning(p.account_key)
    )
    return conn.execute(stmt).first() is not None


def _settings(row: sa.Row) -> ShuffleSettingsRow:
    return ShuffleSettingsRow(
        guild_id=row.guild_id,
        affiliate_url=row.affiliate_url,
        campaign_codes=tuple(code for code in row.campaign_codes.split(",") if code),
        verified_role_id=row.verified_role_id,
        poll_failures=row.poll_failures,
        next_poll_at=row.next_poll_at,
        last_success_at=row.last_success_at,
        last_problem=row.last_problem,
        last_problem_at=row.last_problem_at,
    )


def _link(row: sa.Row) -> ShuffleLink:
    return ShuffleLink(
        row.account_key, row.username, row.discord_user_id, row.verified_by, row.verified_at
    )
