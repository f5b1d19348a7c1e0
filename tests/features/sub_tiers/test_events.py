"""The tier record fed from every subscription event kind, with the real fixtures: expiry,
refresh, newest-wins and Prime only where a source said Prime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.events import Platform, Subscribed, SubscriptionEnded, SubscriptionsGifted, Viewer
from core.features.sub_tiers.records import tier_label
from core.features.sub_tiers.service import SubTierService
from core.features.sub_tiers.tables import sub_tiers
from core.features.viewers.repository import remember_viewers
from core.platforms.kick.pusher_events import parse_frame
from core.storage.db import transaction
from tests.conftest import FIXTURES
from tests.features.sub_tiers.conftest import GUILD, T0, kick_event, twitch_event
from tests.support.clock import Clock

A_MONTH_ON = datetime(2030, 12, 3, 18, 0, tzinfo=UTC)


def feed(tiers: SubTierService, event) -> None:  # type: ignore[no-untyped-def]
    if isinstance(event, Subscribed):
        tiers.handle_subscribed(GUILD, event)
    else:
        assert isinstance(event, SubscriptionsGifted)
        tiers.handle_gifted(GUILD, event)


def test_twitch_subscribe_is_tier_1_for_a_month(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0))
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert (sub.tier, sub.is_prime, sub.source) == ("1", False, "twitch:channel.subscribe")
    assert sub.seen_at == T0
    assert sub.expires_at == A_MONTH_ON
    assert tier_label(sub) == "1"


def test_twitch_resub_message_records_its_tier(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscription.message", T0, tier="2000"))
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert (sub.tier, sub.source) == ("2", "twitch:channel.subscription.message")


def test_twitch_gift_recipient_is_recorded_with_the_gift_source(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscribe.gift_recipient_tier3", T0))
    sub = tiers.tier_of(GUILD, "twitch", "5678")
    assert sub is not None
    assert (sub.tier, sub.is_prime, sub.source) == ("3", False, "twitch:gift")


def test_twitch_gifter_side_names_nobody_and_records_nothing(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscription.gift", T0))
    assert tiers.tiers_of(GUILD, "twitch", ["1234"]) == {}


def test_twitch_chat_notification_with_is_prime_is_prime(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.chat.notification.sub_prime", T0))
    sub = tiers.tier_of(GUILD, "twitch", "49912639")
    assert sub is not None
    assert (sub.tier, sub.is_prime, sub.source) == ("1", True, "twitch:chat.notification")
    assert tier_label(sub) == "prime"


def test_prime_survives_the_same_sub_told_by_a_prime_blind_source(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.chat.notification.sub_prime", T0))
    blind = twitch_event("channel.subscribe", T0 + timedelta(seconds=2), user_id="49912639")
    feed(tiers, blind)
    sub = tiers.tier_of(GUILD, "twitch", "49912639")
    assert sub is not None
    assert tier_label(sub) == "prime"


def test_prime_told_after_a_blind_copy_of_the_same_sub_stamped_later_still_counts(
    tiers: SubTierService,
) -> None:
    # Twitch stamps each copy of a sub when it sends it: the Prime-blind channel.subscribe may
    # carry the later stamp and still be handled first (another transport, another queue).
    blind = twitch_event("channel.subscribe", T0 + timedelta(seconds=2), user_id="49912639")
    feed(tiers, blind)
    feed(tiers, twitch_event("channel.chat.notification.sub_prime", T0))
    sub = tiers.tier_of(GUILD, "twitch", "49912639")
    assert sub is not None
    assert tier_label(sub) == "prime"
    assert (sub.source, sub.seen_at, sub.expires_at) == (
        "twitch:chat.notification",
        T0 + timedelta(seconds=2),
        A_MONTH_ON + timedelta(seconds=2),
    )


def test_a_prime_notice_from_long_before_a_blind_sub_is_another_month(
    tiers: SubTierService, clock: Clock
) -> None:
    clock.advance(days=20)
    feed(tiers, twitch_event("channel.subscribe", T0 + timedelta(days=20), user_id="49912639"))
    feed(tiers, twitch_event("channel.chat.notification.sub_prime", T0))
    sub = tiers.tier_of(GUILD, "twitch", "49912639")
    assert sub is not None
    assert tier_label(sub) == "1"


def test_prime_is_not_assumed_for_a_later_month_nobody_called_prime(
    tiers: SubTierService, clock: Clock
) -> None:
    feed(tiers, twitch_event("channel.chat.notification.sub_prime", T0))
    later = T0 + timedelta(days=30)
    clock.advance(days=30)
    feed(tiers, twitch_event("channel.subscription.message", later, user_id="49912639"))
    sub = tiers.tier_of(GUILD, "twitch", "49912639")
    assert sub is not None
    assert tier_label(sub) == "1"


def test_a_prime_paid_upgrade_drops_prime(tiers: SubTierService) -> None:
    """A Prime sub switched to a paid Tier 1 (chat's ``prime_paid_upgrade``): Tier 1, not Prime,
    even within minutes of the Prime notice and when a Prime-blind source repeats Tier 1."""
    feed(tiers, twitch_event("channel.chat.notification.sub_prime", T0))
    upgrade = twitch_event(
        "channel.chat.notification.sub_prime",
        T0 + timedelta(minutes=2),
        message_id="msg-2",
        notice_type="prime_paid_upgrade",
        sub=None,
        prime_paid_upgrade={"sub_tier": "1000"},
    )
    feed(tiers, upgrade)
    sub = tiers.tier_of(GUILD, "twitch", "49912639")
    assert sub is not None
    assert (tier_label(sub), sub.source) == ("1", "twitch:chat.notification")
    blind = twitch_event("channel.subscribe", T0 + timedelta(minutes=3), user_id="49912639")
    feed(tiers, blind)
    assert tier_label(tiers.tier_of(GUILD, "twitch", "49912639")) == "1"


def test_a_prime_blind_source_never_sets_prime(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0, tier="1000"))
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert not sub.is_prime


def test_kick_new_renewal_and_gifted_are_tier_1_until_kicks_expiry(
    tiers: SubTierService, clock: Clock
) -> None:
    at = datetime(2025, 1, 14, 16, 8, 6, tzinfo=UTC)  # the fixtures' created_at
    clock.now = at
    feed(tiers, kick_event("channel.subscription.new", at))
    feed(tiers, kick_event("channel.subscription.gifts", at, message_id="kick-2"))
    found = tiers.tiers_of(GUILD, "kick", ["987654321", "561654654"])
    assert {uid: (s.tier, s.is_prime, s.source) for uid, s in found.items()} == {
        "987654321": ("1", False, "kick:new"),
        "561654654": ("1", False, "kick:gifted"),
    }
    assert found["987654321"].expires_at == datetime(2025, 2, 14, 16, 8, 6, tzinfo=UTC)

    later = at + timedelta(minutes=5)
    feed(tiers, kick_event("channel.subscription.renewal", later, message_id="kick-3"))
    renewed = tiers.tier_of(GUILD, "kick", "987654321")
    assert renewed is not None
    assert renewed.source == "kick:renewal"
    assert renewed.since == at  # same tier: since the first sighting


def test_records_expire_after_a_month_not_an_hour(tiers: SubTierService, clock: Clock) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0))
    clock.advance(hours=2)
    assert tiers.tier_of(GUILD, "twitch", "1234") is not None
    clock.now = A_MONTH_ON - timedelta(seconds=1)
    assert tiers.tier_of(GUILD, "twitch", "1234") is not None
    clock.now = A_MONTH_ON
    assert tiers.tier_of(GUILD, "twitch", "1234") is None


def test_a_later_event_refreshes_the_expiry(tiers: SubTierService, clock: Clock) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0))
    clock.advance(days=29)
    feed(tiers, twitch_event("channel.subscription.message", clock(), message_id="m2"))
    clock.advance(days=5)  # past the first month
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert sub.expires_at == datetime(2031, 1, 2, 18, 0, tzinfo=UTC)  # 2 Dec + a month
    assert sub.since == T0


def test_an_older_event_never_undoes_a_fresher_record(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscription.message", T0, tier="3000"))
    stale = twitch_event("channel.subscribe", T0 - timedelta(minutes=1), message_id="old")
    feed(tiers, stale)  # a late delivery of the first sub, at Tier 1
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert sub.tier == "3"


def test_a_newer_event_with_another_tier_wins(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0, tier="3000"))
    feed(tiers, twitch_event("channel.subscription.message", T0 + timedelta(days=1), tier="1000"))
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert sub.tier == "1"
    assert sub.since == T0 + timedelta(days=1)


def test_the_same_event_twice_changes_nothing(tiers: SubTierService) -> None:
    event = twitch_event("channel.subscribe", T0)
    feed(tiers, event)
    first = tiers.tier_of(GUILD, "twitch", "1234")
    feed(tiers, event)
    assert tiers.tier_of(GUILD, "twitch", "1234") == first


def test_records_are_per_guild(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0))
    assert tiers.tiers_of(GUILD + 1, "twitch", ["1234"]) == {}


def test_kick_pusher_names_viewers_without_ids_found_by_their_known_name(
    tiers: SubTierService,
) -> None:

    with transaction(tiers.engine) as conn:  # both chatted before: their ids are known
        remember_viewers(
            conn, Platform.KICK, [Viewer("31", "The_D0ctor"), Viewer("32", "rawze")], T0
        )
    for name in ("pusher-SubscriptionEvent", "pusher-GiftedSubscriptionsEvent"):
        raw = (FIXTURES / "kick" / f"{name}.json").read_text()
        event = parse_frame(raw, broadcaster_user_id="123456789", received_at=T0)
        assert event is not None
        feed(tiers, event)
    found = tiers.tiers_of(GUILD, "kick", ["31", "32"])
    assert {uid: (s.tier, s.source) for uid, s in found.items()} == {
        "31": ("1", "kick:new"),
        "32": ("1", "kick:gifted"),
    }


def test_a_name_nobody_is_known_by_records_nothing(tiers: SubTierService) -> None:

    raw = (FIXTURES / "kick" / "pusher-SubscriptionEvent.json").read_text()
    event = parse_frame(raw, broadcaster_user_id="123456789", received_at=T0)
    feed(tiers, event)
    with tiers.engine.connect() as conn:
        assert conn.execute(sub_tiers.select()).all() == []


def test_an_ended_subscription_ends_the_tier_record_then_and_there(
    tiers: SubTierService, clock: Clock
) -> None:
    feed(tiers, twitch_event("channel.subscription.message", T0, tier="3000"))
    ended_at = T0 + timedelta(days=3)
    clock.advance(timedelta(days=3).total_seconds())
    end = twitch_event("channel.subscription.end", ended_at, message_id="end-1", tier="3000")
    assert isinstance(end, SubscriptionEnded)

    tiers.handle_ended(GUILD, end)

    assert tiers.tier_of(GUILD, "twitch", "1234") is None  # no bonus, no "!tier 3" any more
    with tiers.engine.connect() as conn:
        [row] = conn.execute(sub_tiers.select()).all()
    assert row.expires_at.replace(tzinfo=UTC) == ended_at
    tiers.handle_ended(GUILD, end)  # redelivered: nothing more happens
    assert tiers.tier_of(GUILD, "twitch", "1234") is None


def test_a_resub_told_before_its_old_subs_end_arrived_stays(tiers: SubTierService) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0 + timedelta(hours=2)))
    late_end = twitch_event("channel.subscription.end", T0 + timedelta(hours=1), "end-1")
    tiers.handle_ended(GUILD, late_end)  # (its end was delivered before the new sub)
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert sub.tier == "1"


def test_a_subscribe_sent_before_the_end_and_delivered_after_it_does_not_resubscribe(
    tiers: SubTierService, clock: Clock
) -> None:
    feed(tiers, twitch_event("channel.subscription.message", T0, tier="3000"))
    ended_at = T0 + timedelta(days=3)
    clock.advance(timedelta(days=3, minutes=5).total_seconds())
    tiers.handle_ended(GUILD, twitch_event("channel.subscription.end", ended_at, "end-1"))

    # Twitch sent this a minute before the end and delivered it (a retry) after it
    late = twitch_event("channel.subscribe", ended_at - timedelta(minutes=1), "sub-late")
    feed(tiers, late)
    assert tiers.tier_of(GUILD, "twitch", "1234") is None  # no bonus for a month
    with tiers.engine.connect() as conn:
        [row] = conn.execute(sub_tiers.select()).all()
    assert row.expires_at.replace(tzinfo=UTC) == ended_at

    # a sub sent after the end is a new one
    feed(tiers, twitch_event("channel.subscribe", ended_at + timedelta(minutes=2), "sub-new"))
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert (sub.tier, sub.source) == ("1", "twitch:channel.subscribe")
    assert sub.expires_at == A_MONTH_ON + timedelta(days=3, minutes=2)


def test_an_end_for_someone_without_a_record_or_in_another_guild_changes_nothing(
    tiers: SubTierService,
) -> None:
    feed(tiers, twitch_event("channel.subscribe", T0))
    end = twitch_event("channel.subscription.end", T0 + timedelta(days=1), "end-1", user_id="99")
    tiers.handle_ended(GUILD, end)
    tiers.handle_ended(GUILD + 1, twitch_event("channel.subscription.end", T0, "end-2"))
    assert tiers.tier_of(GUILD, "twitch", "1234") is not None


def test_a_subscribe_delivered_after_the_end_of_a_sub_never_recorded_does_not_count(
    tiers: SubTierService, clock: Clock
) -> None:
    """The end arrives first (the subscribe's delivery failed and Twitch retried it later): the
    subscribe, sent before the end, is the ended sub told late."""
    ended_at = T0 + timedelta(days=3)
    clock.advance(timedelta(days=3, minutes=5).total_seconds())
    tiers.handle_ended(GUILD, twitch_event("channel.subscription.end", ended_at, "end-1"))
    assert tiers.tier_of(GUILD, "twitch", "1234") is None

    feed(tiers, twitch_event("channel.subscribe", ended_at - timedelta(minutes=1), "sub-late"))
    assert tiers.tier_of(GUILD, "twitch", "1234") is None

    feed(tiers, twitch_event("channel.subscribe", ended_at + timedelta(minutes=2), "sub-new"))
    sub = tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert sub.expires_at == A_MONTH_ON + timedelta(days=3, minutes=2)
