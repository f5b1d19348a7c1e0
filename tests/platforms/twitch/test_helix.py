"""Every Helix method against the fake over loopback HTTP, and every refusal typed."""

from __future__ import annotations

import pytest

from core.platforms.twitch.helix import (
    BadRequest,
    Conflict,
    Forbidden,
    HelixClient,
    HelixError,
    NotFound,
    RateLimited,
    TooEarly,
    Unauthorized,
    Unprocessable,
)
from core.platforms.twitch.oauth_client import SCOPES
from tests.fakes.twitch_server import CLIENT_ID, FakeTwitch
from tests.platforms.twitch.conftest import BROADCASTER_ID

VIPS = "/helix/channels/vips"
REWARDS = "/helix/channel_points/custom_rewards"
REDEMPTIONS = f"{REWARDS}/redemptions"


def viewers(twitch: FakeTwitch, count: int, start: int = 1000) -> list[str]:
    ids = [str(start + n) for n in range(count)]
    for user_id in ids:
        twitch.add_user(user_id, f"viewer{user_id}")
    return ids


# Users


async def test_get_users_without_ids_is_the_tokens_user_as_in_the_fixture(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    (user,) = await helix.get_users(token)

    assert (user.id, user.login, user.display_name) == (BROADCASTER_ID, "twitchdev", "Twitchdev")
    assert user.broadcaster_type == "affiliate"
    assert user.created_at is not None
    assert user.created_at.year == 2016
    (request,) = twitch.requests_to("/helix/users")
    assert request.client_id == CLIENT_ID


async def test_get_users_batches_ids_and_logins_100_to_a_request(
    helix: HelixClient, app_token: str, twitch: FakeTwitch
) -> None:
    ids = viewers(twitch, 150)

    users = await helix.get_users(app_token, ids=ids, logins=["twitchdev", "viewer1000"])

    assert {u.id for u in users} == {*ids, BROADCASTER_ID}
    sizes = [len(r.query.get("id", []) + r.query.get("login", [])) for r in twitch.requests]
    assert sizes == [100, 52]


async def test_get_users_with_an_app_token_and_nothing_to_look_up_is_a_bad_request(
    helix: HelixClient, app_token: str
) -> None:
    with pytest.raises(BadRequest, match="Must provide an ID"):
        await helix.get_users(app_token)


# VIPs


async def test_add_list_and_remove_a_vip(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    (viewer,) = viewers(twitch, 1)

    await helix.add_vip(token, BROADCASTER_ID, viewer)
    listed = await helix.get_vips(token, BROADCASTER_ID)
    await helix.remove_vip(token, BROADCASTER_ID, viewer)

    assert [(v.user_id, v.user_login, v.user_name) for v in listed] == [
        (viewer, "viewer1000", "Viewer1000")
    ]
    assert twitch.channels[BROADCASTER_ID].vips == []
    assert [r.status for r in twitch.requests_to(VIPS)] == [204, 200, 204]


async def test_get_vips_follows_the_cursor_through_every_page(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    twitch.page_size = 3
    ids = viewers(twitch, 8)
    twitch.channels[BROADCASTER_ID].vips.extend(ids)

    listed = await helix.get_vips(token, BROADCASTER_ID)

    assert [v.user_id for v in listed] == ids
    afters = [r.query.get("after") for r in twitch.requests_to(VIPS)]
    assert afters[0] is None
    assert all(afters[1:])
    assert len(afters) == 3


async def test_get_vips_by_user_ids_batches_100_and_drops_non_vips(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    ids = viewers(twitch, 130)
    twitch.channels[BROADCASTER_ID].vips.extend([ids[5], ids[120]])

    listed = await helix.get_vips(token, BROADCASTER_ID, ids)

    assert [v.user_id for v in listed] == [ids[5], ids[120]]
    assert [len(r.query["user_id"]) for r in twitch.requests_to(VIPS)] == [100, 30]


@pytest.mark.parametrize(
    ("setup", "error", "status"),
    [
        (lambda c, v: c.moderators.add(v), Unprocessable, 422),
        (lambda c, v: c.vips.append(v), Unprocessable, 422),
        (lambda c, v: c.blocked.add(v), BadRequest, 400),
        (lambda c, v: setattr(c, "has_build_a_community", False), TooEarly, 425),
        (lambda c, v: setattr(c, "vip_slots", 0), Conflict, 409),
    ],
    ids=["moderator", "already-vip", "blocked", "no-achievement", "no-slots"],
)
async def test_add_vip_refusals_are_typed_by_status(
    helix: HelixClient, token: str, twitch: FakeTwitch, setup, error, status
) -> None:
    (viewer,) = viewers(twitch, 1)
    setup(twitch.channels[BROADCASTER_ID], viewer)

    with pytest.raises(error) as caught:
        await helix.add_vip(token, BROADCASTER_ID, viewer)

    assert caught.value.status == status
    assert len(twitch.requests_to(VIPS)) == 1  # a refusal is final, never retried


async def test_the_moderator_refusal_carries_twitchs_envelope(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    (viewer,) = viewers(twitch, 1)
    twitch.channels[BROADCASTER_ID].moderators.add(viewer)

    with pytest.raises(Unprocessable) as caught:
        await helix.add_vip(token, BROADCASTER_ID, viewer)

    assert caught.value.error == "Unprocessable Entity"
    assert caught.value.message.startswith("The specified user is a moderator.")


async def test_removing_someone_who_is_not_a_vip_is_unprocessable(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    (viewer,) = viewers(twitch, 1)

    with pytest.raises(Unprocessable):
        await helix.remove_vip(token, BROADCASTER_ID, viewer)


async def test_vip_changes_in_another_channel_are_forbidden_and_unknown_users_not_found(
    helix: HelixClient, twitch: FakeTwitch
) -> None:
    (viewer,) = viewers(twitch, 1)
    other = twitch.issue_user_token(viewer)

    with pytest.raises(Forbidden):
        await helix.add_vip(other, BROADCASTER_ID, viewer)
    with pytest.raises(NotFound):
        await helix.add_vip(twitch.issue_user_token(), BROADCASTER_ID, "999999")


async def test_a_vip_addition_twitch_refuses_429_waits_the_endpoints_window(
    helix: HelixClient, token: str, twitch: FakeTwitch, sleep
) -> None:
    """Ten additions made elsewhere just now (on twitch.tv, another app): this client's own
    window is empty (tests/platforms/twitch/test_helix_windows.py), Twitch's is full."""
    (viewer,) = viewers(twitch, 1)
    channel = twitch.channels[BROADCASTER_ID]
    channel.vip_changes = [("addition", twitch.clock())] * 10

    await helix.add_vip(token, BROADCASTER_ID, viewer)

    assert channel.vips == [viewer]
    assert sleep.delays == [10.0]
    assert [r.status for r in twitch.requests_to(VIPS)] == [429, 204]


# Custom rewards and redemptions


async def test_create_update_list_and_delete_our_reward(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    reward = await helix.create_reward(
        token,
        BROADCASTER_ID,
        "Temp VIP (24h)",
        5000,
        prompt="Become VIP for a day",
        should_redemptions_skip_request_queue=False,
        is_global_cooldown_enabled=True,
        global_cooldown_seconds=60,
    )
    paused = await helix.update_reward(token, BROADCASTER_ID, reward.id, is_paused=True)
    ours = await helix.get_rewards(token, BROADCASTER_ID, only_manageable=True)
    await helix.delete_reward(token, BROADCASTER_ID, reward.id)

    assert (reward.title, reward.cost, reward.prompt) == (
        "Temp VIP (24h)",
        5000,
        "Become VIP for a day",
    )
    assert reward.global_cooldown_seconds == 60
    assert reward.max_per_stream is None
    assert not reward.should_redemptions_skip_request_queue
    assert paused.is_paused
    assert [r.id for r in ours] == [reward.id]
    assert twitch.rewards == {}


async def test_a_reward_made_on_twitch_is_listed_but_cannot_be_changed_by_our_client(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    theirs = twitch.add_reward(BROADCASTER_ID, "Hydrate", 100)

    everything = await helix.get_rewards(token, BROADCASTER_ID)
    ours = await helix.get_rewards(token, BROADCASTER_ID, only_manageable=True)
    for attempt in (
        helix.update_reward(token, BROADCASTER_ID, theirs, cost=1),
        helix.delete_reward(token, BROADCASTER_ID, theirs),
        helix.get_redemptions(token, BROADCASTER_ID, theirs),
    ):
        with pytest.raises(Forbidden, match="client ID used to create"):
            await attempt

    assert [r.id for r in everything] == [theirs]
    assert ours == []


async def test_reward_refusals(helix: HelixClient, token: str, twitch: FakeTwitch) -> None:
    await helix.create_reward(token, BROADCASTER_ID, "Same", 10)

    with pytest.raises(BadRequest, match="DUPLICATE"):
        await helix.create_reward(token, BROADCASTER_ID, "Same", 10)
    with pytest.raises(NotFound):
        await helix.update_reward(token, BROADCASTER_ID, "no-such-reward", cost=5)
    twitch.channels[BROADCASTER_ID].broadcaster_type = ""
    with pytest.raises(Forbidden, match="partner or affiliate"):
        await helix.create_reward(token, BROADCASTER_ID, "Other", 10)


@pytest.mark.parametrize(
    ("title", "cost", "settings"),
    [
        ("", 10, {}),
        ("x" * 46, 10, {}),
        ("ok", 0, {}),
        ("ok", True, {}),
        ("ok", 1, {"prompt": "p" * 201}),
    ],
)
async def test_a_reward_twitch_would_refuse_is_refused_before_any_request(
    helix: HelixClient, token: str, twitch: FakeTwitch, title: str, cost: object, settings: dict
) -> None:
    with pytest.raises(ValueError, match="reward"):
        await helix.create_reward(token, BROADCASTER_ID, title, cost, **settings)  # type: ignore[arg-type]

    assert twitch.requests == []


async def test_redemptions_are_listed_and_set_fulfilled_or_canceled_in_batches_of_50(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    reward = await helix.create_reward(token, BROADCASTER_ID, "Temp VIP", 10)
    ids = [twitch.add_redemption(reward.id, str(2000 + n), user_input="hi") for n in range(60)]

    pending = await helix.get_redemptions(token, BROADCASTER_ID, reward.id)
    done = await helix.update_redemptions(token, BROADCASTER_ID, reward.id, ids[:55], "FULFILLED")
    refunded = await helix.update_redemptions(
        token, BROADCASTER_ID, reward.id, ids[55:], "CANCELED"
    )

    assert [r.id for r in pending] == ids
    assert (pending[0].user_id, pending[0].user_input, pending[0].status) == (
        "2000",
        "hi",
        "UNFULFILLED",
    )
    assert pending[0].reward_id == reward.id
    assert {r.status for r in done} == {"FULFILLED"}
    assert len(done) == 55
    assert {r.status for r in refunded} == {"CANCELED"}
    assert len(refunded) == 5
    patches = twitch.requests_to(REDEMPTIONS, "PATCH")
    assert [len(r.query["id"]) for r in patches] == [50, 5, 5]
    assert patches[0].json == {"status": "FULFILLED"}
    with pytest.raises(NotFound):  # only UNFULFILLED redemptions change
        await helix.update_redemptions(token, BROADCASTER_ID, reward.id, ids[:1], "CANCELED")


async def test_deleting_a_reward_fulfills_its_pending_redemptions(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    reward = await helix.create_reward(token, BROADCASTER_ID, "Temp VIP", 10)
    redemption = twitch.add_redemption(reward.id, "2000")

    await helix.delete_reward(token, BROADCASTER_ID, reward.id)

    assert twitch.redemptions[redemption]["status"] == "FULFILLED"


# Subscriptions


async def test_subscription_tiers_are_looked_up_100_viewers_at_a_time(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    ids = viewers(twitch, 250)
    twitch.add_subscriber(BROADCASTER_ID, ids[3], "3000")
    twitch.add_subscriber(BROADCASTER_ID, ids[199], "1000", is_gift=True)

    found = await helix.get_subscriptions(token, BROADCASTER_ID, ids)

    assert [(s.user_id, s.tier, s.is_gift) for s in found] == [
        (ids[3], "3000", False),
        (ids[199], "1000", True),
    ]
    assert found[1].gifter_id == "12826"
    assert [len(r.query["user_id"]) for r in twitch.requests_to("/helix/subscriptions")] == [
        100,
        100,
        50,
    ]


async def test_every_subscriber_is_listed_page_by_page(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    twitch.page_size = 2
    ids = viewers(twitch, 5)
    for user_id in ids:
        twitch.add_subscriber(BROADCASTER_ID, user_id)

    found = await helix.get_subscriptions(token, BROADCASTER_ID)

    assert [s.user_id for s in found] == ids
    assert len(twitch.requests_to("/helix/subscriptions")) == 3


async def test_subscriptions_need_the_scope(helix: HelixClient, twitch: FakeTwitch) -> None:
    token = twitch.issue_user_token(scopes=[s for s in SCOPES if s != "channel:read:subscriptions"])

    with pytest.raises(Unauthorized, match="Missing scope"):
        await helix.get_subscriptions(token, BROADCASTER_ID, ["1"])


# Chat


async def test_send_chat_message_reports_it_sent(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    result = await helix.send_chat_message(
        token, BROADCASTER_ID, BROADCASTER_ID, "hello chat", reply_parent_message_id="parent-1"
    )

    assert result.is_sent
    assert result.message_id
    (sent,) = twitch.chat_messages
    assert (sent.message, sent.reply_parent_message_id, sent.message_id) == (
        "hello chat",
        "parent-1",
        result.message_id,
    )


async def test_a_dropped_chat_message_answers_200_but_not_sent_with_the_reason(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    twitch.drop_next_chat_message("msg_rejected", "Your message is being checked by mods")

    result = await helix.send_chat_message(token, BROADCASTER_ID, BROADCASTER_ID, "hello")

    assert not result.is_sent
    assert (result.drop_reason_code, result.drop_reason_message) == (
        "msg_rejected",
        "Your message is being checked by mods",
    )
    assert twitch.chat_messages == []


async def test_chat_refusals(helix: HelixClient, token: str, twitch: FakeTwitch) -> None:
    with pytest.raises(Forbidden):
        await helix.send_chat_message(token, BROADCASTER_ID, "someone-else", "hi")
    with pytest.raises(ValueError, match="1 to 500"):
        await helix.send_chat_message(token, BROADCASTER_ID, BROADCASTER_ID, "x" * 501)
    with pytest.raises(ValueError, match="1 to 500"):
        await helix.send_chat_message(token, BROADCASTER_ID, BROADCASTER_ID, "")
    assert len(twitch.requests) == 1


# EventSub subscriptions

WEBHOOK = {
    "method": "webhook",
    "callback": "https://bot.example.test/webhooks/twitch",
    "secret": "s" * 20,
}
CONDITION = {"broadcaster_user_id": BROADCASTER_ID}


async def test_create_list_and_delete_a_webhook_subscription(
    helix: HelixClient, app_token: str, twitch: FakeTwitch
) -> None:
    created = await helix.create_eventsub_subscription(
        app_token, "channel.vip.add", "1", CONDITION, WEBHOOK
    )
    listed = await helix.list_eventsub_subscriptions(app_token, type="channel.vip.add")
    await helix.delete_eventsub_subscription(app_token, created.id)

    assert created.status == "webhook_callback_verification_pending"
    assert (created.type, created.version, dict(created.condition)) == (
        "channel.vip.add",
        "1",
        CONDITION,
    )
    assert (created.transport_method, created.callback) == ("webhook", WEBHOOK["callback"])
    assert [s.id for s in listed.subscriptions] == [created.id]
    assert (listed.total, listed.max_total_cost) == (1, 10_000)
    assert twitch.eventsub == {}
    (post,) = twitch.requests_to("/helix/eventsub/subscriptions", "POST")
    assert post.status == 202
    with pytest.raises(NotFound):
        await helix.delete_eventsub_subscription(app_token, created.id)


async def test_a_websocket_subscription_needs_a_user_token_and_a_webhook_an_app_token(
    helix: HelixClient, token: str, app_token: str
) -> None:
    websocket = {"method": "websocket", "session_id": "AQoQexAWVYKSTIu4ec_2VAxyuhAB"}

    created = await helix.create_eventsub_subscription(
        token, "channel.vip.add", "1", CONDITION, websocket
    )
    listed = await helix.list_eventsub_subscriptions(token)

    assert (created.status, created.session_id) == ("enabled", websocket["session_id"])
    assert [s.id for s in listed.subscriptions] == [created.id]
    for wrong_token, transport in ((app_token, websocket), (token, WEBHOOK)):
        with pytest.raises(BadRequest) as caught:
            await helix.create_eventsub_subscription(
                wrong_token, "stream.online", "1", CONDITION, transport
            )
        assert caught.value.message == "invalid transport and auth combination"


async def test_a_duplicate_subscription_is_a_conflict_and_a_fourth_of_a_kind_a_final_429(
    helix: HelixClient, token: str, app_token: str, twitch: FakeTwitch, sleep
) -> None:
    await helix.create_eventsub_subscription(app_token, "stream.online", "1", CONDITION, WEBHOOK)
    with pytest.raises(Conflict):
        await helix.create_eventsub_subscription(
            app_token, "stream.online", "1", CONDITION, WEBHOOK
        )
    for session in ("a", "b"):
        transport = {"method": "websocket", "session_id": session}
        await helix.create_eventsub_subscription(token, "stream.online", "1", CONDITION, transport)

    transport = {"method": "websocket", "session_id": "c"}
    with pytest.raises(RateLimited) as caught:
        await helix.create_eventsub_subscription(token, "stream.online", "1", CONDITION, transport)

    assert caught.value.message == "maximum subscriptions with type and condition exceeded"
    assert sleep.delays == []  # no wait cures this one
    assert len(twitch.eventsub) == 3


async def test_listing_with_two_filters_is_refused_before_any_request(
    helix: HelixClient, app_token: str, twitch: FakeTwitch
) -> None:
    with pytest.raises(ValueError, match="one filter"):
        await helix.list_eventsub_subscriptions(app_token, status="enabled", type="stream.online")
    assert twitch.requests == []


async def test_listing_follows_every_page(
    helix: HelixClient, app_token: str, twitch: FakeTwitch
) -> None:
    twitch.page_size = 2
    for n in range(5):
        condition = {"broadcaster_user_id": str(n)}
        await helix.create_eventsub_subscription(
            app_token, "stream.online", "1", condition, WEBHOOK
        )

    listed = await helix.list_eventsub_subscriptions(app_token)

    assert len(listed.subscriptions) == 5
    assert len(twitch.requests_to("/helix/eventsub/subscriptions", "GET")) == 3


# Tokens and client ids


async def test_a_token_of_another_client_id_is_unauthorized(
    helix: HelixClient, twitch: FakeTwitch
) -> None:
    foreign = twitch.issue_app_token(client_id="someone-elses-client")

    with pytest.raises(Unauthorized, match="Client ID and OAuth token do not match"):
        await helix.get_users(foreign, ids=["1"])


async def test_an_expired_token_is_unauthorized(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    twitch.expire_token(token)

    with pytest.raises(Unauthorized) as caught:
        await helix.get_vips(token, BROADCASTER_ID)

    assert (caught.value.status, caught.value.error) == (401, "Unauthorized")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, Unprocessable),
        (425, TooEarly),
        (418, HelixError),
    ],
)
async def test_every_helix_envelope_maps_to_its_error(
    helix: HelixClient, token: str, twitch: FakeTwitch, status: int, error: type[HelixError]
) -> None:
    body = {"error": "Some Reason", "status": status, "message": "what went wrong"}
    twitch.fail_next("/helix/users", status, body=body)

    with pytest.raises(error) as caught:
        await helix.get_users(token)

    assert type(caught.value) is error
    assert (caught.value.status, caught.value.error, caught.value.message) == (
        status,
        "Some Reason",
        "what went wrong",
    )
