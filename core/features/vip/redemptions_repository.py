"""Temporary VIP SQL for processed redemptions: each one claimed once per guild, platform and
redemption id, leased to the delivery asking Twitch (for as long as its process lives, see
``core/ownership/claims.py``), and moved through its states by compare-and-set in the
transaction of what it decided."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, RewardRedeemed
from core.features.vip.tables import vip_redemptions
from core.ownership import claims
from core.storage.db import insert_if_absent

# Redemption states
ADDING = "adding"  # recorded before Twitch is asked; a retry resumes from here
DONE = "done"
# Arrived while the guild's Twitch connection needed re-authorization: Twitch was not asked; it
# is handled when the streamer connects again (its outcome WAS_ADDING: an earlier attempt may
# have reached Twitch, so "already a VIP" then is our own grant).
WAITING = "waiting"
WAS_ADDING = "was_adding"
# A "was_adding" one Twitch no longer listed when the streamer connected again: closed, and the
# cancel's update (which names the viewer) looks on Twitch for the VIP that attempt may have added.
SETTLED_AFTER_ADDING = "settled on Twitch while waiting, after an attempt that may have added"
IN_FLIGHT = "in_flight"  # (not stored) "adding", leased to another delivery right now
# How long a rule's grant (rule_grants.py) is held by the delivery asking Twitch or Discord: the
# longest one call may take (the outbox worker gives a call 60 s).
RULE_LEASE = timedelta(minutes=2)


def redemption_key(event: RewardRedeemed) -> str:
    """The redemption's own id: the same whichever transport or status update brought it (its
    event id adds the status), and what Helix names it by."""
    return event.redemption_id or event.event_id


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

    None for a new one, and for a "waiting" one (taken back to "adding", leased). Else its
    (state, outcome): an "adding" one whose lease ended (its delivery failed, or its process
    stopped or died: its heartbeat ran out by the wall clock's ``alive_at``, default ``at``),
    or a waiting one that was adding before, is leased to this delivery and answers ADDING;
    one still leased to another delivery answers IN_FLIGHT."""
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
    waited = conn.execute(
        sa.select(r.outcome).where(
            _redemption(guild_id, platform, redemption_id), r.state == WAITING
        )
    ).first()
    if waited is not None:
        taken = conn.execute(
            vip_redemptions.update()
            .where(_redemption(guild_id, platform, redemption_id), r.state == WAITING)
            .values(state=ADDING, outcome=None, **lease)
            .returning(r.redemption_id)
        ).first()
        if taken is not None:
            return (ADDING, None) if waited.outcome == WAS_ADDING else None
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


def redemption_recorded_at(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str
) -> datetime | None:
    """When the redemption was first claimed (its first Add VIP came after), or None."""
    return conn.execute(
        sa.select(vip_redemptions.c.recorded_at).where(
            _redemption(guild_id, platform, redemption_id)
        )
    ).scalar_one_or_none()


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


def wait_for_connection(
    conn: Connection, guild_id: int, event: RewardRedeemed, *, was_adding: bool
) -> None:
    """Park a claimed ("adding") redemption until the streamer connects Twitch again: Twitch
    was not asked. ``was_adding``: an earlier attempt may have reached Twitch. Its reward and
    viewer are kept with it (its reward may be deleted on Twitch meanwhile)."""
    r = vip_redemptions.c
    conn.execute(
        vip_redemptions.update()
        .where(_redemption(guild_id, event.platform, redemption_key(event)), r.state == ADDING)
        .values(
            state=WAITING,
            outcome=WAS_ADDING if was_adding else None,
            leased_until=None,
            leased_by=None,
            reward_id=event.reward_id,
            platform_user_id=event.viewer.platform_user_id,
            username=event.viewer.username[:100],
        )
    )


@dataclass(frozen=True)
class Waiting:
    redemption_id: str
    reward_id: str | None  # None: parked before its reward was kept (0050)
    platform_user_id: str | None
    username: str | None
    was_adding: bool  # an earlier attempt may have reached Twitch (WAS_ADDING)


def list_waiting(conn: Connection, guild_id: int, platform: Platform) -> list[Waiting]:
    r = vip_redemptions.c
    query = (
        sa.select(r.redemption_id, r.reward_id, r.platform_user_id, r.username, r.outcome)
        .where(r.guild_id == guild_id, r.platform == platform.value, r.state == WAITING)
        .order_by(r.recorded_at, r.redemption_id)
    )
    return [Waiting(*row[:4], was_adding=row.outcome == WAS_ADDING) for row in conn.execute(query)]


