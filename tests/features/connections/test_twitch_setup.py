"""!twitch setup, status, sync and disconnect as service calls, the EventSub upkeep and the
Twitch chat sender, against the fake Twitch over loopback on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.discord_bot.connections.twitch.render import twitch_status
from core.events import Platform
from core.features.connections.channel_setup import Replaced, SetupFailed
from core.features.connections.streamer_tokens import GivenBack
from core.features.connections.twitch.revocations_repository import StoredRevocation
from core.features.connections.twitch.setup import twitch_login
from core.features.connections.twitch.subscriptions import WANTED_TYPES
from core.platforms.twitch.conditions import condition_of, version_of
from tests.fakes.twitch_eventsub import EventSubSender, fixture
from tests.fakes.twitch_runtime import BOT_URL, EVENTSUB_SECRET, runtime_on_fake_twitch
from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET
from tests.features.connections import test_twitch_connection as connection_tests
from tests.features.connections.test_twitch_connection import (
    ADMIN,
    BROADCASTER,
    GUILD,
    complete,
    consent,
    current_tokens,
)
from tests.support.delivery import settle
from tests.support.waiting import eventually

# The same fixtures: a fake Twitch and a runtime on it, on both backends.
clock = connection_tests.clock
twitch = connection_tests.twitch
runtime = connection_tests.runtime


def connect(runtime) -> None:  # type: ignore[no-untyped-def]
    complete(runtime, consent(runtime))


def test_setup_resolves_the_login_and_links_to_the_consent(runtime, twitch):
    twitch.add_user("555", "other_channel")

    result = asyncio.run(
        runtime.twitch_setup.setup(GUILD, ADMIN, "https://twitch.tv/Other_Channel")
    )

    assert (result.channel.channel_slug, result.channel.broadcaster_user_id) == (
        "other_channel",
        "555",
    )
    assert runtime.guilds.twitch_channel_of(GUILD).broadcaster_user_id == "555"
    link = urlsplit(result.connect_link)
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{BOT_URL}/auth/twitch/streamer"
    assert parse_qs(link.query)["user"] == [str(ADMIN)]
    # Get Users went out with the app token.
    [lookup] = twitch.requests_to("/helix/users")
    assert lookup.auth == "app"


@pytest.mark.parametrize("typed", ["nobody_here", "not a login!", ""])
def test_setup_of_an_unknown_or_malformed_channel_is_a_refusal(runtime, typed):
    with pytest.raises(SetupFailed):
        asyncio.run(runtime.twitch_setup.setup(GUILD, ADMIN, typed))
    assert runtime.guilds.twitch_channel_of(GUILD).channel_slug == "twitchdev"


def test_status_gives_a_reconsent_link_for_a_missing_scope(runtime, twitch):
    complete(runtime, consent(runtime, drop_scope="channel:manage:vips"))
    asyncio.run(runtime.twitch_connections.validate_all())

    status = runtime.twitch_setup.status(GUILD, ADMIN)

    assert status.connection.missing_scopes == ("channel:manage:vips",)
    assert status.reconsent_link is not None
    assert "/auth/twitch/streamer?" in status.reconsent_link
    assert runtime.twitch_setup.status(GUILD).reconsent_link is None  # !health: no link


def test_status_shows_a_dead_grant_and_revocations(runtime, twitch):
    connect(runtime)
    twitch.revoke_grant()
    asyncio.run(runtime.twitch_connections.validate_all())
    runtime.twitch_revocations.record(
        StoredRevocation(
            "sub-1", "channel.vip.add", "authorization_revoked", BROADCASTER, runtime.clock()
        )
    )

    status = runtime.twitch_setup.status(GUILD, ADMIN)

    assert status.connection.needs_reauthorization
    assert status.reconsent_link is not None
    assert [r.status for r in status.revocations] == ["authorization_revoked"]


def test_disconnect_revokes_the_tokens_and_forgets_them(runtime, twitch):
    connect(runtime)
    access, refresh = current_tokens(runtime)

    assert asyncio.run(runtime.twitch_setup.disconnect(GUILD)).given_back is GivenBack.TAKEN_BACK

    assert not twitch.is_token_active(access)
    assert not twitch.is_token_active(refresh)
    assert runtime.twitch_connections.status(GUILD).username is None
    assert asyncio.run(runtime.twitch_setup.disconnect(GUILD)) is None


def test_upkeep_creates_every_subscription_once(runtime, twitch):
    connect(runtime)

    [report] = asyncio.run(runtime.twitch_subscriptions.sync_requested())

    assert sorted(report.created) == sorted(WANTED_TYPES)
    assert sorted(s["type"] for s in twitch.eventsub.values()) == sorted(WANTED_TYPES)
    for sub in twitch.eventsub.values():
        assert sub["transport"] == {"method": "webhook", "callback": f"{BOT_URL}/webhooks/twitch"}
        assert BROADCASTER in sub["condition"].values()
    [create] = twitch.requests_to("/helix/eventsub/subscriptions", "POST")[:1]
    assert create.json["transport"]["secret"] == EVENTSUB_SECRET
    status = runtime.twitch_setup.status(GUILD, ADMIN)
    assert status.missing == ()
    assert runtime.twitch_connections.guild_ids_needing_sync() == []

    again = asyncio.run(runtime.twitch_setup.sync(GUILD))

    assert (again.created, sorted(again.kept)) == ([], sorted(WANTED_TYPES))
    assert len(twitch.eventsub) == len(WANTED_TYPES)


def test_one_guilds_failed_sync_leaves_the_other_requested_syncs_going(runtime, twitch):
    """Two servers asked for a sync (just connected); Twitch fails the first one's list (503
    through every retry). The second still gets its subscriptions; the first stays requested."""
    connect(runtime)
    twitch.add_user("555", "other_channel")
    asyncio.run(runtime.twitch_setup.setup(GUILD + 1, ADMIN, "other_channel"))
    twitch.consenting_user_id = "555"
    complete(runtime, consent(runtime, guild_id=GUILD + 1))
    twitch.fail_next(EVENTSUB, 503, times=5, method="GET")  # the first try and its 4 retries

    reports = asyncio.run(runtime.twitch_subscriptions.sync_requested())

    assert [r.guild_id for r in reports] == [GUILD + 1]
    assert len(runtime.twitch_setup.status(GUILD + 1).subscribed) == len(WANTED_TYPES)
    assert runtime.twitch_connections.guild_ids_needing_sync() == [GUILD]
    asyncio.run(runtime.twitch_subscriptions.sync_requested())  # Twitch answers again
    assert runtime.twitch_setup.status(GUILD).missing == ()


def test_upkeep_replaces_a_failed_subscription(runtime, twitch):
    connect(runtime)
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    broken = next(s for s in twitch.eventsub.values() if s["type"] == "stream.online")
    broken["status"] = "webhook_callback_verification_failed"

    report = asyncio.run(runtime.twitch_setup.sync(GUILD))

    assert (report.removed, report.created) == (["stream.online"], ["stream.online"])
    assert broken["id"] not in twitch.eventsub
    assert len(twitch.eventsub) == len(WANTED_TYPES)


EVENTSUB = "/helix/eventsub/subscriptions"


async def subscribe_at(runtime, kind: str, broadcaster: str, callback: str) -> None:  # type: ignore[no-untyped-def]
    async with runtime.twitch.helix() as helix:
        token = await runtime.twitch_app_token.get()
        transport = {"method": "webhook", "callback": callback, "secret": EVENTSUB_SECRET}
        await helix.create_eventsub_subscription(
            token, kind, version_of(kind), condition_of(kind, broadcaster), transport
        )


async def subscribe_everything_elsewhere(runtime) -> None:  # type: ignore[no-untyped-def]
    """Every type made at Twitch by a process that does not wait for this one's sync (a bot
    from before a deploy; a second process on SQLite)."""
    for kind in WANTED_TYPES:
        await subscribe_at(runtime, kind, BROADCASTER, f"{BOT_URL}/webhooks/twitch")


def test_a_sync_whose_list_was_overtaken_records_what_twitch_says_exists(runtime, twitch):
    """Its list came before another process made every subscription: each create is answered
    409, and that means it exists, so !twitch status must not call them missing."""
    connect(runtime)
    release = twitch.hold_answer_next(EVENTSUB, method="GET")  # listed now, answered later

    async def overtaken():
        sync = asyncio.create_task(runtime.twitch_setup.sync(GUILD))
        await eventually(lambda: len(twitch.requests_to(EVENTSUB, "GET")) == 1)
        await subscribe_everything_elsewhere(runtime)
        release.set()
        return await sync

    report = asyncio.run(overtaken())

    creates = twitch.requests_to(EVENTSUB, "POST")[len(WANTED_TYPES) :]
    assert [r.status for r in creates] == [409] * len(WANTED_TYPES)
    assert (report.created, report.failed, report.kept) == ([], {}, sorted(WANTED_TYPES))
    assert len(twitch.eventsub) == len(WANTED_TYPES)
    assert runtime.twitch_setup.status(GUILD).missing == ()
    stored = runtime.twitch_connections.stored_subscriptions(BROADCASTER)
    assert {s.subscription_id for s in stored} == set(twitch.eventsub)


def test_two_syncs_of_a_channel_take_turns(runtime, twitch, clock, tmp_path, migrated_database_url):
    """!twitch sync while the upkeep syncs the same channel: the second waits for the first,
    in another process on PostgreSQL (a second runtime on the same database), in the same
    process on SQLite, then lists what the first made and keeps it."""
    connect(runtime)
    other = (
        runtime_on_fake_twitch(
            twitch, tmp_path / "other", clock, DATABASE_URL=migrated_database_url
        )
        if runtime.engine.dialect.name == "postgresql"
        else runtime
    )
    release = twitch.hold_answer_next(EVENTSUB, method="GET")

    async def side_by_side():
        first = asyncio.create_task(runtime.twitch_subscriptions.sync_guild(GUILD))
        await eventually(lambda: len(twitch.requests_to(EVENTSUB, "GET")) == 1)
        second = asyncio.create_task(other.twitch_setup.sync(GUILD))
        with contextlib.suppress(AssertionError):  # it must not list while the first works
            await eventually(lambda: len(twitch.requests_to(EVENTSUB, "GET")) > 1, within=1)
        listed_meanwhile = len(twitch.requests_to(EVENTSUB, "GET"))
        release.set()
        return listed_meanwhile, await first, await second

    try:
        listed_meanwhile, first, second = asyncio.run(side_by_side())
    finally:
        if other is not runtime:
            other.close()

    assert listed_meanwhile == 1
    assert sorted(first.created) == sorted(WANTED_TYPES)
    assert (second.created, second.kept) == ([], sorted(WANTED_TYPES))
    assert [r.status for r in twitch.requests_to(EVENTSUB, "POST")] == [202] * len(WANTED_TYPES)
    assert runtime.twitch_setup.status(GUILD).missing == ()


def test_sync_without_a_connection_is_a_refusal(runtime):
    with pytest.raises(SetupFailed):
        asyncio.run(runtime.twitch_setup.sync(GUILD))


async def test_a_chat_reply_reaches_twitch_chat_as_the_streamer(runtime, twitch):
    await asyncio.to_thread(connect, runtime)
    sender = runtime.chat_sender_for(Platform.TWITCH)
    assert sender is not None

    await sender.send(guild_id=GUILD, broadcaster_user_id=BROADCASTER, text="hello " * 100)
    await runtime.twitch.close_chat()

    sent = [(m.broadcaster_id, m.sender_id) for m in twitch.chat_messages]
    assert sent == [(BROADCASTER, BROADCASTER)] * 2  # 600 characters: two lines
    assert all(len(m.message) <= 500 for m in twitch.chat_messages)
    assert " ".join(m.message for m in twitch.chat_messages) == ("hello " * 100).strip()


def test_an_app_token_twitch_forgot_is_minted_again(runtime, twitch):
    asyncio.run(runtime.twitch_setup.setup(GUILD, ADMIN, "twitchdev"))
    [first] = [t for t, issued in twitch.tokens.items() if issued.token_type == "app"]
    twitch.expire_token(first)  # Twitch no longer takes it, though it has weeks left here

    result = asyncio.run(runtime.twitch_setup.setup(GUILD, ADMIN, "twitchdev"))

    assert result.channel.broadcaster_user_id == BROADCASTER
    assert [r.status for r in twitch.requests_to("/helix/users")] == [200, 401, 200]


def test_disconnect_deletes_the_channels_subscriptions(runtime, twitch):
    connect(runtime)
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    assert len(twitch.eventsub) == len(WANTED_TYPES)

    asyncio.run(runtime.twitch_setup.disconnect(GUILD))

    assert twitch.eventsub == {}
    assert runtime.twitch_setup.status(GUILD).subscribed == ()


def test_disconnect_leaves_the_subscriptions_another_server_of_the_streamer_uses(runtime, twitch):
    """A streamer with two servers: one disconnecting must not stop the other's events."""
    other = GUILD + 1
    connect(runtime)
    asyncio.run(runtime.twitch_setup.setup(other, ADMIN, "twitchdev"))
    complete(runtime, consent(runtime, guild_id=other))
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    subscribed = dict(twitch.eventsub)
    assert len(subscribed) == len(WANTED_TYPES)

    assert asyncio.run(runtime.twitch_setup.disconnect(GUILD))

    assert twitch.eventsub == subscribed
    assert len(runtime.twitch_setup.status(other).subscribed) == len(WANTED_TYPES)
    assert runtime.twitch_connections.status(GUILD).username is None
    asyncio.run(runtime.twitch_setup.disconnect(other))  # the last one: they go
    assert twitch.eventsub == {}


