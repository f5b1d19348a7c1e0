"""What every sign-in keeps between its start and its callback: the single-use OAuth states (each
bound to the browser that started it) and the signed start links already used. Kick's and
Twitch's sign-ins share both tables; a state records its purpose, so one platform's callback never
consumes the other's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.connections.tables import oauth_states, used_links
from core.storage.db import insert_if_absent

_STATE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


@dataclass(frozen=True)
class PendingState:
    purpose: str
    guild_id: int
    discord_user_id: int
    code_verifier: str  # encrypted
    browser_hash: str | None = None  # SHA-256 hex of the browser-binding cookie


# --- OAuth states ------------------------------------------------------------------------------


def create_state(
    conn: Connection, state: str, pending: PendingState, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        sa.insert(oauth_states).values(
            state=state,
            purpose=pending.purpose,
            guild_id=pending.guild_id,
            discord_user_id=pending.discord_user_id,
            code_verifier=pending.code_verifier,
            browser_hash=pending.browser_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


def consume_state(
    conn: Connection, state: str, now: datetime, *, purposes: tuple[str, ...] | None = None
) -> PendingState | None:
    """Use ``state`` once: the pending request if it is unused, unexpired and (with
    ``purposes``) started for one of them, else None. A state of another platform's flow is
    left alone, so a Kick callback cannot burn a Twitch state or the other way round."""
    if not _STATE_SHAPE.match(state):
        # Not a state we made (ours are URL-safe base64): nothing to look up, and a NUL or
        # an overlong value never reaches the database (PostgreSQL refuses NULs in text).
        return None
    conditions = [
        oauth_states.c.state == state,
        oauth_states.c.used_at.is_(None),
        oauth_states.c.expires_at > now,
    ]
    if purposes is not None:
        conditions.append(oauth_states.c.purpose.in_(purposes))
    claimed = conn.execute(
        sa.update(oauth_states)
        .where(*conditions)
        .values(used_at=now)
        .returning(
            oauth_states.c.purpose,
            oauth_states.c.guild_id,
            oauth_states.c.discord_user_id,
            oauth_states.c.code_verifier,
            oauth_states.c.browser_hash,
        )
    ).first()
    if claimed is None:
        return None
    return PendingState(
        claimed.purpose,
        claimed.guild_id,
        claimed.discord_user_id,
        claimed.code_verifier,
        claimed.browser_hash,
    )


def find_used_state(
    conn: Connection, state: str, *, purposes: tuple[str, ...]
) -> PendingState | None:
    """The pending request of ``state`` when it was used already (kept for a day after it
    expired: ``forget_states_before``), started for one of ``purposes``; else None."""
    if not _STATE_SHAPE.match(state):
        return None
    row = conn.execute(
        sa.select(oauth_states).where(
            oauth_states.c.state == state,
            oauth_states.c.used_at.is_not(None),
            oauth_states.c.purpose.in_(purposes),
        )
    ).first()
    if row is None:
        return None
    return PendingState(
        row.purpose, row.guild_id, row.discord_user_id, row.code_verifier, row.browser_hash
    )


def forget_states_before(conn: Connection, before: datetime) -> None:
    conn.execute(sa.delete(oauth_states).where(oauth_states.c.expires_at < before))


# --- used start links ----------------------------------------------------------------------


def claim_link(
    conn: Connection,
    link_id: str,
    *,
    purpose: str,
    guild_id: int,
    discord_user_id: int,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Mark a signed start link as used; False when it was used before."""
    row = {
        "link_id": link_id,
        "purpose": purpose,
        "guild_id": guild_id,
        "discord_user_id": discord_user_id,
        "used_at": now,
        "expires_at": expires_at,
    }
    return insert_if_absent(conn, used_links, row)


def is_link_used(conn: Connection, link_id: str) -> bool:
    query = sa.select(used_links.c.link_id).where(used_links.c.link_id == link_id)
    return conn.execute(query).first() is not None


def forget_links_expired_before(conn: Connection, before: datetime) -> None:
    """Drop used links that expired: their signature check refuses them anyway."""
    conn.execute(sa.delete(used_links).where(used_links.c.expires_at < before))
