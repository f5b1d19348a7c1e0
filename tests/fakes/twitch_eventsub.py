"""Twitch's side of EventSub webhooks: builds deliveries from the fixtures (Twitch's own example
bodies, in tests/fixtures/twitch/), stamps them with the test's clock, signs them with the
secret exactly as Twitch does, and POSTs them, through Flask's test client or over real HTTP."""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from core.platforms.http import tls_context
from core.platforms.twitch.webhook import signature_of
from tests.conftest import FIXTURES

SECRET = "eventsub-test-secret-0123"  # a throwaway secret for the tests
TWITCH_FIXTURES = FIXTURES / "twitch"
PATH = "/webhooks/twitch"

# The fixture each subscription type is built from.
FIXTURE_OF = {
    "channel.chat.message": "channel.chat.message",
    "channel.chat.notification": "channel.chat.notification.sub_prime",
    "channel.subscribe": "channel.subscribe",
    "channel.subscription.message": "channel.subscription.message",
    "channel.subscription.gift": "channel.subscription.gift",
    # Constructed: no recorded delivery is at hand; the shape of Twitch's reference example
    # (the same fields as channel.subscribe: user_*, broadcaster_*, tier, is_gift), as the
    # twitch_api crate's end.rs and twurple's EventSubChannelSubscriptionEndEventData have it.
    "channel.subscription.end": "channel.subscription.end",
    "channel.channel_points_custom_reward_redemption.add": (
        "channel.channel_points_custom_reward_redemption.add"
    ),
    "channel.cheer": "channel.cheer",  # Twitch's reference example
    "channel.vip.add": "channel.vip.add",
    "channel.vip.remove": "channel.vip.remove",
    "stream.online": "stream.online",
    "stream.offline": "stream.offline",
    # Constructed from Twitch's reference examples (EventSub subscription types page): follow
    # version 2, a raid (the channel raided is the "to" broadcaster).
    "channel.follow": "channel.follow",
    "channel.raid": "channel.raid",
}


def fixture(name: str) -> dict[str, Any]:
    return json.loads((TWITCH_FIXTURES / f"{name}.json").read_text())


def notification_body(
    subscription_type: str, broadcaster_user_id: str | None = None, **event_fields: Any
) -> dict[str, Any]:
    """The fixture's body for ``subscription_type``, for ``broadcaster_user_id`` (in the event
    and the subscription's condition, where that type names the channel: a raid's "to"
    broadcaster, a follow's moderator too), with ``event_fields`` replaced."""
    body = copy.deepcopy(fixture(FIXTURE_OF[subscription_type]))
    if broadcaster_user_id is not None:
        condition = body["subscription"]["condition"]
        if subscription_type == "channel.raid":
            body["event"]["to_broadcaster_user_id"] = broadcaster_user_id
            condition["to_broadcaster_user_id"] = broadcaster_user_id
        else:
            body["event"]["broadcaster_user_id"] = broadcaster_user_id
            condition["broadcaster_user_id"] = broadcaster_user_id
        if "moderator_user_id" in condition:
            condition["moderator_user_id"] = broadcaster_user_id
    body["event"].update(event_fields)
    return body


def eventsub_headers(
    body: bytes,
    *,
    secret: str,
    message_type: str,
    timestamp: str,
    message_id: str | None = None,
    subscription_type: str = "",
) -> dict[str, str]:
    message_id = message_id or str(uuid.uuid4())
    return {
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Message-Type": message_type,
        "Twitch-Eventsub-Message-Signature": signature_of(secret, message_id, timestamp, body),
        "Twitch-Eventsub-Message-Timestamp": timestamp,
        "Twitch-Eventsub-Subscription-Type": subscription_type,
        "Twitch-Eventsub-Subscription-Version": "1",
        "Content-Type": "application/json",
    }


def rfc3339(moment: datetime) -> str:
    """Twitch's form: nanosecond digits and a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


class EventSubSender:
    """Signs and POSTs EventSub deliveries as Twitch would. ``post(path, body, headers)``
    returns ``(status, json or text)``; use :meth:`flask` or :meth:`http` to make one."""

    def __init__(
        self,
        post: Callable[[str, bytes, dict[str, str]], tuple[int, Any]],
        clock: Callable[[], datetime],
        secret: str = SECRET,
    ) -> None:
        self._post = post
        self.clock = clock
        self.secret = secret
        self._ids = itertools.count(1)

    @classmethod
    def flask(cls, client: Any, clock: Callable[[], datetime], secret: str = SECRET):  # type: ignore[no-untyped-def]
        def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
            response = client.post(path, data=body, headers=headers)
            return response.status_code, response.json if response.is_json else response.text

        return cls(post, clock, secret)

    @classmethod
    def http(cls, base_url: str, clock: Callable[[], datetime], secret: str = SECRET):  # type: ignore[no-untyped-def]
        def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
            response = httpx.post(
                base_url + path, content=body, headers=headers, timeout=10, verify=tls_context()
            )
            is_json = response.headers.get("content-type", "").startswith("application/json")
            return response.status_code, response.json() if is_json else response.text

        return cls(post, clock, secret)

    def next_message_id(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._ids):012d}"

    def notify(
        self,
        subscription_type: str,
        broadcaster_user_id: str | None = None,
        *,
        delivery_id: str | None = None,
        **event_fields: Any,
    ) -> tuple[int, Any]:
        """A ``notification`` of ``subscription_type`` built from its fixture, with
        ``event_fields`` replaced; ``delivery_id`` is its Twitch-Eventsub-Message-Id."""
        body = notification_body(subscription_type, broadcaster_user_id, **event_fields)
        return self.send(
            json.dumps(body).encode(),
            message_type="notification",
            subscription_type=subscription_type,
            message_id=delivery_id,
        )

    def send(
        self,
        body: bytes,
        *,
        message_type: str = "notification",
        subscription_type: str = "",
        message_id: str | None = None,
        sent_at: datetime | None = None,
        header_changes: Mapping[str, str | None] | None = None,
    ) -> tuple[int, Any]:
        """POST ``body`` signed; ``header_changes`` then replaces (or, with None, drops)
        headers, after signing."""
        headers = eventsub_headers(
            body,
            secret=self.secret,
            message_type=message_type,
            timestamp=rfc3339(sent_at or self.clock()),
            message_id=message_id or self.next_message_id(),
            subscription_type=subscription_type,
        )
        for name, value in (header_changes or {}).items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        return self._post(PATH, body, headers)