ANOTHER_DEPLOYMENT = "https://another-bot.example/webhooks/twitch"  # the same Twitch app


def test_the_full_pass_deletes_what_a_failed_disconnect_left_and_nothing_else(runtime, twitch):
    """!twitch disconnect while Twitch fails every DELETE: stream.online/offline and
    channel.raid need no grant, so Twitch would keep them for good. The next full pass of the
    upkeep deletes them (again at the pass after, while deleting fails), and leaves another
    connected channel's and another deployment's (another callback) alone."""
    connect(runtime)
    twitch.add_user("555", "other_channel")
    asyncio.run(runtime.twitch_setup.setup(GUILD + 1, ADMIN, "other_channel"))
    twitch.consenting_user_id = "555"
    complete(runtime, consent(runtime, guild_id=GUILD + 1))
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    asyncio.run(subscribe_at(runtime, "stream.online", BROADCASTER, ANOTHER_DEPLOYMENT))
    assert len(twitch.eventsub) == 2 * len(WANTED_TYPES) + 1
    twitch.page_size = 4  # the app's list comes in pages
    twitch.fail_next(EVENTSUB, 503, times=1000, method="DELETE")

    assert asyncio.run(runtime.twitch_setup.disconnect(GUILD))
    asyncio.run(runtime.twitch_subscriptions.sync_all())  # still failing: all stay

    assert len(twitch.eventsub) == 2 * len(WANTED_TYPES) + 1
    twitch.recover()
    asyncio.run(runtime.twitch_subscriptions.sync_all())

    left = [(s["condition"], s["transport"]["callback"]) for s in twitch.eventsub.values()]
    assert (condition_of("stream.online", BROADCASTER), ANOTHER_DEPLOYMENT) in left
    assert [c for c, _ in left if BROADCASTER in c.values()] == [
        condition_of("stream.online", BROADCASTER)
    ]
    assert len(left) == len(WANTED_TYPES) + 1
    assert len(runtime.twitch_setup.status(GUILD + 1).subscribed) == len(WANTED_TYPES)
    pages = [r.query.get("after") for r in twitch.requests_to(EVENTSUB, "GET")]
    assert sum(1 for after in pages if after) >= (2 * len(WANTED_TYPES) + 1) // 4


