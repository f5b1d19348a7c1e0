"""A streamer connects their Kick channel through the web app and the fake Kick; the bot keeps
its token fresh and its webhook subscriptions in place, and hears the channel through webhooks
and through Pusher."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from core.features.connections import connection_rows
from core.features.connections.channel_setup import Replaced
from core.features.connections.kick.service import NeedsReauthorization
from core.features.connections.kick.setup import SetupFailed
from core.features.connections.kick.subscriptions import OTHER_ACCOUNT_PROBLEM
from core.features.connections.streamer_tokens import GivenBack
from core.features.connections.tables import kick_connections, oauth_states
from core.platforms.http import tls_context
from core.platforms.kick.webhook import KICK_EVENT_TYPES
from core.runtime import Runtime
from core.security.secrets import TokenCipher, new_fernet_key
from tests.conftest import FIXTURES, TEST_FERNET_KEY
from tests.fakes.kick_runtime import BOT_URL, runtime_on_fake_kick
from tests.fakes.kick_server import CLIENT_SECRET, FakeKick
from tests.fakes.pusher_server import FakePusher
from tests.support.clock import Clock
from tests.support.delivery import deliver_all, deliver_queued
from tests.support.waiting import eventually

GUILD = 4242
ADMIN = 777


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kick(clock):
    with FakeKick(clock=clock, username="streamer", user_id=1001) as fake:
        yield fake


def build_runtime(tmp_path, kick: FakeKick, clock: Clock, **extra: str) -> Runtime:
    return runtime_on_fake_kick(
        kick,
        tmp_path / "data",
        clock,
        FLASK_SECRET_KEY="connection-test-secret-a-key-of-32-characters-or-more",
        **extra,
    )


@pytest.fixture
def runtime(tmp_path, kick, clock):
    runtime = build_runtime(tmp_path, kick, clock)
    yield runtime
    runtime.close()


@pytest.fixture
def web(runtime):
    return runtime.create_web_app().test_client()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def start_link(runtime: Runtime) -> str:
    result = asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "streamer"))
    assert result.connect_link.startswith(f"{BOT_URL}/auth/kick/streamer?")
    return result.connect_link


def authorize(web, link: str) -> str:
    """Open the signed link and press its button, in the browser ``web``, then consent on Kick;
    return where Kick sends the browser back."""
    opened = web.get(local(link))
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = web.post(local(link))
    assert started.status_code == 303, started.get_data(as_text=True)
    consent = httpx.get(started.headers["Location"], follow_redirects=False, verify=tls_context())
    assert consent.status_code == 302
    callback = consent.headers["location"]
    assert callback.startswith(f"{BOT_URL}/auth/kick/callback?")
    return callback


def connect(runtime: Runtime, web) -> None:
    answer = web.get(local(authorize(web, start_link(runtime))))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "Kick channel connected" in answer.get_data(as_text=True)


def test_setup_finds_the_channel_and_its_pusher_ids(runtime, kick):
    asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "https://kick.com/Streamer"))
    channel = runtime.guilds.kick_channel_of(GUILD)
    fake = kick.channels["streamer"]
    assert (channel.channel_slug, channel.broadcaster_user_id) == ("streamer", "1001")
    assert (channel.channel_id, channel.chatroom_id) == (fake.channel_id, fake.chatroom_id)


def test_setup_without_the_site_api_still_works_but_takes_no_unchecked_chatroom(runtime, kick):
    kick.site_blocked = True
    result = asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "streamer"))
    assert result.chatroom_found is False
    with pytest.raises(SetupFailed):
        asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "streamer", chatroom_id=31047538))
    assert runtime.guilds.kick_channel_of(GUILD).chatroom_id is None


def test_streamer_connects_and_every_subscription_goes_live(runtime, web, kick):
    connect(runtime, web)
    status = runtime.kick_setup.status(GUILD)
    assert status.connection.is_connected
    assert status.connection.username == "streamer"
    assert status.missing == tuple(sorted(KICK_EVENT_TYPES))

    report = asyncio.run(runtime.subscriptions.sync_requested())[0]

    assert sorted(report.created) == sorted(KICK_EVENT_TYPES)
    status = runtime.kick_setup.status(GUILD)
    assert (len(status.subscribed), status.missing) == (10, ())
    assert len(kick.subscriptions) == 10
    assert runtime.kick_connections.guild_ids_needing_sync() == []


def test_tokens_are_encrypted_at_rest(runtime, web, kick):
    connect(runtime, web)
    with runtime.engine.connect() as conn:
        row = conn.execute(sa.select(kick_connections)).one()
    stored = json.dumps([str(value) for value in row])
    for token in kick.tokens:
        assert token not in stored


def test_a_dropped_subscription_is_repaired(runtime, web, kick):
    connect(runtime, web)
    asyncio.run(runtime.subscriptions.sync_requested())
    dropped = next(iter(kick.subscriptions))
    event = kick.subscriptions[dropped]["event"]
    kick.drop_subscription(dropped)

    report = asyncio.run(runtime.subscriptions.sync_all())[0]

    assert report.created == [event]
    assert len(kick.subscriptions) == 10


def connect_guild(runtime: Runtime, web, kick: FakeKick, guild_id: int, slug: str) -> None:
    """``!kick setup <slug>`` for ``guild_id``, and the channel's owner consents on Kick."""
    kick.consenting_user_id = kick.channels[slug].broadcaster_user_id
    link = asyncio.run(runtime.kick_setup.setup(guild_id, ADMIN, slug)).connect_link
    answer = web.get(local(authorize(web, link)))
    assert "Kick channel connected" in answer.get_data(as_text=True)


