from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.events import (
    ChatMessageSent,
    Event,
    Followed,
    KicksGifted,
    Platform,
    Raided,
    RewardRedeemed,
    StreamEnded,
    StreamStarted,
    Subscribed,
    SubscriptionsGifted,
    Viewer,
    ViewerBanned,
    event_from_dict,
    event_to_dict,
)
from core.platforms.kick.pusher_arrivals import FirstArrivals
from core.platforms.kick.pusher_events import (
    REWARD_WINDOW_SECONDS,
    channel_key,
    decode_frame,
    event_from_frame,
    is_money_like,
    parse_frame,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kick"
RECEIVED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BROADCASTER = "18312333"

# The inline ChatMessageEvent variants of tests/fixtures/kick/README.md section 4.
CHAT_WITH_MESSAGE_REF = (
    '{"id":"306a5724-94a2-4053-85d3-0d0c4af40806","chatroom_id":2346570,"content":"Test 8",'
    '"type":"message","created_at":"2025-08-20T07:07:44+00:00","sender":{"id":2408714,'
    '"username":"TheStaticMage","slug":"thestaticmage","identity":{"color":"#DEB2FF",'
    '"badges":[{"type":"broadcaster","text":"Broadcaster"}]}},'
    '"metadata":{"message_ref":"1755673663786"}}'
)
CHAT_WITHOUT_METADATA = (
    '{"id":"59778b1e-9c4d-42e3-a1c7-8cf6de3eee79","chatroom_id":2346570,'
    '"content":"Message sent as bot","type":"message","created_at":"2025-08-21T07:20:31+00:00",'
    '"sender":{"id":72805522,"username":"thestaticmagetest","slug":"thestaticmagetest",'
    '"identity":{"color":"#31D6C2","badges":[]}}}'
)
CHAT_CELEBRATION = (
    '{"id":"1fc36aef-d1c8-4af3-841f-0d38574b73c3","chatroom_id":31047538,"content":"\\ud83c\\udf89",'
    '"type":"celebration","created_at":"2025-07-19T14:18:32+00:00","sender":{"id":11497484,'
    '"username":"jerkpupputo","slug":"jerkpupputo","identity":{"color":"#FF9D00",'
    '"badges":[{"type":"founder","text":"Founder"},{"type":"subscriber","text":"Subscriber",'
    '"count":2}]}},"metadata":{"celebration":{"id":"chceleb_01K0518CW5PNSCAWDSXZY5806C",'
    '"type":"subscription_renewed","total_months":2,"created_at":"2025-07-14T17:55:52.83787Z"}}}'
)


def fixture_text(event_name: str) -> str:
    return (FIXTURES / f"pusher-{event_name}.json").read_text()


def fixture_frame(event_name: str) -> dict[str, Any]:
    return json.loads(fixture_text(event_name))


def frame(event: str, data: Any, channel: str | None = "chatrooms.1.v2") -> str:
    """A wire frame; ``data`` that is not a string is JSON-encoded as Kick does."""
    body: dict[str, Any] = {
        "event": event,
        "data": data if isinstance(data, str) else json.dumps(data),
    }
    if channel is not None:
        body["channel"] = channel
    return json.dumps(body)


def parse(raw: str | bytes, received_at: datetime = RECEIVED_AT) -> Event | None:
    return parse_frame(raw, broadcaster_user_id=BROADCASTER, received_at=received_at)


def kick(event_id: str, occurred_at: datetime = RECEIVED_AT) -> dict[str, Any]:
    return {
        "platform": Platform.KICK,
        "event_id": event_id,
        "broadcaster_user_id": BROADCASTER,
        "occurred_at": occurred_at,
    }


# --- the captured frames -------------------------------------------------------------------------


def test_chat_message_fixture_is_a_reply_with_badges() -> None:
    assert parse(fixture_text("ChatMessageEvent")) == ChatMessageSent(
        **kick(
            "37e2ddbd-302c-4e5a-beda-4913c1747459", datetime(2025, 7, 19, 3, 47, 45, tzinfo=UTC)
        ),
        viewer=Viewer("3528468", "OhLookItsMax"),
        content="this is what someone deals with after Litney goes through Deadspace",
        badges=("vip", "subscriber"),
        reply_to_message_id="91c93aae-23c4-4f62-acae-a3ca5782b8c7",
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            CHAT_WITH_MESSAGE_REF,
            ChatMessageSent(
                **kick(
                    "306a5724-94a2-4053-85d3-0d0c4af40806",
                    datetime(2025, 8, 20, 7, 7, 44, tzinfo=UTC),
                ),
                viewer=Viewer("2408714", "TheStaticMage"),
                content="Test 8",
                badges=("broadcaster",),
            ),
        ),
        (
            CHAT_WITHOUT_METADATA,
            ChatMessageSent(
                **kick(
                    "59778b1e-9c4d-42e3-a1c7-8cf6de3eee79",
                    datetime(2025, 8, 21, 7, 20, 31, tzinfo=UTC),
                ),
                viewer=Viewer("72805522", "thestaticmagetest"),
                content="Message sent as bot",
            ),
        ),
        (
            CHAT_CELEBRATION,
            ChatMessageSent(
                **kick(
                    "1fc36aef-d1c8-4af3-841f-0d38574b73c3",
                    datetime(2025, 7, 19, 14, 18, 32, tzinfo=UTC),
                ),
                viewer=Viewer("11497484", "jerkpupputo"),
                content="\N{PARTY POPPER}",
                badges=("founder", "subscriber"),
            ),
        ),
    ],
    ids=["message-ref", "no-metadata", "celebration"],
)
def test_inline_chat_variants(data: str, expected: ChatMessageSent) -> None:
    assert parse(frame("App\\Events\\ChatMessageEvent", data)) == expected