def test_the_full_pass_keeps_a_channel_whose_streamer_must_connect_again(runtime, twitch):
    """A dead grant is still the guild's connection: its stream events keep coming, and the
    new consent syncs again."""
    connect(runtime)
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    twitch.revoke_grant()
    asyncio.run(runtime.twitch_connections.validate_all())
    assert runtime.twitch_connections.status(GUILD).needs_reauthorization

    asyncio.run(runtime.twitch_subscriptions.sync_all())

    assert len(twitch.eventsub) == len(WANTED_TYPES)
    assert twitch.requests_to(EVENTSUB, "DELETE") == []


def test_setting_up_another_channel_gives_the_old_grant_back(runtime, twitch):
    connect(runtime)
    access, _ = current_tokens(runtime)
    twitch.add_user("555", "other_channel")

    result = asyncio.run(runtime.twitch_setup.setup(GUILD, ADMIN, "other_channel"))

    assert result.replaced == Replaced("twitchdev", GivenBack.TAKEN_BACK)
    assert not twitch.is_token_active(access)
    assert runtime.twitch_connections.status(GUILD).username is None
    assert asyncio.run(runtime.twitch_setup.setup(GUILD, ADMIN, "twitchdev")).replaced is None


async def test_a_chat_command_from_twitch_is_answered_in_twitch_chat(runtime, twitch, clock):
    await asyncio.to_thread(connect, runtime)
    web = runtime.create_web_app().test_client()
    eventsub = EventSubSender.flask(web, clock, EVENTSUB_SECRET)
    text = "!watchtime"
    fragments = [{"type": "text", "text": text, "cheermote": None, "emote": None, "mention": None}]

    status, answer = await asyncio.to_thread(
        eventsub.notify,
        "channel.chat.message",
        BROADCASTER,
        message={"text": text, "fragments": fragments},
        message_id="chat-1",
    )
    assert (status, answer["status"]) == (200, "queued")
    try:
        # The command runs beside the consumer and queues its reply; settle waits for it, then
        # makes the queued call (deliver_queued alone raced the command).
        await settle(runtime)
    finally:
        await runtime.twitch.close_chat()

    [reply] = twitch.chat_messages
    assert (reply.broadcaster_id, reply.sender_id) == (BROADCASTER, BROADCASTER)
    assert reply.reply_parent_message_id == "chat-1"
    assert reply.message.startswith("No watchtime yet")


