"""How a webhook receiver answers, the same for every platform: the receipt, its metrics and log
line, and the last step, queueing the event.

A receiver verifies and parses in its platform's way, then answers through :class:`Answers`:
``done`` (200), ``refuse`` (400: no retry can make it acceptable, and nothing is kept),
``unavailable`` (503: the queue or the database is down, nothing is kept, so the platform's
retry is accepted) and ``queue``, which stores the event and the delivery's message id in one
step where the bus can (``publish_delivery``), else through the replay guard.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from core.bus.base import BusUnavailable, EventRefused
from core.bus.replay import ReplayGuard
from core.events import Event, Platform
from core.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What to answer. ``challenge`` is set only for a verified Twitch callback verification:
    the answer is then that string alone, as ``text/plain``."""

    status: int
    outcome: str  # "queued", "duplicate", "ignored", "revoked", "challenge", "rejected", ...
    detail: str
    challenge: str | None = None

    def as_json(self) -> dict[str, str]:
        return {"status": self.outcome, "detail": self.detail}


class Answers:
    def __init__(
        self,
        platform: Platform,
        *,
        metrics: Metrics,
        replay_guard: ReplayGuard,
        publish: Callable[[Event], bool],
        publish_delivery: Callable[[Event, str], bool] | None,
    ) -> None:
        self.platform = platform
        self.metrics = metrics
        self.replay_guard = replay_guard
        self.publish = publish
        self.publish_delivery = publish_delivery

    def done(self, outcome: str, detail: str) -> Receipt:
        self.metrics.webhooks_received.inc(platform=str(self.platform), outcome=outcome)
        return Receipt(200, outcome, detail)

    def refuse(self, message_id: str | None, reason: str, detail: str) -> Receipt:
        """A verified delivery no retry can make acceptable: 400, and nothing kept (its message
        id is forgotten, so a retry is refused the same way rather than "duplicate")."""
        if message_id is not None:
            self.forget(message_id)
        self.metrics.webhooks_rejected.inc(platform=str(self.platform), reason=reason)
        log.warning("%s webhook refused (%s): %s", self.platform, reason, detail)
        return Receipt(400, "rejected", detail)

    def unavailable(self, exc: BaseException) -> Receipt:
        self.metrics.webhooks_rejected.inc(platform=str(self.platform), reason="unavailable")
        log.error("%s webhook could not be queued: %s", self.platform, exc)
        return Receipt(503, "unavailable", "the event queue is unavailable; retry later")

    def forget(self, message_id: str) -> None:
        """Undo the replay guard's sighting (only a bus without ``publish_delivery`` made one),
        so that the platform's retry is accepted."""
        if self.publish_delivery is not None:
            return
        try:
            self.replay_guard.forget(message_id)
        except Exception:
            # The retry will be answered "duplicate"; say so, since the event is then lost.
            log.exception("could not forget message id %s; its retry will be dropped", message_id)

    def queue(self, event: Event, message_id: str) -> Receipt:
        """Store ``event`` durably (with ``message_id``, in one step where the bus can)."""
        try:
            if self.publish_delivery is not None:
                is_new = self.publish_delivery(event, message_id)
                duplicate = "this message id or event was already received"
            else:
                is_new = self.publish(event)
                duplicate = "this event was already received"
        except BusUnavailable as exc:
            self.forget(message_id)
            return self.unavailable(exc)
        except EventRefused as exc:
            return self.refuse(message_id, "unstorable_event", str(exc))
        if not is_new:
            return self.done("duplicate", duplicate)
        return self.done("queued", event.kind)


class Rejection(Protocol):
    """A delivery refused before it was read (each platform's ``WebhookRejected``)."""

    status: int
    reason: str
    message: str