def test_subscription_fixture_names_the_subscriber_without_an_id() -> None:
    event = parse(fixture_text("SubscriptionEvent"))
    assert isinstance(event, Subscribed)
    assert event.viewer == Viewer(None, "The_D0ctor")
    assert (event.months, event.is_renewal, event.occurred_at) == (1, False, RECEIVED_AT)
    assert event.event_id.startswith("pusher-")


def test_subscription_of_several_months_is_a_renewal() -> None:
    event = parse(frame("SubscriptionEvent", {"chatroom_id": 1, "username": "a", "months": "7"}))
    assert isinstance(event, Subscribed)
    assert (event.months, event.is_renewal) == (7, True)


def test_gifted_subscriptions_fixture() -> None:
    event = parse(fixture_text("GiftedSubscriptionsEvent"))
    assert isinstance(event, SubscriptionsGifted)
    assert event.gifter == Viewer(None, "F1Aa")
    assert event.giftees == (Viewer(None, "rawze"),)
    assert (event.count, event.occurred_at) == (1, RECEIVED_AT)


def test_lucky_users_fixture() -> None:
    event = parse(fixture_text("LuckyUsersWhoGotGiftSubscriptionsEvent"))
    assert isinstance(event, SubscriptionsGifted)
    assert event.gifter == Viewer(None, "astra555")
    assert [giftee.username for giftee in event.giftees] == [
        "kernanator",
        "OhDollar",
        "UZJ100",
        "slimetimelive",
        "m1nt710",
    ]
    assert all(giftee.platform_user_id is None for giftee in event.giftees)
    assert event.count == 5


def test_legacy_gift_notice_fixture_keeps_the_gifter_id_and_time() -> None:
    event = parse(fixture_text("ChatMessageSentEvent"))
    assert isinstance(event, SubscriptionsGifted)
    assert event.gifter == Viewer("2289061", "PhatBoiLotto")
    assert [giftee.username for giftee in event.giftees] == [
        "Terraflux",
        "xHayir",
        "Darren911",
        "Hoodhotest",
        "thetroublewithravens",
    ]
    assert event.count == 5
    assert event.occurred_at == datetime.fromtimestamp(1751605454, UTC)


def test_reward_redeemed_fixture() -> None:
    event = parse(fixture_text("RewardRedeemedEvent"))
    assert isinstance(event, RewardRedeemed)
    assert event.viewer == Viewer("1502053", "Bombg")
    assert (event.reward_title, event.user_input, event.status) == ("da bears", "", "pending")
    assert (event.reward_id, event.cost) == (None, None)