@pytest.fixture
def runtime_on_each_backend(tmp_path, kick, clock, migrated_database_url):
    runtime = build_runtime(tmp_path, kick, clock, DATABASE_URL=migrated_database_url)
    yield runtime
    runtime.close()


def test_one_guilds_failed_refresh_leaves_the_other_guilds_synced_and_the_rest_cleaned(
    runtime_on_each_backend, kick, caplog
):
    """Guild 1000's token is dead and id.kick.com answers 503 while it is renewed: that is
    guild 1000's problem, in words; 2000 and 3000 are still subscribed and what no guild
    follows is still deleted (it used to stop the whole round, every round)."""
    runtime = runtime_on_each_backend
    web = runtime.create_web_app().test_client()
    kick.add_channel("other", 2002)
    kick.add_channel("third", 3003)
    kick.add_channel("gone", 4004)
    connect_guild(runtime, web, kick, 1000, "streamer")
    connect_guild(runtime, web, kick, 2000, "other")
    connect_guild(runtime, web, kick, 3000, "third")
    untracked = kick.issue_user_token(4004)  # subscriptions an earlier guild left behind

    async def leave_behind() -> None:
        async with runtime.subscriptions.make_api() as api:
            await api.create_subscriptions(untracked, None, ["chat.message.sent"])

    asyncio.run(leave_behind())
    kick.expire_token(asyncio.run(runtime.kick_connections.access_token(1000)))
    kick.fail_next("/oauth/token", 503, times=100)

    reports = asyncio.run(runtime.subscriptions.sync_all())

    assert [r.guild_id for r in reports] == [1000, 2000, 3000]
    failed, *synced = reports
    assert failed.problem == (
        "Kick's sign-in service did not answer when the streamer's token was renewed (503); "
        "the bot tries again by itself"
    )
    assert [len(r.created) for r in synced] == [10, 10]
    subscribed = {s["broadcaster_user_id"] for s in kick.subscriptions.values()}
    assert subscribed == {2002, 3003}  # 4004's is deleted, 1001 never got any
    assert runtime.kick_connections.status(1000).is_connected  # a 503 is no refusal
    assert "guild 1000: subscription sync failed" in caplog.text