@given(st.text(max_size=120))
def test_a_typed_channel_is_a_valid_login_or_nothing(typed):
    login = twitch_login(typed)
    assert login is None or re.fullmatch(r"[a-z0-9_]{1,25}", login)


@pytest.mark.parametrize(
    ("typed", "login"),
    [
        ("@TwitchDev", "twitchdev"),
        ("https://www.twitch.tv/TwitchDev?x=1", "twitchdev"),
        ("a b", None),
    ],
)
def test_a_login_is_read_from_a_name_or_url(typed, login):
    assert twitch_login(typed) == login


async def test_the_upkeep_loop_subscribes_a_newly_connected_channel(runtime, twitch):
    assert "Twitch token validation" in runtime.scheduler.loops
    await asyncio.to_thread(connect, runtime)
    stop = asyncio.Event()
    loop = asyncio.create_task(runtime.twitch_upkeep.run(stop, every_seconds=0.05))
    try:
        await eventually(lambda: len(twitch.eventsub) == len(WANTED_TYPES), within=10)
    finally:
        stop.set()
        await loop
    assert runtime.twitch_setup.status(GUILD).missing == ()


def test_without_a_public_address_there_is_no_upkeep_and_sync_says_why(make_runtime, twitch):
    runtime = make_runtime(
        TWITCH_API_BASE_URL=twitch.helix_url,
        TWITCH_OAUTH_BASE_URL=twitch.oauth_url,
        TWITCH_CLIENT_ID=CLIENT_ID,
        TWITCH_CLIENT_SECRET=CLIENT_SECRET,
        TWITCH_EVENTSUB_SECRET=EVENTSUB_SECRET,
    )

    assert "Twitch subscription upkeep" not in runtime.scheduler.loops
    assert "Twitch token validation" in runtime.scheduler.loops
    with pytest.raises(SetupFailed, match="public HTTPS address"):
        asyncio.run(runtime.twitch_setup.sync(GUILD))
    assert runtime.twitch_setup.status(GUILD).upkeep_enabled is False


