"""Every Twitch EventSub fixture into the right normalized event, and hostile values bounded,
cleaned or refused as for Kick."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from core.events import (
    EVENT_ID_MAX,
    ChatMessageSent,
    Cheered,
    Followed,
    Platform,
    Raided,
    RewardRedeemed,
    StreamEnded,
    StreamStarted,
    Subscribed,
    SubscriptionEnded,
    SubscriptionsGifted,
    Viewer,
    VipAdded,
    VipRemoved,
    event_from_dict,
    event_to_dict,
)
from core.platforms.twitch.notifications import (
    TWITCH_SUBSCRIPTION_TYPES,
    InvalidPayload,
    UnusablePayload,
    parse_notification,
)
from tests.conftest import FIXTURES

SENT_AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
MESSAGE_ID = "00000000-0000-4000-8000-000000000001"


def body_of(name: str) -> dict:
    return json.loads((FIXTURES / "twitch" / f"{name}.json").read_text())


def parse(name: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    body = body or body_of(name)
    return parse_notification(
        body["subscription"]["type"], body, message_id=MESSAGE_ID, delivered_at=SENT_AT
    )


def common(event_id: str = MESSAGE_ID, broadcaster: str = "1337", at: datetime = SENT_AT) -> dict:
    return {
        "platform": Platform.TWITCH,
        "event_id": event_id,
        "broadcaster_user_id": broadcaster,
        "occurred_at": at,
    }


EXPECTED = {
    "channel.chat.message": ChatMessageSent(
        **common("cc106a89-1814-919d-454c-f4f2f970aae7", "1971641"),
        viewer=Viewer("4145994", "viewer32"),
        content="Hi chat",
        badges=("moderator", "subscriber", "sub-gifter"),
        subscriber_badge_version="12",
        subscriber_months=16,
        login="viewer32",  # StreamElements keeps points by login
    ),
    "channel.chat.notification.sub_prime": Subscribed(
        **common("d62235c8-47ff-a4f4-84e8-5a29a65a9c03", "1971641"),
        viewer=Viewer("49912639", "viewer23"),
        tier="1000",
        is_prime=True,
        source_type="channel.chat.notification",
    ),
    "channel.subscribe": Subscribed(
        **common(),
        viewer=Viewer("1234", "Cool_User"),
        tier="1000",
        source_type="channel.subscribe",
    ),
    "channel.subscribe.gift_recipient_tier3": Subscribed(
        **common(),
        viewer=Viewer("5678", "Lucky_Viewer"),
        tier="3000",
        is_gift=True,
        source_type="channel.subscribe",
    ),
    "channel.subscription.message": Subscribed(
        **common(),
        viewer=Viewer("1234", "Cool_User"),
        tier="1000",
        is_renewal=True,
        months=15,
        source_type="channel.subscription.message",
    ),
    "channel.subscription.end": SubscriptionEnded(
        **common(), viewer=Viewer("1234", "Cool_User"), tier="1000"
    ),
    "channel.cheer": Cheered(
        **common(), viewer=Viewer("1234", "Cool_User"), bits=1000, message="pogchamp"
    ),
    "channel.subscription.gift": SubscriptionsGifted(
        **common("gift:1337:1234:284"),
        gifter=Viewer("1234", "Cool_User"),
        count=2,
        tier="1000",
        gift_key="1234:284",
        source_type="channel.subscription.gift",
    ),
    "channel.channel_points_custom_reward_redemption.add": RewardRedeemed(
        **common("1234:unfulfilled", at=datetime(2020, 7, 15, 17, 16, 3, 171067, tzinfo=UTC)),
        viewer=Viewer("9001", "Cooler_User"),
        reward_id="9001",
        reward_title="title",
        cost=100,
        user_input="pogchamp",
        status="unfulfilled",
        redemption_id="1234",
    ),
    "channel.vip.add": VipAdded(**common(), viewer=Viewer("1234", "Mod_User")),
    "channel.vip.remove": VipRemoved(**common(), viewer=Viewer("1234", "Mod_User")),
    "stream.online": StreamStarted(
        **common("9001", at=datetime(2020, 10, 11, 10, 11, 12, 123000, tzinfo=UTC))
    ),
    "stream.offline": StreamEnded(**common()),
    "channel.follow": Followed(
        **common(at=datetime(2020, 7, 15, 18, 16, 11, 171067, tzinfo=UTC)),
        viewer=Viewer("1234", "Cool_User"),
    ),
    "channel.raid": Raided(**common(), raider=Viewer("1234", "Cool_User"), viewers=9001),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_parses_into_its_event(name):
    event = parse(name)
    assert event == EXPECTED[name]
    assert event_from_dict(json.loads(json.dumps(event_to_dict(event)))) == event  # the bus


def test_every_handled_subscription_type_has_a_fixture_or_shares_a_parser():
    covered = {body_of(name)["subscription"]["type"] for name in EXPECTED}
    uncovered = TWITCH_SUBSCRIPTION_TYPES - covered
    assert uncovered == {"channel.channel_points_custom_reward_redemption.update"}


def test_a_redemption_update_is_another_event_than_its_add():
    body = body_of("channel.channel_points_custom_reward_redemption.add")
    body["subscription"]["type"] = "channel.channel_points_custom_reward_redemption.update"
    body["event"]["status"] = "canceled"
    event = parse("", body)
    assert isinstance(event, RewardRedeemed)
    assert (event.event_id, event.status) == ("1234:canceled", "canceled")
    assert event.redemption_id == "1234"  # the same redemption as its add


def test_an_anonymous_gift_has_no_gifter():
    body = body_of("channel.subscription.gift")
    body["event"].update(user_id=None, user_login=None, user_name=None, is_anonymous=True)
    event = parse("", body)
    assert isinstance(event, SubscriptionsGifted)
    assert (event.gifter, event.count, event.tier) == (None, 2, "1000")


def test_a_resub_notice_carries_its_months_and_prime():
    body = body_of("channel.chat.notification.sub_prime")
    body["event"].update(
        notice_type="resub",
        sub=None,
        resub={"sub_tier": "2000", "is_prime": False, "cumulative_months": 7, "is_gift": False},
    )
    event = parse("", body)
    assert isinstance(event, Subscribed)
    assert (event.is_renewal, event.months, event.tier, event.is_prime) == (True, 7, "2000", False)


@pytest.mark.parametrize(
    "notice", ["sub_gift", "community_sub_gift", "gift_paid_upgrade", "raid", "announcement", 7]
)
def test_other_chat_notices_are_not_events(notice):
    """Notices we do not read, and gift notices without their details."""
    body = body_of("channel.chat.notification.sub_prime")
    body["event"]["notice_type"] = notice
    assert parse("", body) is None


def test_the_webhook_and_socket_copies_of_a_gift_are_one_event_on_the_bus():
    body = body_of("channel.subscription.gift")
    copies = [
        parse_notification(
            "channel.subscription.gift", body, message_id=message_id, delivered_at=SENT_AT
        )
        for message_id in ("webhook-message", "socket-message")
    ]
    assert copies[0].key == copies[1].key == "twitch:subscriptions_gifted:gift:1337:1234:284"


def test_a_gift_with_the_longest_ids_is_still_one_event_per_channel():
    """A 64-character broadcaster and gifter id and a 64-bit total: the event id stays within
    its bound (a longer one would refuse the delivery), and still differs by channel."""
    events = []
    for broadcaster in ("b" * 63 + "1", "b" * 63 + "2"):
        body = body_of("channel.subscription.gift")
        body["event"].update(
            broadcaster_user_id=broadcaster, user_id="g" * 64, cumulative_total=2**63 - 1
        )
        events.append(parse("", body))
    assert all(len(event.event_id) <= EVENT_ID_MAX for event in events)
    assert events[0].key != events[1].key
    assert events[0].gift_key == events[1].gift_key == f"{'g' * 64}:{2**63 - 1}"


def test_a_gift_with_its_total_hidden_is_keyed_by_its_delivery_and_has_no_gift_key():
    body = body_of("channel.subscription.gift")
    body["event"]["cumulative_total"] = None
    event = parse("", body)
    assert (event.event_id, event.gift_key) == (MESSAGE_ID, None)


def gift_notice(notice: str, details: dict, anonymous: bool = False) -> dict:
    body = body_of("channel.chat.notification.sub_prime")
    body["event"].update(notice_type=notice, sub=None, chatter_is_anonymous=anonymous)
    body["event"][notice] = details
    return body


def test_a_community_gift_notice_has_the_gift_key_of_its_subscription_gift():
    details = {"id": "8172615512", "total": 5, "sub_tier": "2000", "cumulative_total": 284}
    event = parse("", gift_notice("community_sub_gift", details))
    assert event == SubscriptionsGifted(
        **common("d62235c8-47ff-a4f4-84e8-5a29a65a9c03", "1971641"),
        gifter=Viewer("49912639", "viewer23"),
        count=5,
        tier="2000",
        gift_key="49912639:284",
        source_type="channel.chat.notification",
    )


def test_a_community_gift_notice_with_its_total_hidden_is_keyed_by_the_community_gift():
    details = {"id": "8172615512", "total": 5, "sub_tier": "1000", "cumulative_total": None}
    event = parse("", gift_notice("community_sub_gift", details))
    assert (event.gift_key, event.count) == ("community:8172615512", 5)


def test_an_anonymous_community_gift_has_no_gifter():
    details = {"id": "8172615512", "total": 5, "sub_tier": "1000", "cumulative_total": None}
    event = parse("", gift_notice("community_sub_gift", details, anonymous=True))
    assert event.gifter is None


def test_a_sub_gift_inside_a_community_gift_is_no_event_and_a_single_one_is_a_gift():
    details = {"recipient_user_id": "5678", "sub_tier": "1000", "cumulative_total": 284}
    inside = parse("", gift_notice("sub_gift", {**details, "community_gift_id": "8172615512"}))
    assert inside is None
    single = parse("", gift_notice("sub_gift", {**details, "community_gift_id": None}))
    assert isinstance(single, SubscriptionsGifted)
    assert (single.count, single.gift_key) == (1, "49912639:284")


def test_a_prime_paid_upgrade_is_a_tier_one_sub_that_is_not_prime():
    body = body_of("channel.chat.notification.sub_prime")
    body["event"].update(
        notice_type="prime_paid_upgrade", sub=None, prime_paid_upgrade={"sub_tier": "1000"}
    )
    event = parse("", body)
    assert event == Subscribed(
        **common("d62235c8-47ff-a4f4-84e8-5a29a65a9c03", "1971641"),
        viewer=Viewer("49912639", "viewer23"),
        tier="1000",
        is_prime=False,
        source_type="channel.chat.notification",
    )


def test_a_badge_the_router_knows_gives_its_word_in_lowercase():
    body = body_of("channel.chat.message")
    body["event"]["badges"] = [
        {"set_id": "VIP", "id": "1", "info": ""},
        {"set_id": "founder", "id": "0", "info": "3"},
        {"set_id": None},
        "junk",
    ]
    event = parse("", body)
    assert event.badges == ("vip", "founder")
    assert (event.subscriber_badge_version, event.subscriber_months) == ("0", 3)


def test_the_broadcaster_may_come_from_the_condition_alone():
    body = body_of("stream.offline")
    del body["event"]["broadcaster_user_id"]
    assert parse("", body).broadcaster_user_id == "1337"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.pop("event"), "no event object"),
        (lambda b: b.update(event={"user_id": "1"}, subscription={}), "no broadcaster user id"),
        (lambda b: b["event"].pop("user_id"), "no user_id"),
    ],
)
def test_a_notification_without_what_it_needs_is_unusable(change, reason):
    body = copy.deepcopy(body_of("channel.vip.add"))
    change(body)
    with pytest.raises(UnusablePayload, match=reason):
        parse_notification("channel.vip.add", body, message_id=MESSAGE_ID, delivered_at=SENT_AT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_id", "\ud800"),
        ("user_id", "1" * 65),
        ("user_id", "12 34"),
        ("broadcaster_user_id", "a\x00b"),
        ("user_id", 1e308),
    ],
)
def test_an_id_that_is_no_id_refuses_the_delivery(field, value):
    body = body_of("channel.subscribe")
    body["event"][field] = value
    with pytest.raises(InvalidPayload):
        parse("", body)


def test_text_is_cleaned_and_cut_never_refused():
    body = body_of("channel.chat.message")
    body["event"]["message"]["text"] = "a\x00b\ud800" + "x" * 5000
    body["event"]["chatter_user_name"] = "n" * 500
    event = parse("", body)
    assert event.content.startswith("ab\ufffd")
    assert len(event.content) == 2000
    assert event.viewer.username == "n" * 100
    event.content.encode("utf-8")  # storable


def test_a_chat_message_keeps_the_login_beside_a_localized_display_name():
    body = body_of("channel.chat.message")
    body["event"].update(chatter_user_name="カッパ", chatter_user_login="kappa_fan")
    event = parse("", body)
    assert (event.viewer.username, event.login) == ("カッパ", "kappa_fan")


PARTNER_CHANNEL = "5550001"


def shared_chat_body(typed_in: object) -> dict:
    """The chat fixture as a Shared Chat session delivers it: ``typed_in`` the channel."""
    body = body_of("channel.chat.message")
    body["event"].update(
        source_broadcaster_user_id=typed_in,
        source_broadcaster_user_login="partner",
        source_broadcaster_user_name="Partner",
        source_message_id=body["event"]["message_id"],
        source_badges=[],
    )
    return body


def test_a_shared_chat_message_names_the_channel_it_was_typed_in():
    partner = parse("", shared_chat_body(PARTNER_CHANNEL))
    own = parse("", shared_chat_body("1971641"))  # our channel's own chat, shared
    alone = parse("channel.chat.message")  # no shared chat session: every source_* is null
    assert partner.broadcaster_user_id == own.broadcaster_user_id == "1971641"
    assert (partner.source_broadcaster_user_id, partner.from_another_channel) == (
        PARTNER_CHANNEL,
        True,
    )
    assert (own.source_broadcaster_user_id, own.from_another_channel) == ("1971641", False)
    assert (alone.source_broadcaster_user_id, alone.from_another_channel) == (None, False)


@pytest.mark.parametrize("value", ["\ud800", "1" * 65, "12 34", 1e308, 1.5, {"id": "1"}, True, ""])
def test_an_unreadable_shared_chat_source_is_none_and_the_message_is_kept(value):
    event = parse("", shared_chat_body(value))
    assert isinstance(event, ChatMessageSent)
    assert (event.source_broadcaster_user_id, event.from_another_channel) == (None, False)


def test_a_chat_message_stored_before_the_shared_chat_source_was_read_still_decodes():
    event = parse("", shared_chat_body(PARTNER_CHANNEL))
    stored = json.loads(json.dumps(event_to_dict(event)))
    assert event_from_dict(stored) == event
    del stored["source_broadcaster_user_id"]  # as the bus kept it before
    older = event_from_dict(stored)
    assert (older.source_broadcaster_user_id, older.from_another_channel) == (None, False)


def test_a_reward_cost_beyond_64_bits_refuses_the_delivery():
    body = body_of("channel.channel_points_custom_reward_redemption.add")
    body["event"]["reward"]["cost"] = 2**70
    with pytest.raises(InvalidPayload):
        parse("", body)


def test_an_unhandled_subscription_type_is_none():
    assert (
        parse_notification("channel.ban", {"event": {}}, message_id="m", delivered_at=SENT_AT)
        is None
    )


def test_an_anonymous_cheer_names_nobody():
    body = body_of("channel.cheer")
    body["event"].update(is_anonymous=True, user_id=None, user_login=None, user_name=None)
    event = parse("channel.cheer", body)
    assert isinstance(event, Cheered)
    assert (event.viewer, event.bits) == (None, 1000)


def test_a_raid_needs_the_raiding_channel():
    body = body_of("channel.raid")
    del body["event"]["from_broadcaster_user_id"]
    with pytest.raises(UnusablePayload):
        parse("channel.raid", body)
