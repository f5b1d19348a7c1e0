"""The keys a Kick webhook's signature is checked with, and the check of a key Kick publishes.

Kick signs every delivery with one RSA key and publishes its public half at
``GET /public/v1/public-key``. The receiver holds the key it starts with (the operator's
``KICK_WEBHOOK_PUBLIC_KEY``, or the copy bundled with StreamKeeper) and, unless the operator set
one, the key the bot last fetched from Kick (``core/features/connections/kick/public_key.py``
stores it in the database, which every web process reads). The stored key is read only when no
key held verifies a delivery, and at most once per :data:`LOOK_UP_EVERY` in a process: a
genuine delivery costs no database read, and a flood of forged ones at most one a minute. When
even that read brings no key that verifies, the process asks the bot to fetch Kick's key again
soon (``on_unverified``): Kick may have rotated it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from core.platforms.kick.webhook import WebhookHeaders, verify_signature

log = logging.getLogger(__name__)

LOOK_UP_EVERY = timedelta(seconds=60)
MIN_KEY_BITS = 2048  # Kick's key is RSA-2048; anything weaker is no key of Kick's
MAX_KEY_BITS = 8192  # past this a key costs more to check than any delivery is worth
MAX_PEM_CHARS = 8 * 1024  # an RSA-8192 public key in PEM is about 1.5 KiB
KEPT_FETCHED = 2  # the newest fetched key and the one before it (deliveries in flight)


def checked_public_key(pem: str) -> tuple[str, RSAPublicKey]:
    """``pem`` as Kick's webhook key: its canonical PEM text (SubjectPublicKeyInfo) and the key.
    Raises ``ValueError`` with a short reason unless it is one RSA public key of
    :data:`MIN_KEY_BITS` to :data:`MAX_KEY_BITS` bits."""
    if not isinstance(pem, str) or not pem.strip():
        raise ValueError("no key")
    if len(pem) > MAX_PEM_CHARS:
        raise ValueError(f"over {MAX_PEM_CHARS:,} characters")
    text = pem.strip()
    if "\n" not in text and "\\n" in text:
        text = text.replace("\\n", "\n")
    try:
        key = serialization.load_pem_public_key(text.encode(errors="replace"))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not an RSA public key")
    if not MIN_KEY_BITS <= key.key_size <= MAX_KEY_BITS:
        raise ValueError(f"an RSA key of {key.key_size} bits, not {MIN_KEY_BITS} to {MAX_KEY_BITS}")
    return canonical_pem(key), key


def canonical_pem(key: RSAPublicKey) -> str:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode()


class WebhookKeys:
    """``held``: the keys a delivery is checked with first. ``look_up``: the fetched key's PEM
    (None when none was fetched yet), read when no held or fetched key verifies a delivery and
    ``every`` has passed on ``clock`` since the last read; None: no key but ``held`` (the
    operator's own). ``on_unverified``: called after such a read brought no key that verifies
    the delivery. Thread-safe: the web server checks deliveries on many threads."""

    def __init__(
        self,
        held: Sequence[RSAPublicKey],
        *,
        look_up: Callable[[], str | None] | None = None,
        on_unverified: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime],
        every: timedelta = LOOK_UP_EVERY,
    ) -> None:
        self._held = tuple(held)
        self._held_pems = frozenset(canonical_pem(key) for key in held)
        self._look_up = look_up
        self._on_unverified = on_unverified
        self._clock = clock
        self._every = every
        self._lock = threading.Lock()
        self._looked_up_at: datetime | None = None
        # Fetched keys not held already, newest first (checked before the held ones: after a
        # rotation the newest is the one Kick signs with).
        self._fetched: tuple[tuple[str, RSAPublicKey], ...] = ()

    @property
    def fetches(self) -> bool:
        """Whether keys fetched from Kick are accepted (no key set by the operator)."""
        return self._look_up is not None

    def verify(self, headers: WebhookHeaders, raw_body: bytes) -> bool:
        """Whether a key held, fetched or (when none of those verifies) newly looked up signed
        this delivery. Never raises."""
        keys = [key for _pem, key in self._fetched] + list(self._held)
        if any(verify_signature(key, headers, raw_body) for key in keys):
            return True
        if not self._is_look_up_due():
            return False
        fresh = self._new_fetched_key()
        if fresh is not None and verify_signature(fresh, headers, raw_body):
            return True
        try:
            self._on_unverified()
        except Exception as exc:
            log.warning("could not ask for Kick's webhook key again: %s", type(exc).__name__)
        return False

    def _is_look_up_due(self) -> bool:
        """Whether to read the store now (at most once per ``every``); notes the read."""
        if self._look_up is None:
            return False
        with self._lock:
            now, last = self._clock(), self._looked_up_at
            # A clock set back counts as time passed: a lookup is never held off for long.
            if last is not None and last <= now < last + self._every:
                return False
            self._looked_up_at = now
        return True

    def _new_fetched_key(self) -> RSAPublicKey | None:
        """The stored fetched key if it is new to this process."""
        if self._look_up is None:
            return None
        try:
            stored = self._look_up()
        except Exception as exc:
            log.warning("could not read Kick's fetched webhook key: %s", type(exc).__name__)
            return None
        if stored is None:
            return None
        try:
            pem, key = checked_public_key(stored)
        except ValueError as exc:
            log.warning("the stored Kick webhook key is unusable (%s); ignored", exc)
            return None
        with self._lock:
            if pem in self._held_pems or any(pem == known for known, _ in self._fetched):
                return None
            self._fetched = ((pem, key), *self._fetched)[:KEPT_FETCHED]
        log.info("Kick's webhook key fetched from Kick is now accepted here")
        return key


__all__ = [
    "LOOK_UP_EVERY",
    "MAX_KEY_BITS",
    "MIN_KEY_BITS",
    "WebhookKeys",
    "canonical_pem",
    "checked_public_key",
]
