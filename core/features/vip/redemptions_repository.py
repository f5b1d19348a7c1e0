"""Temporary VIP SQL for processed redemptions: each one claimed once per guild, platform and
redemption id, leased to the delivery asking Twitch (for as long as its process lives, see
``core/ownership/claims.py``), and moved through its states by compare-and-set in the
transaction of what it decided."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.vip.tables import vip_redemptions
from core.ownership import claims
from core.storage.db import insert_if_absent

# Redemption states
ADDING = "adding"  # recorded before Twitch is asked; a retry resumes from here
DONE = "done"
IN_FLIGHT = "in_flight"  # (not stored) "adding", leased to another delivery right now


def claim_redemption(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    redemption_id: str,
    at: datetime,
    lease_until: datetime,
    *,
    holder: str | None = None,
    alive_at: datetime | None = None,
) -> tuple[str, str | None] | None:
    """Record the redemption as being handled, leased to this delivery until ``lease_until``
    or, with ``holder`` (a process whose heartbeat lease is renewed), until that process dies.

    None for a new one. Else its (state, outcome): an "adding" one whose lease ended (its
    delivery failed, or its process stopped or died: its heartbeat ran out by the wall clock's
    ``alive_at``, default ``at``) is leased to this delivery and answers ADDING; one still
    leased to another delivery answers IN_FLIGHT."""
    lease = {"leased_until": lease_until, "leased_by": holder}
    inserted = insert_if_absent(
        conn,
        vip_redemptions,
        {
            "guild_id": guild_id,
            "platform": platform.value,
            "redemption_id": redemption_id,
            "state": ADDING,
            "recorded_at": at,
            **lease,
        },
    )
    if inserted:
        return None
    r = vip_redemptions.c
    taken = conn.execute(
        vip_redemptions.update()
        .where(
            _redemption(guild_id, platform, redemption_id),
            r.state == ADDING,
            claims.is_free(r.leased_by, r.leased_until, at, alive_at or at),
        )
        .values(**lease)
        .returning(r.redemption_id)
    ).first()
    if taken is not None:
        return ADDING, None
    state, outcome = redemption_state(conn, guild_id, platform, redemption_id)
    return (IN_FLIGHT, None) if state == ADDING else (state, outcome)


def end_lease(conn: Connection, guild_id: int, platform: Platform, redemption_id: str) -> None:
    """This delivery stopped asking Twitch: a later one may take the redemption over."""
    conn.execute(
        vip_redemptions.update()
        .where(_redemption(guild_id, platform, redemption_id))
        .values(leased_until=None, leased_by=None)
    )


def _redemption(guild_id: int, platform: Platform, redemption_id: str) -> Any:
    return sa.and_(
        vip_redemptions.c.guild_id == guild_id,
        vip_redemptions.c.platform == platform.value,
        vip_redemptions.c.redemption_id == redemption_id,
    )


def move_redemption(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    redemption_id: str,
    state: str,
    outcome: str | None,
) -> bool:
    """Move it from ``adding`` to ``state``; False when another delivery moved it first."""
    result = conn.execute(
        vip_redemptions.update()
        .where(_redemption(guild_id, platform, redemption_id), vip_redemptions.c.state == ADDING)
        .values(state=state, outcome=None if outcome is None else outcome[:200])
        .returning(vip_redemptions.c.redemption_id)
    )
    return result.first() is not None


def release_redemption(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str
) -> None:
    """Forget a claim whose attempt surely changed nothing on Twitch, so the next attempt is a
    first one (and Twitch's "already a VIP" then means someone else's VIP)."""
    conn.execute(
        vip_redemptions.delete().where(
            _redemption(guild_id, platform, redemption_id), vip_redemptions.c.state == ADDING
        )
    )


def redemption_state(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str
) -> tuple[str, str | None]:
    row = conn.execute(
        sa.select(vip_redemptions.c.state, vip_redemptions.c.outcome).where(
            _redemption(guild_id, platform, redemption_id)
        )
    ).one()
    return row.state, row.outcome


def finish_redemption(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str
) -> bool:
    """Mark it done; False when another delivery finished it first."""
    result = conn.execute(
        vip_redemptions.update()
        .where(_redemption(guild_id, platform, redemption_id), vip_redemptions.c.state != DONE)
        .values(state=DONE)
        .returning(vip_redemptions.c.redemption_id)
    )
    return result.first() is not None


def note_settled_elsewhere(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str, outcome: str
) -> bool:
    """Mark a granted redemption done with ``outcome`` (Twitch says it was canceled elsewhere);
    False when it already has an outcome (a refusal of ours, or this note made before)."""
    result = conn.execute(
        vip_redemptions.update()
        .where(
            _redemption(guild_id, platform, redemption_id),
            vip_redemptions.c.state.in_(("granted", DONE)),
            vip_redemptions.c.outcome.is_(None),
        )
        .values(state=DONE, outcome=outcome[:200])
        .returning(vip_redemptions.c.redemption_id)
    )
    return result.first() is not None
