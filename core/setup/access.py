"""Who may open the setup page: a one-time token the process makes at start and logs once.

The token opens the page in one browser: the first request that brings it uses it up (the web
side then keeps that browser in by a short-lived signed cookie), so a copy of the log line is
worth nothing afterwards. Each process makes its own token (several web workers: each has one;
the one in the log is the logging process's). A request from this machine itself needs no
token (``is_direct_loopback`` in core/web/setup/__init__.py says when a request counts as
one).
"""

from __future__ import annotations

import secrets
import threading

from core.security.compare import same_secret


class SetupToken:
    def __init__(self, value: str | None = None) -> None:
        self._value = value or secrets.token_urlsafe(24)
        # Marks this process's cookies: a cookie from before a restart opens nothing.
        self.process_mark = secrets.token_hex(8)
        self._used = False
        self._lock = threading.Lock()

    @property
    def value(self) -> str:
        """For the one log line at start ("Set up StreamKeeper in your browser: ...")."""
        return self._value

    def redeem(self, candidate: str | None) -> bool:
        """True once: for the first request bringing the token. Compared in constant time."""
        if not candidate:
            return False
        matches = same_secret(self._value, candidate)
        with self._lock:
            if not matches or self._used:
                return False
            self._used = True
            return True

    @property
    def is_used(self) -> bool:
        return self._used