class WebhookReceiver:
    """What both platforms' receivers share around their own checks (``_receive``): the time each
    delivery took, a rejection's metric and log line, the replay guard's answer, the last steps
    of a parsed event (is its broadcaster tracked, then queue it) and the bus's one-step queue,
    which the runtime sets once the bus is built.

    ``publish_delivery(event, message_id)``, when given, queues the event and remembers the
    message id in one atomic step (False when either was seen before; nothing remembered when
    it raises); the replay guard is then not consulted for events. ``on_arrival(broadcaster_user_id,
    kind)`` hears of every verified, parsed delivery for a tracked broadcaster; it must be cheap
    and must not raise."""

    platform: ClassVar[Platform]

    def __init__(
        self,
        *,
        replay_guard: ReplayGuard,
        is_tracked: Callable[[Platform, str], bool],
        publish: Callable[[Event], bool],
        metrics: Metrics,
        clock: Callable[[], datetime],
        publish_delivery: Callable[[Event, str], bool] | None = None,
        on_arrival: Callable[[str, str], None] = lambda _broadcaster, _kind: None,
    ) -> None:
        self.replay_guard = replay_guard
        self.is_tracked = is_tracked
        self.metrics = metrics
        self.clock = clock
        self.on_arrival = on_arrival
        self.answers = Answers(
            self.platform,
            metrics=metrics,
            replay_guard=replay_guard,
            publish=publish,
            publish_delivery=publish_delivery,
        )

    @property
    def publish_delivery(self) -> Callable[[Event, str], bool] | None:
        """The bus's one-step queue (see :class:`Answers`)."""
        return self.answers.publish_delivery

    @publish_delivery.setter
    def publish_delivery(self, publish_delivery: Callable[[Event, str], bool] | None) -> None:
        self.answers.publish_delivery = publish_delivery

    def receive(self, headers: Mapping[str, str], body: bytes) -> Receipt:
        started = time.perf_counter()
        receipt = self._receive(headers, body)
        self.metrics.webhook_duration.observe(
            time.perf_counter() - started, platform=self.platform.value, outcome=receipt.outcome
        )
        return receipt

    def _receive(self, headers: Mapping[str, str], body: bytes) -> Receipt:
        raise NotImplementedError

    @property
    def _log(self) -> logging.Logger:
        """The platform receiver's own logger."""
        return logging.getLogger(type(self).__module__)

    def _rejected(self, rejected: Rejection) -> Receipt:
        self.metrics.webhooks_rejected.inc(platform=self.platform.value, reason=rejected.reason)
        self._log.warning(
            "%s webhook rejected (%s): %s", self.platform.value, rejected.reason, rejected.message
        )
        return Receipt(rejected.status, "rejected", rejected.message)

    def _seen_before(self, receipt_id: str) -> Receipt | None:
        """The answer when the replay guard has seen ``receipt_id`` already, or cannot tell;
        None on a first sighting, which it now remembers."""
        try:
            if not self.replay_guard.first_sighting(receipt_id):
                return self.answers.done("duplicate", "this message id was already received")
        except BusUnavailable as exc:
            return self.answers.unavailable(exc)
        return None

    def _route(self, event: Event, receipt_id: str, kind: str) -> Receipt:
        """Queue a parsed ``event`` of ``kind`` (the platform's event or subscription type) when
        a guild tracks its broadcaster."""
        try:
            is_tracked = self.is_tracked(self.platform, event.broadcaster_user_id)
        except Exception as exc:
            return self._lookup_failed(exc, receipt_id)
        if not is_tracked:
            self._log.info(
                "%s %s for broadcaster %s ignored: no guild tracks that channel",
                self.platform.value,
                kind,
                event.broadcaster_user_id,
            )
            return self.answers.done("ignored", "no guild tracks this broadcaster")
        self.on_arrival(event.broadcaster_user_id, kind)
        return self.answers.queue(event, receipt_id)

    def _lookup_failed(self, exc: Exception, receipt_id: str) -> Receipt:
        """The database behind a routing lookup failed (it may be restarting): answer 503 so
        that the platform retries, and forget the message id if the replay guard remembered it."""
        self._log.error(
            "%s webhook: looking up who tracks the channel failed",
            self.platform.value,
            exc_info=exc,
        )
        self.answers.forget(receipt_id)
        return self.answers.unavailable(BusUnavailable("the database is unavailable"))
