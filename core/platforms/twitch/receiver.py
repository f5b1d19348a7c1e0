"""The Twitch EventSub webhook receiver, apart from any web framework: headers and body in, a
receipt out. It mirrors the Kick receiver (:mod:`core.platforms.kick.receiver`).

Order matters: size, headers, signature and timestamp are checked before anything is parsed;
then the body's shape against its message type (that header is not signed: a notification sent
again as a revocation is refused, 400), then the message type: a challenge is echoed, a
revocation recorded once per message id, a notification parsed and queued. A notification is
acknowledged only once it is queued. Its message id is remembered in the same atomic step that
queues it (``publish_delivery``), or, on a bus without that, by the replay guard before any
work; a revocation's, by the replay guard. Twitch's ids go into the shared receipt store as
``twitch:<id>``, so they can never meet a Kick id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from core.bus.base import BusUnavailable
from core.events import Platform
from core.platforms.twitch.notifications import (
    TWITCH_SUBSCRIPTION_TYPES,
    InvalidPayload,
    UnusablePayload,
    parse_notification,
)
from core.platforms.twitch.webhook import (
    NOTIFICATION,
    REVOCATION,
    VERIFICATION,
    Delivery,
    Revocation,
    WebhookRejected,
    challenge_of,
    revocation_of,
    shape_mismatch,
    verify_delivery,
)
from core.platforms.webhook_answers import Receipt, WebhookReceiver

log = logging.getLogger(__name__)

RECEIPT_PREFIX = "twitch:"


class TwitchWebhookReceiver(WebhookReceiver):
    platform = Platform.TWITCH

    def __init__(
        self,
        *,
        secret: str | None,
        record_revocation: Callable[[Revocation], bool],
        **common: Any,
    ) -> None:
        """``common``: :class:`~core.platforms.webhook_answers.WebhookReceiver`'s.
        ``record_revocation(revocation)``: whether it was news (False: a stale revocation, of a
        subscription replaced since, which the callback logs itself).
        ``on_arrival(broadcaster_user_id, subscription_type)``: the EventSub WebSocket asks what
        arrives."""
        super().__init__(**common)
        self.secret = secret
        self.record_revocation = record_revocation

    def _receive(self, headers: Mapping[str, str], body: bytes) -> Receipt:
        try:
            delivery = verify_delivery(headers, body, secret=self.secret, now=self.clock())
        except WebhookRejected as rejected:
            return self._rejected(rejected)
        mismatch = shape_mismatch(delivery)
        if mismatch is not None:
            return self.answers.refuse(None, "type_mismatch", mismatch)
        if delivery.message_type == VERIFICATION:
            return self._challenge(delivery)
        if delivery.message_type == REVOCATION:
            return self._revocation(delivery)
        if delivery.message_type != NOTIFICATION:
            return self.answers.done(
                "ignored", f"message type {delivery.message_type[:64]!r} unknown"
            )
        return self._notification(delivery)

    def _challenge(self, delivery: Delivery) -> Receipt:
        challenge = challenge_of(delivery)
        if challenge is None:
            return self.answers.refuse(
                None, "no_challenge", "the verification has no challenge string"
            )
        log.info("twitch subscription %s verified", delivery.subscription_type)
        self.metrics.webhooks_received.inc(platform="twitch", outcome="challenge")
        return Receipt(200, "challenge", "challenge answered", challenge=challenge)

    def _revocation(self, delivery: Delivery) -> Receipt:
        revocation = revocation_of(delivery)
        if revocation is None:
            return self.answers.done("ignored", "the revocation names no subscription")
        # Remembered like a notification's id (the same store and key), so neither a replayed
        # revocation nor a notification's id sent again as one is recorded twice.
        receipt_id = RECEIPT_PREFIX + delivery.message_id
        if seen := self._seen_before(receipt_id):
            return seen
        try:
            is_news = self.record_revocation(revocation)
        except Exception as exc:
            log.error("twitch webhook: recording a revocation failed", exc_info=exc)
            try:
                self.replay_guard.forget(receipt_id)  # so Twitch's retry is recorded
            except Exception as forget_exc:
                log.error("twitch webhook: could not forget a revocation's id", exc_info=forget_exc)
            return self.answers.unavailable(BusUnavailable("the database is unavailable"))
        if not is_news:  # logged (info) with the reason where that was decided
            return self.answers.done("ignored", "a revocation of a subscription replaced since")
        log.warning(
            "twitch revoked subscription %s (%s) for broadcaster %s: %s",
            revocation.subscription_id,
            revocation.subscription_type,
            revocation.broadcaster_user_id,
            revocation.status,
        )
        return self.answers.done("revoked", revocation.status)

    def _notification(self, delivery: Delivery) -> Receipt:
        receipt_id = RECEIPT_PREFIX + delivery.message_id
        if self.publish_delivery is None and (seen := self._seen_before(receipt_id)):
            return seen

        subscription_type = delivery.subscription_type
        if subscription_type not in TWITCH_SUBSCRIPTION_TYPES:
            log.info("twitch notification of unknown type %r ignored", subscription_type[:64])
            return self.answers.done("ignored", f"type {subscription_type[:64]!r} is not handled")
        try:
            event = parse_notification(
                subscription_type,
                delivery.body,
                message_id=delivery.message_id,
                delivered_at=delivery.sent_at,
            )
        except UnusablePayload as exc:
            log.warning("twitch %s notification ignored: %s", subscription_type, exc.reason)
            return self.answers.done("ignored", exc.reason)
        except InvalidPayload as exc:
            return self.answers.refuse(receipt_id, "invalid_payload", exc.reason)
        if event is None:
            return self.answers.done(
                "ignored", f"this {subscription_type} notification is not handled"
            )
        return self._route(event, receipt_id, subscription_type)