def test_a_redemption_repeated_on_another_alias_across_a_window_edge_is_one_event() -> None:
    """Kick repeats a frame on a chatroom's aliases moments apart; a redemption's id comes from
    its time window, so a copy just past the window's edge read as of its own arrival would be
    a second redemption (a second VIP role extension). Read as of the first arrival, it is the
    same event; the same redemption again a minute later is another."""
    arrivals = FirstArrivals()
    frame = fixture_frame("RewardRedeemedEvent")
    first_at = datetime(2026, 1, 1, 12, 0, 9, 900_000, tzinfo=UTC)  # the window ends at :10

    def event_at(channel: str, at: datetime) -> Event | None:
        decoded = decode_frame(json.dumps({**frame, "channel": channel}))
        assert decoded is not None
        received = arrivals.of(decoded, BROADCASTER, at)
        return event_from_frame(decoded, broadcaster_user_id=BROADCASTER, received_at=received)

    first = event_at("chatrooms.2346570.v2", first_at)
    copy = event_at("chatroom_2346570", first_at + timedelta(milliseconds=300))
    later = event_at("chatrooms.2346570.v2", first_at + timedelta(minutes=1))

    assert first is not None
    assert copy is not None
    assert later is not None
    assert copy.key == first.key
    assert later.key != first.key


def test_one_gift_told_by_two_kinds_of_frame_across_a_window_edge_is_one_event() -> None:
    """A gift's id holds its time window (GIFT_WINDOW_SECONDS), and Kick tells one gift as up
    to three kinds of frame with different data, moments apart. Read as of its own arrival, a
    frame just past the window's edge would be a second gift (a second VIP extension); read as
    of the gift's first frame it is the same event, and the same gift again later is another."""
    arrivals = FirstArrivals()
    gifted = decode_frame(
        frame(
            "GiftedSubscriptionsEvent",
            {"gifted_usernames": ["Alice", "bob"], "gifter_username": "Giver"},
            "chatroom_1",
        )
    )
    lucky = decode_frame(
        frame(
            "App\\Events\\LuckyUsersWhoGotGiftSubscriptionsEvent",
            {"usernames": ["bob", "alice"], "gifter_username": "giver"},
            "channel.2",
        )
    )
    assert gifted is not None
    assert lucky is not None
    first_at = datetime(2026, 1, 1, 12, 9, 59, 900_000, tzinfo=UTC)  # the window ends at 12:10

    first = arrivals.read(gifted, BROADCASTER, first_at)
    copy = arrivals.read(lucky, BROADCASTER, first_at + timedelta(milliseconds=300))
    alone = event_from_frame(
        lucky, broadcaster_user_id=BROADCASTER, received_at=first_at + timedelta(milliseconds=300)
    )
    later = arrivals.read(gifted, BROADCASTER, first_at + timedelta(minutes=20))

    assert isinstance(first, SubscriptionsGifted)
    assert isinstance(copy, SubscriptionsGifted)
    assert alone is not None
    assert later is not None
    assert copy.key == first.key
    assert alone.key != first.key  # what the edge would make of it, read on its own
    assert later.key != first.key


def test_chat_is_read_as_of_its_own_arrival() -> None:
    arrivals = FirstArrivals()
    chat = fixture_frame("ChatMessageEvent")
    decoded = decode_frame(json.dumps(chat))
    assert decoded is not None
    first = arrivals.read(decoded, BROADCASTER, RECEIVED_AT)
    again = arrivals.read(decoded, BROADCASTER, RECEIVED_AT + timedelta(seconds=5))
    assert isinstance(first, ChatMessageSent)
    assert isinstance(again, ChatMessageSent)
    assert first.key == again.key  # named by its message id, whenever it came


def test_first_arrivals_forget_what_is_old_and_keep_a_bounded_count() -> None:
    arrivals = FirstArrivals(keep_seconds=30.0, most=3)
    frames = [decode_frame(json.dumps({"event": f"E{n}", "data": {}})) for n in range(5)]
    for n, frame in enumerate(frames):
        assert frame is not None
        assert arrivals.of(frame, BROADCASTER, RECEIVED_AT + timedelta(seconds=n)) == (
            RECEIVED_AT + timedelta(seconds=n)
        )
    assert len(arrivals._first) == 3
    late = RECEIVED_AT + timedelta(seconds=60)
    assert arrivals.of(frames[4], BROADCASTER, late) == late  # forgotten after 30 s


