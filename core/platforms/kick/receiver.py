"""The Kick webhook receiver, apart from any web framework: headers and body in, a receipt out.

Order matters: size, headers and signature are checked before anything is parsed; an event is
acknowledged only once it is queued. A delivery that can never be accepted (a value no event may
carry, or one the queue's store refuses) is answered 400 and leaves nothing behind; only a queue
that is down answers 503, for Kick to retry.

A repeated message id is answered before any work by the replay guard, or, when the bus can
remember message ids itself (``publish_delivery``: both buses do), in the same atomic step that
queues the event, so a crash between the two cannot leave the id remembered and the event lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from core.events import Platform
from core.platforms.kick.webhook import (
    KICK_EVENT_TYPES,
    InvalidPayload,
    KeyRing,
    UnusablePayload,
    WebhookRejected,
    verify_delivery,
)
from core.platforms.kick.webhook_events import parse_event
from core.platforms.webhook_answers import Receipt, WebhookReceiver

log = logging.getLogger(__name__)


class KickWebhookReceiver(WebhookReceiver):
    platform = Platform.KICK

    def __init__(
        self,
        *,
        public_key: RSAPublicKey | KeyRing,
        max_age_seconds: int,
        broadcaster_of_subscription: Callable[[str], str | None] = lambda _id: None,
        **common: Any,
    ) -> None:
        """``public_key``: Kick's key, or the keys a delivery may be signed with
        (:class:`~core.platforms.kick.webhook_keys.WebhookKeys`). ``common``:
        :class:`~core.platforms.webhook_answers.WebhookReceiver`'s. With
        ``publish_delivery`` a repeated delivery is found after the parse, and one that could not
        be queued leaves nothing to forget. ``on_arrival(broadcaster_user_id, event_type)``:
        Pusher leaves the types that arrive to webhooks."""
        super().__init__(**common)
        self.public_key = public_key
        self.max_age_seconds = max_age_seconds
        self.broadcaster_of_subscription = broadcaster_of_subscription

    def _receive(self, headers: Mapping[str, str], body: bytes) -> Receipt:
        now = self.clock()
        try:
            delivery, payload = verify_delivery(
                headers,
                body,
                public_key=self.public_key,
                now=now,
                max_age_seconds=self.max_age_seconds,
            )
        except WebhookRejected as rejected:
            return self._rejected(rejected)

        if self.publish_delivery is None and (seen := self._seen_before(delivery.message_id)):
            return seen

        if delivery.event_type not in KICK_EVENT_TYPES:
            log.info("kick webhook of unknown type %r ignored", delivery.event_type[:64])
            return self.answers.done(
                "ignored", f"event type {delivery.event_type[:64]!r} is not handled"
            )
        try:
            payload = self._with_broadcaster(payload, delivery.subscription_id)
        except Exception as exc:
            return self._lookup_failed(exc, delivery.message_id)
        try:
            event = parse_event(
                delivery.event_type,
                payload,
                message_id=delivery.message_id,
                delivered_at=now,
            )
        except UnusablePayload as exc:
            log.warning("kick %s webhook ignored: %s", delivery.event_type, exc.reason)
            return self.answers.done("ignored", exc.reason)
        except InvalidPayload as exc:
            return self.answers.refuse(delivery.message_id, "invalid_payload", exc.reason)
        if event is None:
            return self.answers.done(
                "ignored", f"event type {delivery.event_type!r} is not handled"
            )
        return self._route(event, delivery.message_id, delivery.event_type)

    def _with_broadcaster(
        self, payload: dict[str, Any], subscription_id: str | None
    ) -> dict[str, Any]:
        """Fill in the broadcaster from our stored subscription when a delivery leaves it out."""
        broadcaster = payload.get("broadcaster")
        if (isinstance(broadcaster, dict) and broadcaster.get("user_id")) or not subscription_id:
            return payload
        known = self.broadcaster_of_subscription(subscription_id)
        if known is None:
            return payload
        base = broadcaster if isinstance(broadcaster, dict) else {}
        return {**payload, "broadcaster": {**base, "user_id": known}}