def test_a_guild_whose_sync_breaks_is_logged_and_the_others_go_on(runtime, web, kick, caplog):
    kick.add_channel("other", 2002)
    connect_guild(runtime, web, kick, 1000, "streamer")
    connect_guild(runtime, web, kick, 2000, "other")
    store = runtime.kick_connections.store_subscriptions

    def store_but_not_1001(broadcaster_user_id: str, subscriptions: list) -> None:
        if broadcaster_user_id == "1001":
            raise RuntimeError("disk full")
        store(broadcaster_user_id, subscriptions)

    runtime.kick_connections.store_subscriptions = store_but_not_1001

    reports = asyncio.run(runtime.subscriptions.sync_requested())

    assert [(r.guild_id, r.problem is None) for r in reports] == [(1000, False), (2000, True)]
    assert "guild 1000: Kick subscription sync failed" in caplog.text
    assert "disk full" in caplog.text
    assert runtime.kick_connections.guild_ids_needing_sync() == [1000]


def test_a_connection_to_another_channel_than_the_followed_one_subscribes_nothing(
    runtime, web, kick
):
    """The channel changed without !kick setup (``python -m core guild``, ``KICK_CHANNEL``):
    the streamer connected before does not own it, so nothing is subscribed as them."""
    kick.add_channel("other", 2002)
    connect(runtime, web)
    asyncio.run(runtime.subscriptions.sync_requested())
    runtime.guilds.set_kick_channel(GUILD, "other", "2002")
    runtime.kick_connections.request_sync(GUILD)

    [report] = asyncio.run(runtime.subscriptions.sync_all())

    assert report.problem == OTHER_ACCOUNT_PROBLEM
    assert (report.created, report.kept) == ([], [])
    assert kick.subscriptions == {}  # streamer's ten, which no guild follows, are removed
    assert runtime.kick_connections.guild_ids_needing_sync() == [GUILD]


def test_a_state_works_once(runtime, web):
    callback = local(authorize(web, start_link(runtime)))
    assert web.get(callback).status_code == 200
    again = web.get(callback)
    assert again.status_code == 409
    assert "This sign-in came back already" in again.get_data(as_text=True)


def test_a_state_expires_after_ten_minutes(runtime, web, clock):
    callback = local(authorize(web, start_link(runtime)))
    clock.advance(minutes=10, seconds=1)
    answer = web.get(callback)
    assert answer.status_code == 400
    assert "older than 10 minutes" in answer.get_data(as_text=True)
    assert runtime.kick_connections.status(GUILD).is_connected is False


def test_the_pkce_verifier_never_leaves_the_server(runtime, web, kick):
    link = local(start_link(runtime))
    web.get(link)
    consent_url = web.post(link).headers["Location"]
    with runtime.engine.connect() as conn:
        stored_verifier = conn.execute(sa.select(oauth_states.c.code_verifier)).scalar_one()
    assert "code_verifier" not in consent_url
    assert "code_challenge=" in consent_url
    assert stored_verifier not in consent_url


@pytest.mark.parametrize(("field", "value"), [("user", "778"), ("guild", "1"), ("sig", "0" * 64)])
def test_a_tampered_start_link_is_refused(runtime, web, field, value):
    link = start_link(runtime)
    tampered = link.replace(f"{field}=", f"{field}={value}&x=", 1)
    answer = web.get(local(tampered))
    assert answer.status_code == 403
    assert "not valid" in answer.get_data(as_text=True)


def test_an_expired_start_link_is_refused(runtime, web, clock):
    link = start_link(runtime)
    clock.advance(hours=1)
    answer = web.get(local(link))
    assert answer.status_code == 403
    assert "expired" in answer.get_data(as_text=True)


def test_declined_consent_connects_nothing(runtime, web, kick):
    kick.deny_next_consent()
    answer = web.get(local(authorize(web, start_link(runtime))))
    assert answer.status_code == 400
    assert "declined" in answer.get_data(as_text=True)
    assert runtime.kick_connections.status(GUILD).is_connected is False


