"""SQL of the dashboard's sessions: add one, ask whether one is live, end one, drop expired."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.web_sessions.tables import web_sessions


def add_session(
    conn: Connection, id_hash: str, user_id: int, started_at: datetime, expires_at: datetime
) -> None:
    conn.execute(
        sa.insert(web_sessions).values(
            id_hash=id_hash, user_id=user_id, started_at=started_at, expires_at=expires_at
        )
    )


def is_session_live(conn: Connection, id_hash: str, user_id: int, now: datetime) -> bool:
    query = sa.select(sa.literal(1)).where(
        web_sessions.c.id_hash == id_hash,
        web_sessions.c.user_id == user_id,
        web_sessions.c.expires_at > now,
    )
    return conn.execute(query).first() is not None


def end_session(conn: Connection, id_hash: str) -> int:
    return conn.execute(sa.delete(web_sessions).where(web_sessions.c.id_hash == id_hash)).rowcount


def delete_expired_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(sa.delete(web_sessions).where(web_sessions.c.expires_at <= now)).rowcount
