"""The dashboard's session, CSRF tokens, rate limits, permission cache and response headers.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind https, expiring
after ``session_hours``); the user's Discord token rides in it encrypted (Fernet, a key derived
from the secret), so any web worker can re-check permissions. Rate limits are kept in Redis when
the deployment has it (``RedisRateLimiter``: one limit for every web process), else per process
in memory; the permission cache is per process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis
from cryptography.fernet import Fernet, InvalidToken
from flask import Response, has_request_context, request, session

from core.security.compare import same_secret
from core.web.dashboard.redis_counts import RedisPause, key_digest

log = logging.getLogger(__name__)

# Redis keys of this module: one sorted set of hit times per limit and client, gone after a
# window without hits.
RATE_LIMIT_PREFIX = "sk:ratelimit:"

# Pages: scripts and styles from this site only; no inline script or style, no framing; images
# from here. A signed-in user's pages (under /dashboard/) also show servers' icons and members'
# pictures from Discord's CDN (guilds.CDN); the public pages and sign-in load nothing from
# another origin.
_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{icons}; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DASHBOARD_POLICY = _POLICY.format(icons="")
SIGNED_IN_POLICY = _POLICY.format(icons=" https://cdn.discordapp.com")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def add_dashboard_headers(response: Response) -> Response:
    signed_in = has_request_context() and request.path.startswith("/dashboard/")
    response.headers["Content-Security-Policy"] = (
        SIGNED_IN_POLICY if signed_in else DASHBOARD_POLICY
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


class TokenBox:
    """Encrypts the user's Discord token for the session cookie; refuses it after ``ttl``."""

    def __init__(
        self, secret: str, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        key = hmac.new(secret.encode(), b"streamkeeper dashboard token", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self.ttl = ttl_seconds
        self.clock = clock

    def seal(self, token: str) -> str:
        return self._fernet.encrypt_at_time(token.encode(), int(self.clock())).decode()

    def open(self, sealed: object) -> str | None:
        if not isinstance(sealed, str):
            return None
        try:
            return self._fernet.decrypt_at_time(
                sealed.encode(), self.ttl, int(self.clock())
            ).decode()
        except (InvalidToken, ValueError):
            return None


def csrf_token() -> str:
    """This browser's CSRF token (made on first use, kept in the signed session)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return isinstance(expected, str) and same_secret(expected, sent)


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (a sliding window, in memory)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            if len(self._hits) > 10_000:  # forget idle keys rather than grow without bound
                self._hits = {
                    k: v for k, v in self._hits.items() if v and v[-1] > now - self.window
                }
            hits = [t for t in self._hits.get(key, []) if t > now - self.window]
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(now)
            self._hits[key] = hits
            return allowed


class Limiter(Protocol):
    def allow(self, key: str) -> bool: ...


# A sliding window in one step, so concurrent web processes cannot both take the last hit.
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return 1
"""


class RedisRateLimiter:
    """:class:`RateLimiter` shared by every web process through Redis. While Redis does not
    answer, each process falls back to its own limit in memory (logged), never to no limit;
    after a failure it leaves Redis alone for a while (:class:`RedisPause`)."""

    def __init__(
        self,
        client: redis.Redis,
        name: str,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.time,  # wall clock: every process must agree
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.name = name
        self.limit = limit
        self.window = window
        self.clock = clock
        self._script = client.register_script(_SLIDING_WINDOW)
        self._fallback = RateLimiter(limit, window, monotonic)
        self._pause = RedisPause(log, f"rate limit {name}", monotonic)

    def allow(self, key: str) -> bool:
        if self._pause.active:
            return self._fallback.allow(key)
        redis_key = f"{RATE_LIMIT_PREFIX}{self.name}:{key_digest(key)}"
        try:
            allowed = self._script(
                keys=[redis_key],
                args=[self.clock(), self.window, self.limit, secrets.token_hex(8)],
            )
        except redis.RedisError as exc:
            self._pause.failed(exc, "counted per process")
            return self._fallback.allow(key)
        return bool(allowed)


def rate_limiter(client: redis.Redis | None, name: str, limit: int, window: float) -> Limiter:
    """In Redis when the deployment has it, else in this process's memory."""
    if client is None:
        return RateLimiter(limit, window)
    return RedisRateLimiter(client, name, limit, window)


class PermissionCache:
    """Whether a user may manage a guild, as Discord said a few minutes ago (per process)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._entries: dict[tuple[int, int], tuple[bool, float]] = {}  # -> (may, when asked)
        self._lock = threading.Lock()

    def get(self, user_id: int, guild_id: int, max_age: float | None = None) -> bool | None:
        """What Discord said, when it said it less than ``ttl`` (or ``max_age``, when shorter)
        seconds ago; else None (ask again)."""
        with self._lock:
            entry = self._entries.get((user_id, guild_id))
        age = self.ttl if max_age is None else min(self.ttl, max_age)
        if entry is None or entry[1] + age <= self.clock():
            return None
        return entry[0]

    def put_all(self, user_id: int, manageable: set[int], asked: int | None = None) -> None:
        now = self.clock()
        with self._lock:
            if len(self._entries) > 50_000:
                self._entries = {k: v for k, v in self._entries.items() if v[1] + self.ttl > now}
            for guild_id in manageable:
                self._entries[(user_id, guild_id)] = (True, now)
            if asked is not None and asked not in manageable:
                self._entries[(user_id, asked)] = (False, now)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == user_id]:
                del self._entries[key]