def test_a_revoked_authorization_marks_the_connection_at_once(runtime, twitch, clock):
    connect(runtime)
    eventsub = EventSubSender.flask(runtime.create_web_app().test_client(), clock, EVENTSUB_SECRET)
    body = fixture("revocation")
    body["subscription"]["condition"]["broadcaster_user_id"] = BROADCASTER
    assert body["subscription"]["status"] == "authorization_revoked"

    status, _ = eventsub.send(json.dumps(body).encode(), message_type="revocation")

    assert status == 200
    assert runtime.twitch_connections.status(GUILD).needs_reauthorization


def revoke(runtime, clock, subscription_id: str, status: str = "authorization_revoked"):
    eventsub = EventSubSender.flask(runtime.create_web_app().test_client(), clock, EVENTSUB_SECRET)
    body = fixture("revocation")
    body["subscription"].update(id=subscription_id, status=status, type="channel.vip.add")
    body["subscription"]["condition"]["broadcaster_user_id"] = BROADCASTER
    answer = eventsub.send(json.dumps(body).encode(), message_type="revocation")
    assert answer[0] == 200


def revocation_lines(caplog) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if "revoked subscription" in record.getMessage()
    ]


def test_a_late_revocation_of_a_subscription_replaced_since_leaves_the_connection(
    runtime, twitch, clock, caplog
):
    """The streamer connected again and the upkeep made new subscriptions: Twitch's revocation
    of one made before (its delivery retried, or late) is not news about the new grant, and
    the operator reads one info line saying it was ignored, no warning."""
    connect(runtime)
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    held = {s.subscription_id for s in runtime.twitch_connections.stored_subscriptions(BROADCASTER)}
    assert "old-subscription" not in held

    caplog.set_level("INFO")
    revoke(runtime, clock, "old-subscription")

    assert not runtime.twitch_connections.status(GUILD).needs_reauthorization
    status = runtime.twitch_setup.status(GUILD, ADMIN)
    assert (status.revocations, status.reconsent_link) == ((), None)
    [(level, line)] = revocation_lines(caplog)
    assert level == "INFO"
    assert "old-subscription" in line
    assert "ignored" in line


