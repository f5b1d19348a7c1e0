"""One Twitch gift, told every way Twitch tells it, earns its gifter tickets once.

A community gift of 5 arrives as ``channel.subscription.gift`` (the gifter, total 5), a chat
``community_sub_gift`` notice, five chat ``sub_gift`` notices (one per recipient, each naming
the community gift) and five ``channel.subscribe`` with ``is_gift``; every one of them may come
by webhook and again over the EventSub WebSocket with another message id. The bodies are the
fixtures of ``shared/platforms/twitch`` (the chat notices adapted from the Prime sub notice).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from core.events import Platform, SubscriptionsGifted
from core.platforms.twitch.notifications import parse_notification
from tests.conftest import FIXTURES
from tests.features.raffle.support import GUILD, ledger_count, make_service
from tests.support.clock import Clock

GIFTER = "1234"  # Cool_User in the channel.subscription.gift fixture
TICKETS_PER_SUB = 15  # the default gifted_sub_tickets


def body_of(name: str) -> dict:
    return json.loads((FIXTURES / "twitch" / f"{name}.json").read_text())


def subscription_gift(total: int, cumulative: int | None) -> dict:
    body = body_of("channel.subscription.gift")
    body["event"].update(total=total, cumulative_total=cumulative)
    return body


def chat_notice(notice: str, details: dict, message_id: str) -> dict:
    """The Prime sub notice fixture turned into another notice, sent by the gifter."""
    body = body_of("channel.chat.notification.sub_prime")
    event = body["event"]
    event.update(
        broadcaster_user_id="1337",
        chatter_user_id=GIFTER,
        chatter_user_login="cool_user",
        chatter_user_name="Cool_User",
        message_id=message_id,
        notice_type=notice,
        sub=None,
    )
    event[notice] = details
    return body


def recipient(n: int) -> dict:
    body = body_of("channel.subscribe.gift_recipient_tier3")
    body["event"].update(user_id=f"90{n}", user_login=f"lucky{n}", user_name=f"Lucky{n}")
    return body


def every_delivery(total: int, cumulative: int | None) -> list[dict]:
    """Every notification Twitch sends for one community gift of ``total`` subs."""
    community = {
        "id": "8172615512",
        "total": total,
        "sub_tier": "1000",
        "cumulative_total": cumulative,
    }
    bodies = [subscription_gift(total, cumulative)]
    bodies.append(chat_notice("community_sub_gift", community, "chat-community-1"))
    for n in range(total):
        sub_gift = {
            "cumulative_total": cumulative,
            "duration_months": 1,
            "recipient_user_id": f"90{n}",
            "recipient_user_name": f"Lucky{n}",
            "recipient_user_login": f"lucky{n}",
            "sub_tier": "1000",
            "community_gift_id": "8172615512",
        }
        bodies.append(chat_notice("sub_gift", sub_gift, f"chat-sub-gift-{n}"))
        bodies.append(recipient(n))
    return bodies


def events_of(bodies: list[dict], at: datetime) -> list:
    """Each body parsed twice, as the webhook and as the socket deliver it (other ids)."""
    events = []
    for index, body in enumerate(bodies):
        for transport in ("webhook", "websocket"):
            events.append(
                parse_notification(
                    body["subscription"]["type"],
                    copy.deepcopy(body),
                    message_id=f"{transport}-{index:04d}",
                    delivered_at=at,
                )
            )
    return [event for event in events if event is not None]


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def raffle(engine, clock):
    service = make_service(engine, clock)
    service.periods.start(GUILD)
    return service


def gift_tickets(raffle) -> int:
    standing = raffle.views.standing(GUILD, Platform.TWITCH, GIFTER)
    return standing.tickets if standing is not None else 0


def deliver(raffle, events) -> None:
    """What the wiring does: every SubscriptionsGifted goes to the raffle (in any order)."""
    for event in events:
        if isinstance(event, SubscriptionsGifted):
            raffle.record_gift(GUILD, event)


def test_a_community_gift_told_every_way_gives_its_tickets_once(engine, raffle, clock):
    events = events_of(every_delivery(5, 284), clock.now)
    deliver(raffle, events)
    deliver(raffle, reversed(events))  # redelivered, the other way round
    assert gift_tickets(raffle) == 5 * TICKETS_PER_SUB
    assert ledger_count(engine) == 1


def test_a_gift_whose_total_is_hidden_counts_once_from_its_chat_notice(engine, raffle, clock):
    """Without the cumulative total channel.subscription.gift names no gift: the chat notice,
    which carries the community gift's id, counts it."""
    deliver(raffle, events_of(every_delivery(3, None), clock.now))
    assert gift_tickets(raffle) == 3 * TICKETS_PER_SUB
    assert ledger_count(engine) == 1


def test_the_webhook_and_socket_copies_of_one_gift_count_once(engine, raffle, clock):
    deliver(raffle, events_of([subscription_gift(2, 284)], clock.now))
    assert gift_tickets(raffle) == 2 * TICKETS_PER_SUB


def test_two_gifts_by_one_gifter_count_twice(engine, raffle, clock):
    """The key is the gift, not the gifter: the next gift has the next cumulative total."""
    deliver(raffle, events_of([subscription_gift(2, 284), subscription_gift(1, 285)], clock.now))
    assert gift_tickets(raffle) == 3 * TICKETS_PER_SUB
    assert ledger_count(engine) == 2


def test_a_single_gift_counts_once_from_either_source(engine, raffle, clock):
    """One sub gifted to one viewer: channel.subscription.gift (total 1) and a sub_gift notice
    that belongs to no community gift."""
    single = {
        "cumulative_total": 285,
        "duration_months": 1,
        "recipient_user_id": "901",
        "recipient_user_name": "Lucky1",
        "recipient_user_login": "lucky1",
        "sub_tier": "1000",
        "community_gift_id": None,
    }
    bodies = [subscription_gift(1, 285), chat_notice("sub_gift", single, "chat-1"), recipient(1)]
    deliver(raffle, events_of(bodies, clock.now))
    assert gift_tickets(raffle) == TICKETS_PER_SUB


def test_a_copy_handled_after_the_period_rolled_over_counts_in_no_second_period(
    engine, raffle, clock
):
    """The gift at 23:59:58, its other copies handled at 00:00:01 once the month closed: the
    tickets stay in March's period and April's gets none (a reference counts once per guild)."""
    clock.now = datetime(2026, 3, 31, 23, 59, 58, tzinfo=UTC)
    events = events_of(every_delivery(5, 284), clock.now)
    deliver(raffle, events[:1])  # the webhook's channel.subscription.gift
    clock.now = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)
    raffle.run_scheduled()  # March closes, April opens
    deliver(raffle, events[1:])  # the rest: the socket's copy, the chat notices, ...
    clock.now = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    raffle.run_scheduled()  # holds released

    assert ledger_count(engine) == 1
    assert gift_tickets(raffle) == 0  # April's standing: nothing