def test_user_banned_fixture_is_a_timeout_by_a_web_ui_moderator() -> None:
    assert parse(fixture_text("UserBannedEvent")) == ViewerBanned(
        **kick("286ae0b2-bba8-497d-a783-1adf703cbe03"),
        viewer=Viewer("63349022", "darer123"),
        moderator=Viewer(None, "Vixie_Vu"),  # banned_by.id 0: made in the web UI
        expires_at=datetime(2025, 7, 18, 8, 12, 14, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "event_name",
    [
        "ChannelSubscriptionEvent",
        "GiftsLeaderboardUpdated",
        "ChatMoveToSupportedChannelEvent",
    ],
)
def test_fixtures_we_do_not_use_give_none(event_name: str) -> None:
    assert parse(fixture_text(event_name)) is None


def test_a_host_is_a_raid_with_its_viewers() -> None:
    event = parse(fixture_text("StreamHostedEvent"))
    assert isinstance(event, Raided)
    assert event.event_id == "af4673b8-a06f-4d47-84d2-9fb8c75117e2"
    assert event.raider == Viewer("2341810", "ABC")
    assert event.viewers == 8
    assert event.message == ""


# --- frames from kick.md's field lists (no real capture exists) --------------------------------


def test_streamer_is_live() -> None:
    data = {
        "livestream": {
            "id": 3456789,
            "channel_id": 17425723,
            "session_title": "Title of my stream",
            "source": None,
            "created_at": "2025-08-21 17:06:41",
        }
    }
    event = parse(frame("App\\Events\\StreamerIsLive", data, "channel.17425723"))
    assert isinstance(event, StreamStarted)
    assert event.title == "Title of my stream"
    assert event.occurred_at == datetime(2025, 8, 21, 17, 6, 41, tzinfo=UTC)


def test_stop_stream_broadcast() -> None:
    data = {"livestream": {"id": 3456789, "channel": {"id": 17425723, "is_banned": False}}}
    event = parse(frame("App\\Events\\StopStreamBroadcast", data, "channel.17425723"))
    assert isinstance(event, StreamEnded)
    assert event.occurred_at == RECEIVED_AT


def test_permanent_ban_has_no_expiry() -> None:
    data = {
        "id": "b1",
        "user": {"id": 5, "username": "troll"},
        "banned_by": {"id": 9, "username": "mod"},
        "permanent": True,
        "expires_at": "2025-07-18T08:12:14+00:00",
    }
    event = parse(frame("UserBannedEvent", data))
    assert isinstance(event, ViewerBanned)
    assert (event.expires_at, event.moderator) == (None, Viewer("9", "mod"))


def test_timeout_without_expiry_lasts_its_duration_from_receipt() -> None:
    data = {"id": "b2", "user": {"id": 5, "username": "troll"}, "permanent": False, "duration": 10}
    event = parse(frame("UserBannedEvent", data))
    assert isinstance(event, ViewerBanned)
    assert event.expires_at == RECEIVED_AT + timedelta(minutes=10)
    assert event.moderator is None


def test_legacy_chat_message_that_is_not_a_gift_gives_none() -> None:
    data = {"message": {"id": "m1", "message": "hi", "action": None}, "user": {"id": 1}}
    assert parse(frame("App\\Events\\ChatMessageSentEvent", data, "chatrooms.1")) is None


# --- decoding ------------------------------------------------------------------------------------


def test_prefix_is_optional() -> None:
    data = fixture_frame("ChatMessageEvent")["data"]
    assert parse(frame("App\\Events\\ChatMessageEvent", data)) == parse(
        frame("ChatMessageEvent", data)
    )


def test_data_may_already_be_an_object_and_the_frame_bytes() -> None:
    wire = fixture_frame("SubscriptionEvent")
    as_object = json.dumps({**wire, "data": json.loads(wire["data"])})
    assert parse(as_object) == parse(fixture_text("SubscriptionEvent"))
    assert parse(fixture_text("SubscriptionEvent").encode()) == parse(as_object)


def test_decode_frame_strips_the_prefix_and_decodes_data_twice() -> None:
    decoded = decode_frame(fixture_text("SubscriptionEvent"))
    assert decoded is not None
    assert decoded.event == "SubscriptionEvent"
    assert decoded.channel == "chatrooms.31047538.v2"
    assert decoded.data == {"chatroom_id": 31047538, "username": "The_D0ctor", "months": 1}


def test_occurred_at_is_never_after_receipt() -> None:
    data = json.loads(CHAT_WITHOUT_METADATA) | {"created_at": "2030-01-01T00:00:00Z"}
    event = parse(frame("ChatMessageEvent", data))
    assert event is not None
    assert event.occurred_at == RECEIVED_AT


def test_chat_from_a_sender_without_id_keeps_the_name() -> None:
    data = json.loads(CHAT_WITHOUT_METADATA) | {"sender": {"username": "ghost"}}
    event = parse(frame("ChatMessageEvent", data))
    assert isinstance(event, ChatMessageSent)
    assert event.viewer == Viewer(None, "ghost")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        b"\xff\xfe",
        "null",
        "[]",
        '"a string"',
        "42",
        '{"data": "{}"}',
        '{"event": 7, "data": "{}"}',
        '{"event": "", "data": "{}"}',
        '{"event": "ChatMessageEvent"}',
        '{"event": "ChatMessageEvent", "data": "not json"}',
        '{"event": "ChatMessageEvent", "data": "[1, 2]"}',
        '{"event": "ChatMessageEvent", "data": 12}',
        '{"event": "ChatMessageEvent", "data": "{}"}',
        '{"event": "ChatMessageEvent", "data": "{\\"sender\\": \\"nobody\\"}"}',
        '{"event": "ChatMessageEvent", "data": {"sender": {"id": true, "username": []}}}',
        '{"event": "SubscriptionEvent", "data": "{\\"username\\": null, \\"months\\": 1}"}',
        '{"event": "GiftedSubscriptionsEvent", "data": "{\\"gifted_usernames\\": \\"x\\"}"}',
        '{"event": "LuckyUsersWhoGotGiftSubscriptionsEvent", "data": {"usernames": [null, ""]}}',
        '{"event": "RewardRedeemedEvent", "data": {"reward_title": "x"}}',
        '{"event": "UserBannedEvent", "data": {"user": "x"}}',
        '{"event": "StopStreamBroadcast", "data": "[]"}',
        '{"event": "ChatMessageEvent", "data": "' + "[" * 5000 + '"}',
        "[" * 100_000,
        '{"event": "pusher:connection_established", "data": "{\\"socket_id\\": \\"1.2\\"}"}',
        '{"event": "pusher_internal:subscription_succeeded", "data": "{}", "channel": "c"}',
        '{"event": "pusher:ping", "data": {}}',
        '{"event": "pusher:error", "data": {"code": 4200, "message": "Please reconnect"}}',
        '{"event": "App\\\\Events\\\\PinnedMessageCreatedEvent", "data": "{}"}',
        '{"event": "App\\\\Events\\\\PollUpdateEvent", "data": "{}"}',
        '{"event": "App\\\\Events\\\\KicksGifted", "data": "{}"}',
    ],
)
def test_junk_and_unused_frames_give_none(raw: str | bytes) -> None:
    assert parse(raw) is None


