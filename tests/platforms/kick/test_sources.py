"""Pusher and webhooks together, decided per broadcaster and event type from what is arriving."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.events import Platform, Subscribed, SubscriptionsGifted, Viewer
from core.features.connections.kick.repository import StoredSubscription
from core.platforms.kick.signing import signed_headers
from core.platforms.kick.sources import WebhookDeliveries
from core.platforms.sockets import DELIVERY_WINDOW
from core.storage.tables import bus_events
from tests.fakes.pusher_server import FakePusher
from tests.platforms.kick.test_pusher import broadcast_mixed, chat_data
from tests.support.waiting import eventually

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kick"
BROADCASTER = "18312333"  # the broadcaster of the Pusher fixtures
NOW = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)


def pusher_state(runtime):  # type: ignore[no-untyped-def]
    """The broadcaster's Pusher listener state (states are keyed by broadcaster and chatroom)."""
    return next(
        (
            state
            for (broadcaster, _), state in runtime.pusher.states().items()
            if broadcaster == BROADCASTER
        ),
        None,
    )


def gift() -> SubscriptionsGifted:
    return SubscriptionsGifted(
        platform=Platform.KICK,
        event_id="g1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=NOW,
        gifter=Viewer("1", "gifter"),
    )


def sub() -> Subscribed:
    return Subscribed(
        platform=Platform.KICK,
        event_id="s1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=NOW,
        viewer=Viewer("2", "subber"),
    )


# --- the rule, as a pure function --------------------------------------------------------------


def test_a_gift_is_pushers_when_only_chat_webhooks_are_subscribed_and_arriving() -> None:
    deliveries = WebhookDeliveries(
        arrived={(BROADCASTER, "chat.message.sent"): NOW - timedelta(seconds=30)},
        subscribed=frozenset({(BROADCASTER, "chat.message.sent")}),
    )

    assert not deliveries.deliver(BROADCASTER, gift(), NOW)


def test_a_gift_is_the_webhooks_when_gift_webhooks_arrived_lately() -> None:
    deliveries = WebhookDeliveries(
        arrived={(BROADCASTER, "channel.subscription.gifts"): NOW - timedelta(minutes=10)}
    )

    assert deliveries.deliver(BROADCASTER, gift(), NOW)
    assert not deliveries.deliver("other", gift(), NOW)


def test_a_subscribed_type_that_has_not_happened_lately_is_the_webhooks_while_any_arrive() -> None:
    subscribed = frozenset(
        {(BROADCASTER, "chat.message.sent"), (BROADCASTER, "channel.subscription.renewal")}
    )
    chat_arrived = {(BROADCASTER, "chat.message.sent"): NOW - timedelta(minutes=5)}

    assert WebhookDeliveries(chat_arrived, subscribed).deliver(BROADCASTER, sub(), NOW)
    # Subscribed but nothing arriving for the broadcaster: the webhooks are not reaching us.
    assert not WebhookDeliveries({}, subscribed).deliver(BROADCASTER, sub(), NOW)


def test_arrivals_older_than_the_window_do_not_count() -> None:
    stale = NOW - DELIVERY_WINDOW - timedelta(seconds=1)
    deliveries = WebhookDeliveries(
        arrived={
            (BROADCASTER, "channel.subscription.gifts"): stale,
            (BROADCASTER, "chat.message.sent"): stale,
        },
        subscribed=frozenset({(BROADCASTER, "channel.subscription.gifts")}),
    )

    assert not deliveries.deliver(BROADCASTER, gift(), NOW)


# --- end to end: a real webhook through the receiver, a real Pusher listener -----------------


def signed_webhook(private_key, event_type: str, **changes: object) -> tuple[dict, bytes]:
    payload = json.loads((FIXTURES / f"{event_type}.json").read_text())
    payload["broadcaster"] = {**payload["broadcaster"], "user_id": int(BROADCASTER)}
    payload.update(changes)
    body = json.dumps(payload).encode()
    return signed_headers(private_key, body, event_type=event_type), body