def test_token_is_refreshed_before_it_expires(runtime, web, kick, clock):
    connect(runtime, web)
    first = asyncio.run(runtime.kick_connections.access_token(GUILD))
    clock.advance(minutes=56)  # fake tokens live an hour; refreshed within five minutes of the end

    second = asyncio.run(runtime.kick_connections.access_token(GUILD))

    assert second != first
    assert kick.is_token_active(second)
    assert asyncio.run(runtime.kick_connections.access_token(GUILD)) == second


def test_two_callers_at_expiry_share_one_refresh_even_when_kick_rotates(runtime, web, kick, clock):
    kick.rotate_refresh_tokens = True  # a second refresh with the old token would be refused
    connect(runtime, web)
    clock.advance(minutes=56)

    async def both() -> list[str]:
        return await asyncio.gather(
            runtime.kick_connections.access_token(GUILD),
            runtime.kick_connections.access_token(GUILD),
        )

    first, second = asyncio.run(both())

    assert first == second
    assert kick.is_token_active(first)
    assert runtime.kick_connections.status(GUILD).is_connected


def test_a_401_refreshes_once_and_retries(runtime, web, kick):
    connect(runtime, web)
    token = asyncio.run(runtime.kick_connections.access_token(GUILD))
    kick.expire_token(token)

    async def who_am_i():
        async with runtime.kick.api() as api:
            return await runtime.kick_connections.call_as_streamer(GUILD, api.get_users)

    [user] = asyncio.run(who_am_i())
    assert user.name == "streamer"


def test_a_refused_refresh_asks_for_reauthorization(runtime, web, kick, clock, caplog):
    connect(runtime, web)
    kick.revoke_refresh_tokens()
    clock.advance(hours=2)

    with pytest.raises(NeedsReauthorization):
        asyncio.run(runtime.kick_connections.access_token(GUILD))

    status = runtime.kick_setup.status(GUILD)
    assert status.connection.needs_reauthorization
    assert "needs re-authorization" in caplog.text
    report = asyncio.run(runtime.kick_setup.sync(GUILD))
    assert report.problem == "the Kick connection needs re-authorization (run !kick setup)"


def test_tokens_sealed_under_another_key_ask_for_the_streamer_and_setup_moves_on(
    runtime, web, kick
):
    """The database came back from a backup without its TOKEN_ENCRYPTION_KEY: !kick status
    says the streamer must connect again (it said connected), a sync says so (it raised), and
    !kick setup of another channel forgets the old connection (it raised)."""
    connect(runtime, web)
    other = TokenCipher(new_fernet_key())
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.update(kick_connections).values(
                access_token=other.encrypt("a"), refresh_token=other.encrypt("r")
            )
        )

    assert runtime.kick_setup.status(GUILD).connection.needs_reauthorization
    with pytest.raises(NeedsReauthorization):
        asyncio.run(runtime.kick_connections.access_token(GUILD))
    report = asyncio.run(runtime.kick_setup.sync(GUILD))
    assert report.problem == "the Kick connection needs re-authorization (run !kick setup)"
    kick.add_channel("other", 2002)
    result = asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "other"))
    assert result.replaced == Replaced("streamer", GivenBack.UNREADABLE)
    assert runtime.kick_connections.status(GUILD).username is None