def test_a_revocation_of_a_subscription_held_marks_the_connection(runtime, twitch, clock, caplog):
    connect(runtime)
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    [held, *_] = runtime.twitch_connections.stored_subscriptions(BROADCASTER)

    caplog.set_level("INFO")
    revoke(runtime, clock, held.subscription_id)

    [(level, line)] = revocation_lines(caplog)
    assert level == "WARNING"
    assert held.subscription_id in line

    assert runtime.twitch_connections.status(GUILD).needs_reauthorization
    revoked = runtime.twitch_setup.status(GUILD, ADMIN).revocations
    assert [r.subscription_id for r in revoked] == [held.subscription_id]


def test_a_raid_revocation_is_shown_for_the_channel_raided(runtime, twitch, clock):
    """Twitch's revocation shape with a raid's condition, which names the channel as
    to_broadcaster_user_id (and lists the unset from_broadcaster_user_id as "")."""
    connect(runtime)
    eventsub = EventSubSender.flask(runtime.create_web_app().test_client(), clock, EVENTSUB_SECRET)
    body = fixture("revocation")
    body["subscription"].update(
        type="channel.raid",
        version="1",
        status="notification_failures_exceeded",
        condition={"from_broadcaster_user_id": "", "to_broadcaster_user_id": BROADCASTER},
    )

    status, answer = eventsub.send(json.dumps(body).encode(), message_type="revocation")

    assert (status, answer["status"]) == (200, "revoked")
    shown = runtime.twitch_setup.status(GUILD, ADMIN).revocations
    assert [(r.subscription_type, r.status) for r in shown] == [
        ("channel.raid", "notification_failures_exceeded")
    ]
    assert runtime.twitch_connections.status(GUILD).is_connected  # no grant is gone


def test_a_revocation_is_no_longer_shown_once_its_subscription_was_made_again(
    runtime, twitch, clock
):
    """The streamer took the grant back (Twitch revoked a subscription), then connected again,
    and the upkeep made that subscription anew: !twitch status no longer warns that Twitch
    stopped it. A revoked type not made again since is still shown."""
    connect(runtime)
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    held = {s.subscription_type: s for s in runtime.twitch_connections.stored_subscriptions(
        BROADCASTER)}  # fmt: skip
    revoked = held["channel.vip.add"].subscription_id
    revoke(runtime, clock, revoked)
    twitch.eventsub[revoked]["status"] = "authorization_revoked"  # as Twitch lists it now
    assert runtime.twitch_setup.status(GUILD, ADMIN).revocations

    connect(runtime)  # the streamer consented again
    asyncio.run(runtime.twitch_subscriptions.sync_requested())
    remade = {s.subscription_type: s for s in runtime.twitch_connections.stored_subscriptions(
        BROADCASTER)}  # fmt: skip
    assert remade["channel.vip.add"].subscription_id != revoked

    status = runtime.twitch_setup.status(GUILD, ADMIN)
    assert status.connection.is_connected
    assert status.revocations == ()
    assert "stopped" not in twitch_status(status, "!", link_sent=False)
