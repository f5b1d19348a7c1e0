"""Kick's webhook public key, fetched from Kick and shared through the database.

Kick signs its webhooks with one RSA key and publishes it at ``GET /public/v1/public-key``.
StreamKeeper bundles a copy; should Kick rotate its key, the bundled copy alone would refuse
every delivery until an upgrade. So a timed job of the bot (:meth:`KickPublicKeys.refresh_if_due`,
every :data:`CHECK_EVERY`) asks Kick for the key when none is stored, every :data:`FETCH_EVERY`,
and soon after a web process found a delivery that no key verified (:meth:`ask_soon`: Kick may
have rotated its key; at most every :data:`ASKED_FETCH_GAP`), and stores it when it is an RSA
public key of a sane size; the web processes accept it beside the bundled key
(:class:`~core.platforms.kick.webhook_keys.WebhookKeys`). A Kick that fails, hangs or answers
something else changes nothing: the last good key stays, one warning is logged, and the job
tries again after :data:`RETRY_AFTER_FAILURE`.

A key the operator set (``KICK_WEBHOOK_PUBLIC_KEY``) is the only one accepted: nothing is
fetched, so a test or a benchmark with a key of its own is never overridden by Kick's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.connections.kick import repository
from core.features.connections.kick.repository import StoredPublicKey
from core.features.connections.kick.signin import ApiFactory
from core.health import Check, unread
from core.platforms.kick.webhook_keys import checked_public_key

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=1)  # the job's rhythm: one read of the stored key
FETCH_EVERY = timedelta(hours=6)
ASKED_FETCH_GAP = timedelta(minutes=5)  # forged deliveries cannot make it fetch more often
RETRY_AFTER_FAILURE = timedelta(minutes=15)
FETCH_TIME_LIMIT_SECONDS = 60.0  # retries included: a hanging Kick holds the job no longer
CHECK_NAME = "kick key"


class KickPublicKeys:
    """``make_api``: Kick's API client (None: the operator set the key, nothing is fetched).
    ``bundled_pem``: the key the receiver holds from the start, to tell whether Kick's differs.
    ``time_limit_seconds``: how long a fetch may take, retries included."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        make_api: ApiFactory | None,
        bundled_pem: str,
        time_limit_seconds: float = FETCH_TIME_LIMIT_SECONDS,
    ) -> None:
        self.engine = engine
        self.time_limit_seconds = time_limit_seconds
        self.clock = clock
        self.make_api = make_api
        self.bundled_pem = bundled_pem
        self.is_failing = False
        self.tried_at: datetime | None = None  # this process's last fetch

    @property
    def fetches(self) -> bool:
        return self.make_api is not None

    async def refresh_if_due(self) -> bool:
        """The timed job: fetch when :meth:`is_due`; whether a good key was stored."""
        if self.make_api is None:
            return False
        found = await asyncio.to_thread(self.stored)
        if not self.is_due(found, utc(self.clock())):
            return False
        return await self.refresh()

    def is_due(self, found: StoredPublicKey | None, now: datetime) -> bool:
        """Whether to fetch now, ``found`` being the stored key: none is stored, it is
        :data:`FETCH_EVERY` old, or a web process asked for it since; never sooner than
        :data:`ASKED_FETCH_GAP` after this process's last fetch (:data:`RETRY_AFTER_FAILURE`
        after one that failed)."""
        if self.tried_at is not None:
            gap = RETRY_AFTER_FAILURE if self.is_failing else ASKED_FETCH_GAP
            if self.tried_at <= now < self.tried_at + gap:
                return False
        if found is None or self.is_failing:
            return True
        return now - found.fetched_at >= FETCH_EVERY or found.is_asked_for

    def ask_soon(self) -> None:
        """For the web side: a delivery came that no key verified; the bot fetches soon."""
        with self.engine.begin() as conn:
            repository.ask_for_public_key(conn, utc(self.clock()))

    async def refresh(self) -> bool:
        """Fetch Kick's key and store it; whether a good key was stored. Never raises: a
        failure keeps the stored key and is logged once until a fetch works again."""
        if self.make_api is None:
            return False
        self.tried_at = utc(self.clock())
        try:
            async with asyncio.timeout(self.time_limit_seconds):
                async with self.make_api() as api:
                    text = await api.get_public_key()
        except TimeoutError:
            return self._failed(f"no answer within {self.time_limit_seconds:g} s")
        except Exception as exc:
            return self._failed(str(exc) or type(exc).__name__)
        try:
            pem, _key = checked_public_key(text)
        except ValueError as exc:
            return self._failed(f"its answer is no usable key ({exc})")
        try:
            changed = await asyncio.to_thread(self._save, pem, utc(self.clock()))
        except Exception as exc:
            return self._failed(f"it could not be stored ({type(exc).__name__})")
        if self.is_failing:
            log.info("Kick's webhook public key fetched again")
        self.is_failing = False
        if changed:
            same = pem == self.bundled_pem
            log.info(
                "Kick's webhook public key fetched and stored%s",
                " (the bundled one)" if same else "; it differs from the bundled one",
            )
        return True

    def _save(self, pem: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            return repository.save_public_key(conn, pem, now)

    def _failed(self, reason: str) -> bool:
        if not self.is_failing:
            log.warning(
                "could not fetch Kick's webhook public key: %s; the last good key stays in "
                "use, trying again in %d min",
                reason,
                RETRY_AFTER_FAILURE.total_seconds() // 60,
            )
        else:
            log.debug("Kick's webhook public key: still failing (%s)", reason)
        self.is_failing = True
        return False

    def stored(self) -> StoredPublicKey | None:
        with self.engine.connect() as conn:
            return repository.find_public_key(conn)

    def stored_pem(self) -> str | None:
        """The fetched key, for the receiver (None when none was fetched or fetching is off)."""
        if self.make_api is None:
            return None
        found = self.stored()
        return None if found is None else found.pem

    def health_check(self) -> Check:
        """Which key checks Kick's webhooks and when Kick's was last fetched. Information,
        never a failure."""
        if self.make_api is None:
            return Check(CHECK_NAME, True, "KICK_WEBHOOK_PUBLIC_KEY (set here; none fetched)")
        try:
            found = self.stored()
        except Exception:
            return unread(CHECK_NAME)
        if found is None:
            return Check(CHECK_NAME, True, "the bundled key; none fetched from Kick yet")
        fetched = f"{found.fetched_at:%Y-%m-%d %H:%M} UTC"
        if found.pem == self.bundled_pem:
            return Check(CHECK_NAME, True, f"the bundled key, as Kick served it at {fetched}")
        return Check(
            CHECK_NAME,
            True,
            f"Kick's key fetched at {fetched} (new since {found.changed_at:%Y-%m-%d %H:%M} "
            "UTC), and the bundled key",
        )


__all__ = ["ASKED_FETCH_GAP", "CHECK_EVERY", "FETCH_EVERY", "RETRY_AFTER_FAILURE", "KickPublicKeys"]