def test_a_refresh_refused_because_another_process_refreshed_first_leaves_it_connected(
    runtime, web, kick, clock
):
    """Kick rotates refresh tokens: process A refreshed first and is slow to save its pair;
    this process's refresh with the same token is refused and marks the connection, and A's
    pair, saved a moment later, works: the connection is connected again."""
    kick.rotate_refresh_tokens = True
    connect(runtime, web)
    connections = runtime.kick_connections
    clock.advance(minutes=56)
    with runtime.engine.connect() as conn:
        stored = connection_rows.get(conn, kick_connections, GUILD)

    async def refresh_as_process_a():  # type: ignore[no-untyped-def]
        async with connections.make_oauth() as oauth:
            return await oauth.refresh(connections.cipher.decrypt(stored.refresh_token))

    tokens = asyncio.run(refresh_as_process_a())
    with pytest.raises(NeedsReauthorization):  # this call fails: A's pair is not saved yet
        asyncio.run(connections.access_token(GUILD))
    with runtime.engine.begin() as conn:  # A saves
        assert connection_rows.replace_tokens(
            conn, kick_connections, GUILD,
            expected_access_token=stored.access_token,
            access_token=connections.cipher.encrypt(tokens.access_token),
            refresh_token=connections.cipher.encrypt(tokens.refresh_token),
            expires_at=tokens.expires_at, now=clock(),
        )  # fmt: skip

    assert runtime.kick_setup.status(GUILD).connection.needs_reauthorization is False
    assert asyncio.run(connections.access_token(GUILD)) == tokens.access_token


def test_no_token_or_secret_reaches_the_logs(runtime, web, kick, clock, caplog):
    caplog.set_level(logging.DEBUG)
    connect(runtime, web)
    asyncio.run(runtime.subscriptions.sync_requested())
    clock.advance(minutes=58)
    asyncio.run(runtime.kick_connections.access_token(GUILD))
    for secret in [
        *kick.tokens,
        CLIENT_SECRET,
        "connection-test-secret-a-key-of-32-characters-or-more",
        TEST_FERNET_KEY,
    ]:
        assert secret not in caplog.text


def chat_payload(broadcaster: int, sender_id: int, name: str, said_at: datetime) -> dict:
    payload = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    payload["broadcaster"]["user_id"] = broadcaster
    payload["sender"].update(user_id=sender_id, username=name)
    payload["message_id"] = f"msg-{sender_id}"
    payload["created_at"] = said_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


def test_a_webhook_from_the_fake_reaches_watchtime(runtime, kick, clock):
    asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "streamer"))
    runtime.tick_all(clock.now)
    server = runtime.start_web_server()
    try:
        answer = kick.send_webhook(
            f"{server.url}/webhooks/kick",
            "chat.message.sent",
            chat_payload(1001, 5, "viewer_five", clock.now),
        )
    finally:
        server.close()
    assert answer.json()["status"] == "queued"
    deliver_all(runtime)
    clock.advance(seconds=60)
    runtime.tick_all(clock.now)
    assert [(r.username, r.seconds) for r in runtime.watchtime.export(GUILD)] == [
        ("viewer_five", 60)
    ]


async def test_a_pusher_chat_message_from_the_fake_reaches_watchtime(tmp_path, kick, clock):
    async with FakePusher() as pusher:
        runtime = build_runtime(
            tmp_path, kick, clock, KICK_PUSHER_ENABLED="true", KICK_PUSHER_URL=pusher.url
        )
        try:
            await runtime.kick_setup.setup(GUILD, ADMIN, "streamer")
            chatroom = kick.channels["streamer"].chatroom_id
            await asyncio.to_thread(runtime.tick_all, clock.now)
            stop = asyncio.Event()
            supervisor = asyncio.create_task(runtime.pusher.run(stop))
            await eventually(
                lambda: (
                    f"chatrooms.{chatroom}.v2"
                    in runtime.pusher.states().get(("1001", chatroom), _NO_STATE).subscribed
                ),
                within=10,
            )
            data = {
                "id": "3f1c2b7e-0000-4000-8000-000000000001",
                "chatroom_id": chatroom,
                "content": "hello",
                "type": "message",
                "created_at": clock.now.isoformat(),
                "sender": {"id": 6, "username": "viewer_six", "slug": "viewer_six",
                           "identity": {"color": "#fff", "badges": []}},
            }  # fmt: skip
            await pusher.broadcast(
                f"chatrooms.{chatroom}.v2", "App\\Events\\ChatMessageEvent", data
            )
            await eventually(lambda: runtime.bus.backlog() > 0, within=10)
            stop.set()
            await supervisor
            await deliver_queued(runtime)
            clock.advance(seconds=60)
            await asyncio.to_thread(runtime.tick_all, clock.now)
            rows = await asyncio.to_thread(runtime.watchtime.export, GUILD)
            assert [(r.username, r.seconds) for r in rows] == [("viewer_six", 60)]
        finally:
            runtime.close()


