"""Fuzz: the tier words, the badge hint, and Twitch and Kick subscription payloads with hostile
values through the real parsers into the tier record (SQLite).

Properties: the tier readers never raise and answer only "1", "2", "3" or None; a payload
either is refused by its parser (400) or is recorded without an error, and every record holds a
real tier, with Prime only on Tier 1 and only from the chat notification."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from core.events import Subscribed, SubscriptionEnded, SubscriptionsGifted
from core.features.sub_tiers.records import tier_of, tier_of_badge
from core.features.sub_tiers.service import SubTierService
from core.features.sub_tiers.tables import sub_tiers
from core.platforms.kick import webhook_events
from core.platforms.kick.webhook import InvalidPayload as KickInvalid
from core.platforms.kick.webhook import UnusablePayload as KickUnusable
from core.platforms.twitch.notifications import InvalidPayload, UnusablePayload, parse_notification
from tests.conftest import FIXTURES
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY, kick_fixture, mutated

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TWITCH = [
    "channel.subscribe",
    "channel.subscribe.gift_recipient_tier3",
    "channel.subscription.message",
    "channel.chat.notification.sub_prime",
    "channel.subscription.end",
]
KICK = ["channel.subscription.new", "channel.subscription.renewal", "channel.subscription.gifts"]
words = st.one_of(st.sampled_from([w for w in NASTY if isinstance(w, str)]), st.text(max_size=12))


@given(words)
def test_tier_readers_answer_a_tier_or_nothing(word: str) -> None:
    for read in (tier_of, tier_of_badge):
        assert read(word) in (None, "1", "2", "3")
    record("sub-tier-words", "read")


def _twitch(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "twitch" / f"{name}.json").read_text())


@pytest.fixture
def tiers(sqlite_engine: Engine) -> SubTierService:
    return SubTierService(sqlite_engine, lambda: NOW)


def _feed(tiers: SubTierService, event: object) -> None:
    if isinstance(event, Subscribed):
        tiers.handle_subscribed(1, event)
    elif isinstance(event, SubscriptionsGifted):
        tiers.handle_gifted(1, event)
    elif isinstance(event, SubscriptionEnded):
        tiers.handle_ended(1, event)
        user_id = event.viewer.platform_user_id
        left = None if user_id is None else tiers.tier_of(1, "twitch", user_id)
        assert left is None or left.seen_at > event.occurred_at  # only a sub seen after it


def _check_records(tiers: SubTierService) -> None:
    with tiers.engine.connect() as conn:
        for row in conn.execute(sub_tiers.select()):
            assert row.tier in ("1", "2", "3")
            if row.is_prime:
                assert row.tier == "1"
                assert row.source == "twitch:chat.notification"


@given(data=st.data())
def test_hostile_sub_payloads_are_refused_or_recorded(tiers: SubTierService, data) -> None:  # type: ignore[no-untyped-def]
    platform = data.draw(st.sampled_from(["twitch", "kick"]))
    if platform == "twitch":
        body = data.draw(mutated(_twitch(data.draw(st.sampled_from(TWITCH)))))
        kind = _twitch(TWITCH[0])["subscription"]["type"]
        if isinstance(body, dict) and isinstance(body.get("subscription"), dict):
            kind = str(body["subscription"].get("type") or kind)
        try:
            event = parse_notification(kind, body, message_id="m", delivered_at=NOW)
        except (InvalidPayload, UnusablePayload):
            record("sub-tiers", "refused")
            return
    else:
        name = data.draw(st.sampled_from(KICK))
        payload = data.draw(mutated(kick_fixture(name)))
        try:
            event = webhook_events.parse_event(name, payload, message_id="k", delivered_at=NOW)
        except (KickInvalid, KickUnusable):
            record("sub-tiers", "refused")
            return
    _feed(tiers, event)
    _check_records(tiers)
    record("sub-tiers", "recorded" if event is not None else "ignored")
