"""Dashboard sessions kept on the server.

A sign-in gets a random session id (256 bits) that rides in the signed cookie; the database
keeps its SHA-256, the user and when it expires. Every request asks whether the id is still
live, so a logout (which deletes the row) ends the session everywhere: a copy of the cookie
taken before stops working at once, in every web process.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.web_sessions import repository


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class WebSessions:
    """Sessions in the database (every web process sees the same ones)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def start(self, user_id: int, lifetime: timedelta) -> str:
        """A new session for ``user_id``; returns its id (for the cookie only)."""
        session_id = secrets.token_urlsafe(32)
        now = utc(self.clock())
        with self.engine.begin() as conn:
            repository.delete_expired_sessions(conn, now)  # the table holds live ones only
            repository.add_session(conn, _hash(session_id), user_id, now, now + lifetime)
        return session_id

    def is_live(self, session_id: object, user_id: int) -> bool:
        if not isinstance(session_id, str) or not 20 <= len(session_id) <= 100:
            return False
        with self.engine.connect() as conn:
            return repository.is_session_live(conn, _hash(session_id), user_id, utc(self.clock()))

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str) and len(session_id) <= 100:
            with self.engine.begin() as conn:
                repository.end_session(conn, _hash(session_id))


class MemorySessions:
    """The same in one process's memory: for a dashboard built without the database (its own
    tests); the runtime always hands the dashboard :class:`WebSessions`."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._live: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def start(self, user_id: int, lifetime: timedelta) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._live[_hash(session_id)] = (user_id, utc(self.clock()) + lifetime)
        return session_id

    def is_live(self, session_id: object, user_id: int) -> bool:
        if not isinstance(session_id, str):
            return False
        with self._lock:
            entry = self._live.get(_hash(session_id))
        return entry is not None and entry[0] == user_id and entry[1] > utc(self.clock())

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str):
            with self._lock:
                self._live.pop(_hash(session_id), None)