class _NoState:
    subscribed = ()


_NO_STATE = _NoState()


def test_a_delivery_without_broadcaster_is_routed_by_its_subscription_id(runtime, web, kick, clock):
    from core.platforms.kick.signing import signed_headers

    connect(runtime, web)
    asyncio.run(runtime.subscriptions.sync_requested())
    chat_subscription = next(
        s
        for s in runtime.kick_connections.stored_subscriptions("1001")
        if s.event == "chat.message.sent"
    )
    payload = chat_payload(1001, 7, "viewer_seven", clock.now)
    del payload["broadcaster"]
    body = json.dumps(payload).encode()
    headers = signed_headers(kick.private_key, body, event_type="chat.message.sent")
    headers["Kick-Event-Subscription-Id"] = chat_subscription.subscription_id

    answer = web.post("/webhooks/kick", data=body, headers=headers)

    assert answer.json["status"] == "queued"
    unknown = signed_headers(kick.private_key, body, event_type="chat.message.sent")
    unknown["Kick-Event-Subscription-Id"] = "01NOSUCHSUBSCRIPTION000000"
    assert web.post("/webhooks/kick", data=body, headers=unknown).json["status"] == "ignored"


async def test_a_chat_reply_reaches_the_channel_as_the_apps_bot(tmp_path, kick, clock):
    runtime = build_runtime(tmp_path, kick, clock)
    try:
        await runtime.kick_setup.setup(GUILD, ADMIN, "streamer")
        web = runtime.create_web_app().test_client()
        # The sign-in runs its own event loop, as in a web request thread.
        await asyncio.to_thread(connect_with_link, runtime, web)
        await runtime.kick.chat.send(
            guild_id=GUILD, broadcaster_user_id="1001", text="hello chat", reply_to_message_id="m1"
        )
        await runtime.kick.chat.flush()
        [message] = kick.chat_messages
        assert (message.type, message.content) == ("bot", "hello chat")
    finally:
        await runtime.kick.close_chat()
        runtime.close()


def connect_with_link(runtime: Runtime, web) -> None:
    answer = web.get(local(authorize(web, start_link_sync(runtime))))
    assert answer.status_code == 200


def start_link_sync(runtime: Runtime) -> str:
    from core.features.connections.kick.service import PURPOSE_STREAMER
    from core.security.links import new_claims, signed_link

    claims = new_claims(PURPOSE_STREAMER, ADMIN, GUILD, runtime.clock())
    return signed_link(BOT_URL, "/auth/kick/streamer", runtime.link_secret, claims)


async def test_the_upkeep_loop_subscribes_a_newly_connected_channel(runtime, web, kick):
    await asyncio.to_thread(connect, runtime, web)
    stop = asyncio.Event()
    upkeep = asyncio.create_task(runtime.kick_upkeep.run(stop, every_seconds=0.05))
    await eventually(lambda: len(kick.subscriptions) == 10, within=10)
    await eventually(lambda: runtime.kick_connections.guild_ids_needing_sync() == [], within=10)
    stop.set()
    await upkeep
    assert runtime.kick_setup.status(GUILD).missing == ()


def test_an_app_token_kick_forgot_is_minted_again(runtime, kick):
    """Kick stops taking the app token weeks before the expiry it gave (revoked, forgotten):
    the next setup mints a new one instead of failing until the bot restarts."""
    asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "streamer"))
    [first] = [t for t, issued in kick.tokens.items() if issued.token_type == "app"]
    kick.expire_token(first)  # Kick no longer takes it, though it has weeks left here

    result = asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "streamer"))

    assert result.channel.broadcaster_user_id == "1001"
    assert [r.status for r in kick.requests_to("/public/v1/channels")] == [200, 401, 200]
