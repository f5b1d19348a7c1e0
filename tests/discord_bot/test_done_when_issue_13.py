"""Issue 13's "done when", as one story on dpytest's fake Discord with one real Runtime and the
fake Twitch on 127.0.0.1: an admin runs ``!twitch setup``, the streamer consents at the fake
Twitch, the upkeep creates the EventSub subscriptions there, ``!vip setup`` makes the reward; a
viewer's redemption arrives as a signed webhook over real loopback HTTP (the production WSGI
server) and becomes a VIP in the fake Helix, the redemption FULFILLED and a chat notice; the same
redemption again, by webhook and over the EventSub WebSocket, changes nothing; past the expiry
the job removes the VIP, and the audit has both rows; a redemption with no VIP slot left is
CANCELED (points refunded) with the reason in chat; one a moderator rejected on Twitch first
(``channel_points_custom_reward_redemption.update``) gives no VIP when its add comes late.

The bot's side runs as the bot process would: the bus hands what the web side queued to the
Runtime's dispatcher, and the scheduled jobs run on the test's clock.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import discord
import httpx
import pytest
import sqlalchemy as sa

from core.discord_bot.services import BotServices
from core.features.connections.twitch.subscriptions import WANTED_TYPES
from core.platforms.http import tls_context
from core.platforms.twitch.eventsub_sources import EventSubSupervisor
from core.runtime import Runtime
from core.storage.tables import outbox
from core.web.server import WebServer
from tests.discord_bot.fake_discord import say
from tests.discord_bot.linking_support import deliver_published
from tests.fakes.twitch_eventsub import EventSubSender, notification_body
from tests.fakes.twitch_eventsub_ws import FakeEventSubWs
from tests.fakes.twitch_eventsub_ws import fixture as ws_fixture
from tests.fakes.twitch_runtime import (
    BOT_URL,
    EVENTSUB_SECRET,
    REDIRECT_URI,
    runtime_on_fake_twitch,
)
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock
from tests.support.delivery import make_queued_calls
from tests.support.waiting import eventually

BROADCASTER = "141981764"  # twitchdev, who consents at the fake
REDEEM = "channel.channel_points_custom_reward_redemption.add"
SETTLED = "channel.channel_points_custom_reward_redemption.update"
ANN, BEN, CARA = "5001", "5002", "5003"


@pytest.fixture
def clock() -> Clock:
    return Clock()  # real time: webhook timestamps must be fresh for the receiver


@pytest.fixture
def twitch(clock: Clock) -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        fake.add_user(ANN, "ann")
        fake.add_user(BEN, "ben")
        fake.add_user(CARA, "cara")
        yield fake


@pytest.fixture
async def e2e_runtime(tmp_path: Path, twitch: FakeTwitch, clock: Clock) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", clock)
    yield runtime
    await runtime.shutdown()  # its HTTP clients were opened on this test's loop
    runtime.close()


@pytest.fixture
def services(e2e_runtime: Runtime) -> BotServices:
    return e2e_runtime.bot_services()


@pytest.fixture
def gateway(e2e_runtime: Runtime):  # type: ignore[no-untyped-def]
    return e2e_runtime.discord


@pytest.fixture
def server(e2e_runtime: Runtime) -> Iterator[WebServer]:
    web = e2e_runtime.start_web_server()  # waitress on 127.0.0.1, a free port
    yield web
    web.close()


def local(server: WebServer, url: str) -> str:
    """A link the bot gave out (on its public BOT_URL), as it reaches this server."""
    parts = urlsplit(url)
    return f"{server.url}{parts.path}?{parts.query}"


async def consent_as_streamer(server: WebServer, link: str) -> None:
    """The streamer opens the DM'd link in a browser, presses its button, consents at the fake
    Twitch and comes back to the callback."""
    async with httpx.AsyncClient(trust_env=False, timeout=10, verify=tls_context()) as browser:
        opened = await browser.get(local(server, link))
        assert opened.status_code == 200, opened.text
        # The cookie is Secure (the bot is on HTTPS); this loopback browser sends it anyway.
        cookies = "; ".join(c.split(";", 1)[0] for c in opened.headers.get_list("set-cookie"))
        started = await browser.post(local(server, link), headers={"Cookie": cookies})
        assert started.status_code == 303, started.text
        consent = await browser.get(started.headers["location"])
        assert consent.status_code == 302
        callback = consent.headers["location"]
        assert callback.startswith(f"{REDIRECT_URI}?")
        answer = await browser.get(local(server, callback), headers={"Cookie": cookies})
        assert answer.status_code == 200, answer.text


@asynccontextmanager
async def eventsub_socket(runtime: Runtime) -> AsyncIterator[FakeEventSubWs]:
    """The EventSub WebSocket next to the webhooks, wired to the runtime as core/wiring/twitch.py
    wires it (the streamer's token from the connection, the same bus). It is told of no webhook
    arrival, so whatever the socket hears is published again: the copies must change nothing."""
    async with FakeEventSubWs() as socket:
        supervisor = EventSubSupervisor(
            socket.url,
            broadcasters=lambda: [BROADCASTER],
            token_for=lambda: runtime.twitch_token_for,
            make_api=runtime.twitch.helix,
            publish=runtime.bus.publish,
            clock=runtime.clock,
            socket_options={"rng": lambda: 0.0},
        )
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(stop, every_seconds=0.05))
        try:
            await eventually(
                lambda: getattr(supervisor.states().get(BROADCASTER), "status", "") == "connected",
                within=10,
            )
            yield socket
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


def redemption_fields(twitch: FakeTwitch, redemption_id: str) -> dict:
    """The EventSub event of a redemption the fake holds, as Twitch would send it."""
    held = twitch.redemptions[redemption_id]
    return {
        "id": redemption_id,
        "user_id": held["user_id"],
        "user_login": held["user_login"],
        "user_name": held["user_name"],
        "user_input": "",
        "status": "unfulfilled",
        "reward": held["reward"],
        "redeemed_at": held["redeemed_at"],
        "broadcaster_user_login": "twitchdev",
        "broadcaster_user_name": "TwitchDev",
    }


async def redeem(sender: EventSubSender, twitch: FakeTwitch, reward_id: str, viewer: str) -> str:
    """The viewer redeems the reward on Twitch; Twitch sends the signed webhook."""
    redemption_id = twitch.add_redemption(reward_id, viewer)
    status, answer = await asyncio.to_thread(
        sender.notify, REDEEM, BROADCASTER, **redemption_fields(twitch, redemption_id)
    )
    assert (status, answer["status"]) == (200, "queued"), answer
    return redemption_id


def chat_lines(twitch: FakeTwitch) -> list[str]:
    return [m.message for m in twitch.chat_messages]


async def chat_says(twitch: FakeTwitch, *lines: str) -> None:
    """Twitch chat holds exactly ``lines`` (replies are sent in the background)."""
    await eventually(lambda: len(twitch.chat_messages) >= len(lines), within=10)
    await asyncio.sleep(0.1)  # and nothing more comes
    assert chat_lines(twitch) == list(lines)


async def test_twitch_setup_consent_redemption_vip_expiry_duplicates_and_a_refund(
    guild_a: discord.Guild,
    manager: discord.Member,
    e2e_runtime: Runtime,
    server: WebServer,
    twitch: FakeTwitch,
    clock: Clock,
) -> None:
    runtime = e2e_runtime
    # An admin sets the channel up; the streamer gets the consent link by DM and consents.
    replies = await say("!twitch setup twitchdev", manager)
    [dm] = [m for m in replies if isinstance(m.channel, discord.DMChannel)]
    [link] = [w for w in dm.content.split() if w.startswith(f"{BOT_URL}/auth/twitch/streamer?")]
    await consent_as_streamer(server, link)
    assert runtime.twitch_connections.status(guild_a.id).is_connected

    # The upkeep (what its scheduled loop runs) creates the subscriptions at the fake Twitch.
    await runtime.twitch_subscriptions.sync_requested()
    assert sorted(s["type"] for s in twitch.eventsub.values()) == sorted(WANTED_TYPES)
    assert {s["transport"]["callback"] for s in twitch.eventsub.values()} == {
        f"{BOT_URL}/webhooks/twitch"
    }
    [status] = await say("!twitch status", manager)
    assert f"{len(WANTED_TYPES)}/{len(WANTED_TYPES)} subscribed" in status.content

    [setup] = await say("!vip setup VIP for a day 500 24", manager)
    assert setup.content.startswith("Reward **VIP for a day** created")
    [reward_id] = twitch.rewards

    # Ann redeems: a signed webhook over loopback HTTP, then the bot's side handles it.
    sender = EventSubSender.http(server.url, clock, secret=EVENTSUB_SECRET)
    granted_at = clock()
    ann_redemption = await redeem(sender, twitch, reward_id, ANN)
    await deliver_published(runtime)

    channel = twitch.channels[BROADCASTER]
    assert channel.vips == [ANN]
    assert twitch.redemptions[ann_redemption]["status"] == "FULFILLED"
    expires = (granted_at + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M UTC")
    await chat_says(twitch, f"Ann is a VIP until {expires}.")
    # Said through the chat outbox (kept over a restart, listed when the bot could not say it).
    with runtime.engine.connect() as conn:
        lines = conn.execute(
            sa.select(outbox.c.payload).where(outbox.c.service == "twitch-chat")
        ).scalars()
        assert [line for line in lines if f"Ann is a VIP until {expires}." in line]

    # The same redemption again: Twitch retries the webhook (another message id), and the
    # EventSub WebSocket delivers it as well. Nothing changes.
    status_code, answer = await asyncio.to_thread(
        sender.notify, REDEEM, BROADCASTER, **redemption_fields(twitch, ann_redemption)
    )
    assert status_code == 200, answer
    async with eventsub_socket(runtime) as socket:
        frame = ws_fixture("notification.channel_points_custom_reward_redemption.add")
        frame["metadata"]["message_id"] = "ws-copy-of-ann"
        frame["metadata"]["message_timestamp"] = clock().isoformat().replace("+00:00", "Z")
        body = copy.deepcopy(frame["payload"])
        body["subscription"]["condition"]["broadcaster_user_id"] = BROADCASTER
        body["event"].update(
            broadcaster_user_id=BROADCASTER, **redemption_fields(twitch, ann_redemption)
        )
        frame["payload"] = body
        published = runtime.bus.backlog()
        await socket.notify(frame)
        await asyncio.sleep(0.5)
        assert runtime.bus.backlog() == published  # the bus already had it
    await deliver_published(runtime)
    assert channel.vips == [ANN]
    await chat_says(twitch, f"Ann is a VIP until {expires}.")
    [granted] = await runtime.vip.log(guild_a.id)
    assert granted.action == "granted"

    # The clock passes the expiry; the expiry job queues her removal, the Helix worker makes it.
    clock.advance(hours=24, minutes=1)
    stop = asyncio.Event()
    loops = [runtime.scheduler.loops[n] for n in ("expiring temporary VIPs", "twitch-helix calls")]
    jobs = [asyncio.create_task(loop(stop)) for loop in loops]
    await eventually(lambda: channel.vips == [], within=10)
    stop.set()
    await asyncio.gather(*jobs)
    await make_queued_calls(runtime)  # the notice in chat, through the chat outbox
    assert await runtime.vip.list_vips(guild_a.id) == []
    await chat_says(
        twitch, f"Ann is a VIP until {expires}.", "Ann is no longer a VIP (the VIP time is over)."
    )
    removed, granted = await runtime.vip.log(guild_a.id)
    assert (granted.action, granted.platform_user_id) == ("granted", ANN)
    assert (removed.action, removed.reason, removed.platform_user_id) == ("removed", "expired", ANN)

    # No VIP slot left: Ben's redemption is CANCELED (his points refunded), with the reason.
    channel.vip_slots = 0
    ben_redemption = await redeem(sender, twitch, reward_id, BEN)
    await deliver_published(runtime)
    assert channel.vips == []
    assert twitch.redemptions[ben_redemption]["status"] == "CANCELED"
    await eventually(lambda: len(twitch.chat_messages) == 3, within=10)
    refusal = chat_lines(twitch)[-1]
    assert refusal.startswith("@Ben no VIP this time: ")
    assert refusal.endswith("Your points were refunded.")
    refunded, refused, *_ = await runtime.vip.log(guild_a.id)
    assert (refused.action, refunded.action) == ("refused", "refunded")
    assert refunded.platform_user_id == refused.platform_user_id == BEN

    # A moderator rejects Cara's redemption in Twitch's queue before the bot gets to it: the
    # update webhook is handled first, and her add, delivered late, gives no VIP.
    channel.vip_slots = 10
    cara_redemption = twitch.add_redemption(reward_id, CARA)
    twitch.redemptions[cara_redemption]["status"] = "CANCELED"
    canceled = notification_body(
        REDEEM, BROADCASTER, **redemption_fields(twitch, cara_redemption) | {"status": "canceled"}
    )
    canceled["subscription"]["type"] = SETTLED
    status_code, answer = await asyncio.to_thread(
        sender.send, json.dumps(canceled).encode(), subscription_type=SETTLED
    )
    assert (status_code, answer["status"]) == (200, "queued"), answer
    await deliver_published(runtime)
    status_code, answer = await asyncio.to_thread(
        sender.notify, REDEEM, BROADCASTER, **redemption_fields(twitch, cara_redemption)
    )
    assert (status_code, answer["status"]) == (200, "queued"), answer
    await deliver_published(runtime)
    assert channel.vips == []
    [moderators] = await runtime.vip.log(guild_a.id, limit=1)
    assert (moderators.action, moderators.platform_user_id, moderators.redemption_id) == (
        "refunded",
        CARA,
        cara_redemption,
    )
    assert len(twitch.chat_messages) == 3  # nothing said in chat for it