def published_kinds(runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        keys = conn.execute(sa.select(bus_events.c.event_key).order_by(bus_events.c.id)).scalars()
        return [key.split(":")[1] for key in keys]


async def test_pusher_credits_gifts_whose_webhooks_do_not_arrive_while_chat_webhooks_do(
    make_runtime, migrated_database_url: str, kick_keys
) -> None:
    async with FakePusher() as fake:
        runtime = make_runtime(
            DATABASE_URL=migrated_database_url, KICK_PUSHER_ENABLED="true", KICK_PUSHER_URL=fake.url
        )
        runtime.guilds.set_kick_channel(
            111, "streamer", BROADCASTER, channel_id=17425723, chatroom_id=1221707
        )
        # Chat and subs are subscribed; the gifts subscription failed.
        subscribed = ["chat.message.sent", "channel.subscription.new"]
        subscribed.append("channel.subscription.renewal")
        rows = [StoredSubscription(f"s{n}", BROADCASTER, t, 1) for n, t in enumerate(subscribed)]
        runtime.kick_connections.store_subscriptions(BROADCASTER, rows)
        receipt = runtime.kick_receiver.receive(*signed_webhook(kick_keys[0], "chat.message.sent"))
        assert receipt.outcome == "queued"
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.pusher.run(stop))
        try:
            await eventually(
                lambda: (
                    (state := pusher_state(runtime)) is not None
                    and state.status == "connected"
                    and len(state.subscribed) == 5
                ),
                within=30,
            )
            await broadcast_mixed(fake)
            # The webhook's chat message, then Pusher's two.
            await eventually(
                lambda: (
                    published_kinds(runtime).count("chat_message_sent") == 3
                    and "stream_started" in published_kinds(runtime)
                )
            )
            kinds = published_kinds(runtime)
            # Gifts (two Pusher reports of two gifts), the reward and the ban are Pusher's: no
            # webhook of those types arrives nor is subscribed. The sub is the webhooks'.
            assert sorted(set(kinds)) == [
                "chat_message_sent",
                "reward_redeemed",
                "stream_started",
                "subscriptions_gifted",
                "viewer_banned",
            ]

            # Gift webhooks start arriving: from the next reading on, Pusher leaves gifts alone.
            receipt = runtime.kick_receiver.receive(
                *signed_webhook(kick_keys[0], "channel.subscription.gifts")
            )
            assert receipt.outcome == "queued"
            await runtime.pusher.refresh()
            gifts_before = published_kinds(runtime).count("subscriptions_gifted")
            await fake.broadcast(
                "chatroom_1221707",
                "GiftedSubscriptionsEvent",
                {"gifted_usernames": ["someone_new"], "gifter_username": "late_gifter"},
            )
            # A chat message after it on the same channel: once that is in, the gift was handled.
            await fake.broadcast("chatroom_1221707", "App\\Events\\ChatMessageEvent", chat_data(7))
            await eventually(lambda: published_kinds(runtime).count("chat_message_sent") == 4)
            await asyncio.sleep(0.1)
            assert published_kinds(runtime).count("subscriptions_gifted") == gifts_before
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)


def test_the_receiver_notes_arrivals_at_most_once_a_minute_per_type(
    make_runtime, migrated_database_url: str, kick_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(DATABASE_URL=migrated_database_url)
    runtime.guilds.set_kick_channel(111, "streamer", BROADCASTER)
    statements: list[str] = []
    sa.event.listen(
        runtime.engine,
        "before_cursor_execute",
        lambda *args: statements.append(args[2]) if "webhook_arrivals" in args[2] else None,
    )

    for _ in range(3):
        runtime.kick_receiver.receive(
            *signed_webhook(kick_keys[0], "chat.message.sent", message_id=f"m{_}")
        )

    assert len(statements) == 1
    arrived = runtime.webhook_arrivals.deliveries().arrived
    assert set(arrived) == {(BROADCASTER, "chat.message.sent")}