def test_fields_of_the_wrong_type_are_ignored() -> None:
    data = {
        "id": 12345,
        "content": ["x"],
        "created_at": "yesterday",
        "sender": {"id": 7.0, "username": 42, "identity": {"badges": "vip"}},
        "metadata": {"original_message": "m"},
    }
    assert parse(frame("ChatMessageEvent", data)) == ChatMessageSent(
        **kick("12345"), viewer=Viewer("7", "42")
    )


# --- event ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_name", "aliases"),
    [
        ("SubscriptionEvent", ["chatrooms.31047538.v2", "chatrooms.31047538", "chatroom_31047538"]),
        ("GiftedSubscriptionsEvent", ["chatroom_25951243", "chatrooms.25951243.v2"]),
        ("RewardRedeemedEvent", ["chatroom_20041545", "chatrooms.20041545.v2"]),
        ("UserBannedEvent", ["chatrooms.28037413.v2", "chatroom_28037413"]),
        ("LuckyUsersWhoGotGiftSubscriptionsEvent", ["channel.17425723", "channel_17425723"]),
    ],
)
def test_the_same_frame_on_alias_channels_has_one_event_id(
    event_name: str, aliases: list[str]
) -> None:
    wire = fixture_frame(event_name)
    events = [parse(json.dumps({**wire, "channel": alias})) for alias in aliases]
    assert None not in events
    assert len({event.key for event in events if event}) == 1


def test_stream_events_on_channel_aliases_share_an_id() -> None:
    data = {"livestream": {"id": 1, "channel": {"id": 2, "is_banned": False}}}
    dotted = parse(frame("App\\Events\\StopStreamBroadcast", data, "channel.2"))
    underscored = parse(frame("StopStreamBroadcast", data, "channel_2"))
    assert dotted is not None
    assert underscored is not None
    assert dotted.event_id == underscored.event_id


def test_different_chatrooms_give_different_ids() -> None:
    wire = fixture_frame("SubscriptionEvent")
    first = parse(json.dumps({**wire, "channel": "chatrooms.1.v2"}))
    second = parse(json.dumps({**wire, "channel": "chatrooms.2.v2"}))
    assert first is not None
    assert second is not None
    assert first.event_id != second.event_id