def settle_waiting(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str, outcome: str
) -> bool:
    """A waiting redemption Twitch no longer lists as UNFULFILLED (settled in the reward queue
    meanwhile): done, with ``outcome``, or ``SETTLED_AFTER_ADDING`` when an earlier attempt may
    have added the VIP. False when it no longer waits."""
    r = vip_redemptions.c
    result = conn.execute(
        vip_redemptions.update()
        .where(_redemption(guild_id, platform, redemption_id), r.state == WAITING)
        .values(
            state=DONE,
            outcome=sa.case((r.outcome == WAS_ADDING, SETTLED_AFTER_ADDING), else_=outcome[:200]),
        )
        .returning(r.redemption_id)
    )
    return result.first() is not None


def find_redemption(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str
) -> tuple[str, str | None] | None:
    """Its (state, outcome), None when it was never seen; read only, nothing claimed."""
    row = conn.execute(
        sa.select(vip_redemptions.c.state, vip_redemptions.c.outcome).where(
            _redemption(guild_id, platform, redemption_id)
        )
    ).first()
    return None if row is None else (row.state, row.outcome)


def record_settled(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    redemption_id: str,
    outcome: str,
    at: datetime,
) -> bool:
    """Record a redemption never seen as done with ``outcome`` (settled on Twitch before we
    handled it); False when it was recorded meanwhile."""
    return insert_if_absent(
        conn,
        vip_redemptions,
        {
            "guild_id": guild_id,
            "platform": platform.value,
            "redemption_id": redemption_id,
            "state": DONE,
            "outcome": outcome[:200],
            "recorded_at": at,
        },
    )


def close_settled(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    redemption_id: str,
    was: tuple[str, str | None],
    outcome: str,
) -> bool:
    """Move it from the (state, outcome) ``was`` to done with ``outcome``; False when it is no
    longer there (another delivery moved it first)."""
    r = vip_redemptions.c
    state, before = was
    result = conn.execute(
        vip_redemptions.update()
        .where(
            _redemption(guild_id, platform, redemption_id),
            r.state == state,
            r.outcome.is_(None) if before is None else r.outcome == before,
        )
        .values(state=DONE, outcome=outcome[:200], leased_until=None, leased_by=None)
        .returning(r.redemption_id)
    )
    return result.first() is not None


def keep_untold(
    conn: Connection, guild_id: int, platform: Platform, redemption_id: str, notice: str
) -> None:
    """The refund's chat line could not be said (the connection needs re-authorization)."""
    conn.execute(
        vip_redemptions.update()
        .where(_redemption(guild_id, platform, redemption_id))
        .values(untold_notice=notice[:500])
    )


def untold_notices(conn: Connection, guild_id: int, platform: Platform) -> list[tuple[str, str]]:
    """The (redemption id, chat line) of the guild's refunds not told in chat, oldest first."""
    r = vip_redemptions.c
    query = (
        sa.select(r.redemption_id, r.untold_notice)
        .where(r.guild_id == guild_id, r.platform == platform.value, r.untold_notice.is_not(None))
        .order_by(r.recorded_at, r.redemption_id)
    )
    return [(row.redemption_id, row.untold_notice) for row in conn.execute(query)]


def forget_untold(conn: Connection, guild_id: int, platform: Platform, redemption_id: str) -> bool:
    """The line is being said now; False when another process took it first."""
    result = conn.execute(
        vip_redemptions.update()
        .where(
            _redemption(guild_id, platform, redemption_id),
            vip_redemptions.c.untold_notice.is_not(None),
        )
        .values(untold_notice=None)
        .returning(vip_redemptions.c.redemption_id)
    )
    return result.first() is not None


def count_waiting_and_untold(conn: Connection, guild_id: int) -> tuple[int, int]:
    """How many of the guild's redemptions wait for the streamer to connect again, and how
    many refunds were not told in chat."""
    r = vip_redemptions.c
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((r.state == WAITING, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((r.untold_notice.is_not(None), 1), else_=0)), 0),
        ).where(r.guild_id == guild_id)
    ).one()
    return int(row[0]), int(row[1])


def lock_event(conn: Connection, platform: Platform, broadcaster_user_id: str, key: str) -> None:
    """Hold, until the caller's transaction ends, the channel's lock on the event keyed ``key``
    (waiting for it): the servers following the channel record their outcomes of one event one
    at a time, each reading the others'. PostgreSQL's advisory lock; on SQLite every
    transaction holds the one writer lock already."""
    if conn.dialect.name != "postgresql":
        return
    name = f"vip-event:{platform}:{broadcaster_user_id}:{key}".encode()
    lock = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big") >> 1
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