def test_key_order_and_escaping_inside_data_do_not_change_the_id() -> None:
    data = {"chatroom_id": 1, "username": "a/b", "months": 2}
    compact = frame("SubscriptionEvent", json.dumps(data))
    reordered = frame("SubscriptionEvent", '{"months":2,"username":"a\\/b","chatroom_id":1}')
    first, second = parse(compact), parse(reordered)
    assert first is not None
    assert second is not None
    assert first.event_id == second.event_id


def test_one_gift_reported_as_three_event_types_has_one_id() -> None:
    names = ["Alice", "bob"]
    gifted = frame(
        "GiftedSubscriptionsEvent",
        {
            "chatroom_id": 1,
            "gifted_usernames": names,
            "gifter_username": "Giver",
            "gifter_total": 9,
        },
        "chatroom_1",
    )
    lucky = frame(
        "App\\Events\\LuckyUsersWhoGotGiftSubscriptionsEvent",
        {"channel": {"id": 2}, "usernames": ["bob", "alice"], "gifter_username": "giver"},
        "channel.2",
    )
    legacy = frame(
        "App\\Events\\ChatMessageSentEvent",
        {
            "message": {
                "id": "93ae8404-b077-46ba-a095-76f167b3b185",
                "action": "gift",
                "subscriptions_count": 2,
                "giftedUsers": [{"username": name, "monthsSubscribed": 1} for name in names],
                "created_at": 1751605454,
            },
            "user": {"id": 77, "username": "Giver"},
        },
        "chatrooms.1",
    )
    events = [parse(raw) for raw in (gifted, lucky, legacy)]
    assert all(isinstance(event, SubscriptionsGifted) for event in events)
    assert len({event.key for event in events if event}) == 1


def test_repeated_reward_redemptions_get_new_ids_outside_the_window() -> None:
    raw = fixture_text("RewardRedeemedEvent")
    first = parse(raw, RECEIVED_AT)
    alias_copy = parse(raw, RECEIVED_AT + timedelta(seconds=1))
    later = parse(raw, RECEIVED_AT + timedelta(seconds=REWARD_WINDOW_SECONDS))
    assert first is not None
    assert alias_copy is not None
    assert later is not None
    assert first.event_id == alias_copy.event_id
    assert later.event_id != first.event_id


def test_reward_with_an_id_uses_it_like_the_webhook_does() -> None:
    data = json.loads(fixture_frame("RewardRedeemedEvent")["data"]) | {"id": "01HREDEEM"}
    event = parse(frame("RewardRedeemedEvent", data, "chatroom_1"))
    assert event is not None
    assert event.event_id == "01HREDEEM:pending"


@pytest.mark.parametrize(
    ("channel", "key"),
    [
        ("chatrooms.5.v2", "chatroom:5"),
        ("chatrooms.5", "chatroom:5"),
        ("chatroom_5", "chatroom:5"),
        ("channel.6", "channel:6"),
        ("channel_6", "channel:6"),
        ("private-livestream.7", "private-livestream.7"),
        (None, ""),
    ],
)
def test_channel_key(channel: str | None, key: str) -> None:
    assert channel_key(channel) == key


# --- bus compatibility and money ------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_name",
    [
        "ChatMessageEvent",
        "SubscriptionEvent",
        "GiftedSubscriptionsEvent",
        "LuckyUsersWhoGotGiftSubscriptionsEvent",
        "ChatMessageSentEvent",
        "RewardRedeemedEvent",
        "UserBannedEvent",
    ],
)
def test_parsed_events_survive_the_bus_round_trip(event_name: str) -> None:
    event = parse(fixture_text(event_name))
    assert event is not None
    assert event_from_dict(json.loads(json.dumps(event_to_dict(event)))) == event


def _viewer() -> Viewer:
    return Viewer("1", "a")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Subscribed(**kick("e"), viewer=_viewer()), True),
        (SubscriptionsGifted(**kick("e"), gifter=None, count=1), True),
        (RewardRedeemed(**kick("e"), viewer=_viewer()), True),
        (KicksGifted(**kick("e"), viewer=_viewer(), amount=100), True),
        (ChatMessageSent(**kick("e"), viewer=_viewer()), False),
        (StreamStarted(**kick("e")), False),
        (StreamEnded(**kick("e")), False),
        (ViewerBanned(**kick("e"), viewer=_viewer()), False),
        (Followed(**kick("e"), viewer=_viewer()), False),
    ],
)
def test_is_money_like(event: Event, expected: bool) -> None:
    assert is_money_like(event) is expected
