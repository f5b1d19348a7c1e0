"""The demo's Twitch part: a Twitch channel on the loopback fake Twitch (``tests/fakes``), fed by
real signed EventSub webhooks.

The streamer connects (a consent at the fake Twitch), ``!vip setup`` makes the reward there, and
then Twitch's deliveries arrive over HTTP at ``POST /webhooks/twitch``, signed with a throwaway
secret: the stream goes live, a viewer chats, another subscribes, a third redeems the VIP reward,
which makes them VIP in the fake Helix, marks the redemption FULFILLED and says so in chat.
Nothing leaves 127.0.0.1. The fake Twitch is a test tool: where it is not installed (the Docker
image leaves ``tests/`` out) this part is skipped, and says so.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.fernet import Fernet

from core.config import load_settings
from core.events import system_clock
from core.features.connections.twitch.signin import PURPOSE_TWITCH_STREAMER
from core.outbox import store as outbox_store
from core.platforms.twitch.webhook import signature_of
from core.runtime import Runtime
from core.security.links import new_claims

GUILD_ID = 100000000000000002
ADMIN_ID = 100000000000000003
BASE_URL = "https://streamkeeper.demo"  # only named in links; nothing is served there
REDEEM = "channel.channel_points_custom_reward_redemption.add"
CHATTER = ("7101", "kiwi_twitch")
SUBSCRIBER = ("7102", "luna_twitch")
REDEEMER = ("7103", "milo_twitch")


@dataclass
class TwitchDemoReport:
    channel: str = ""
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, is_ok: bool, line: str) -> None:
        self.lines.append(line if is_ok else f"{line}  <- NOT AS EXPECTED")
        if not is_ok:
            self.problems.append(line)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


async def play_twitch(tmp: Path) -> TwitchDemoReport | None:
    """Play the Twitch part; None when the fake Twitch is not installed."""
    try:
        from tests.fakes.twitch_helix import FIXTURES
        from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET, FakeTwitch
    except ImportError:
        return None
    with FakeTwitch(redirect_uris=[f"{BASE_URL}/auth/twitch/callback"]) as twitch:
        for user_id, login in (CHATTER, SUBSCRIBER, REDEEMER):
            twitch.add_user(user_id, login)
        secret = secrets.token_urlsafe(24)
        settings = load_settings(
            {
                "DATA_DIR": str(tmp),
                "HOST": "127.0.0.1",
                "PORT": "0",
                "LOG_LEVEL": "WARNING",
                "OAUTH_BASE_URL": BASE_URL,
                "FLASK_SECRET_KEY": secrets.token_hex(16),
                "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "TWITCH_CLIENT_ID": CLIENT_ID,
                "TWITCH_CLIENT_SECRET": CLIENT_SECRET,
                "TWITCH_API_BASE_URL": twitch.helix_url,
                "TWITCH_OAUTH_BASE_URL": twitch.oauth_url,
                "TWITCH_EVENTSUB_SECRET": secret,
                "KICK_PUSHER_ENABLED": "false",
            },
            env_file=None,
        )
        runtime = Runtime(settings)
        try:
            return await _play(runtime, twitch, secret, FIXTURES)
        finally:
            runtime.close()


async def _connect(runtime: Runtime) -> None:
    """The streamer opens the link ``!twitch setup`` DMs and consents at the fake Twitch."""
    nonce = secrets.token_urlsafe(32)
    claims = new_claims(PURPOSE_TWITCH_STREAMER, ADMIN_ID, GUILD_ID, runtime.clock())
    url = await asyncio.to_thread(
        runtime.twitch_connections.begin, PURPOSE_TWITCH_STREAMER, claims, nonce
    )
    async with httpx.AsyncClient(trust_env=False, timeout=10) as browser:
        consent = await browser.get(url, follow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["location"]).query).items()}
    await runtime.twitch_connections.complete(
        state=query["state"], code=query["code"], error=None, browser_nonce=nonce
    )


async def _play(runtime: Runtime, twitch: Any, secret: str, fixtures: Path) -> TwitchDemoReport:
    runtime.migrate()
    broadcaster = twitch.consenting_user_id
    login = twitch.users[broadcaster]["login"]
    report = TwitchDemoReport(channel=login)
    runtime.guilds.set_twitch_channel(GUILD_ID, login, broadcaster)
    await _connect(runtime)
    setup = await runtime.vip.setup(GUILD_ID, ADMIN_ID, "VIP for a day", 500, 24)
    server = runtime.start_web_server()
    stop = asyncio.Event()
    consumer = asyncio.create_task(runtime.bus.run(runtime.dispatcher, stop))
    callers = [asyncio.create_task(worker.run(stop)) for worker in runtime.outbox_workers]

    def body(name: str, **event: Any) -> dict[str, Any]:
        """Twitch's example body for ``name``, for our broadcaster, with ``event`` fields."""
        loaded = copy.deepcopy(json.loads((fixtures / f"{name}.json").read_text()))
        loaded["subscription"]["condition"]["broadcaster_user_id"] = broadcaster
        loaded["event"].update(broadcaster_user_id=broadcaster, broadcaster_user_login=login)
        loaded["event"].update(event)
        return loaded

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10, trust_env=False) as http:

            async def send(payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                message_id = str(uuid.uuid4())
                timestamp = _rfc3339(system_clock())
                headers = {
                    "Twitch-Eventsub-Message-Id": message_id,
                    "Twitch-Eventsub-Message-Retry": "0",
                    "Twitch-Eventsub-Message-Type": "notification",
                    "Twitch-Eventsub-Message-Signature": signature_of(
                        secret, message_id, timestamp, raw
                    ),
                    "Twitch-Eventsub-Message-Timestamp": timestamp,
                    "Twitch-Eventsub-Subscription-Type": payload["subscription"]["type"],
                    "Twitch-Eventsub-Subscription-Version": "1",
                    "Content-Type": "application/json",
                }
                response = await http.post("/webhooks/twitch", content=raw, headers=headers)
                report.sent += 1
                outcome = response.json().get("status", str(response.status_code))
                report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1

            started = system_clock() - timedelta(minutes=2)
            await send(body("stream.online", id=str(uuid.uuid4()), started_at=_rfc3339(started)))
            await _drain(runtime)
            await asyncio.to_thread(runtime.tick_all, system_clock())
            user_id, name = CHATTER
            await send(
                body(
                    "channel.chat.message",
                    chatter_user_id=user_id,
                    chatter_user_login=name,
                    chatter_user_name=name,
                    message_id=str(uuid.uuid4()),
                    message={"text": "hi from Twitch", "fragments": []},
                    badges=[],
                )
            )
            user_id, name = SUBSCRIBER
            await send(body("channel.subscribe", user_id=user_id, user_login=name, user_name=name))
            user_id, name = REDEEMER
            redemption_id = twitch.add_redemption(setup.reward.id, user_id)
            held = twitch.redemptions[redemption_id]
            await send(
                body(
                    REDEEM,
                    id=redemption_id,
                    user_id=user_id,
                    user_login=name,
                    user_name=held["user_name"],
                    user_input="",
                    reward=held["reward"],
                    redeemed_at=held["redeemed_at"],
                )
            )
            await _drain(runtime)
            await asyncio.to_thread(runtime.tick_all, system_clock() + timedelta(minutes=1))
        await runtime.twitch.close_chat()  # sends the chat replies still queued
        watched = await asyncio.to_thread(runtime.watchtime.export, GUILD_ID)
    finally:
        stop.set()
        await asyncio.gather(consumer, *callers)
        await runtime.vip.effects.twitch.aclose()  # type: ignore[attr-defined]
        server.close()

    seconds = {row.platform_user_id: row.seconds for row in watched}
    report.check(
        seconds.get(CHATTER[0], 0) > 0,
        f"chat: {CHATTER[1]} said hi; watchtime {seconds.get(CHATTER[0], 0)} s "
        "(the same watchtime as Kick's viewers)",
    )
    report.check(
        report.outcomes.get("queued", 0) == report.sent,
        f"subscription: {SUBSCRIBER[1]} subscribed (tier 1000), queued like every delivery",
    )
    vips = twitch.channels[broadcaster].vips
    status = twitch.redemptions[redemption_id]["status"]
    report.check(
        vips == [REDEEMER[0]] and status == "FULFILLED",
        f"redemption: {REDEEMER[1]} redeemed 'VIP for a day' (500 points): VIP on Twitch "
        f"{'yes' if REDEEMER[0] in vips else 'no'}, redemption {status}",
    )
    said = [m.message for m in twitch.chat_messages]
    report.check(bool(said), f"chat notice in Twitch chat: {said[-1] if said else '(none)'!r}")
    return report


async def _drain(runtime: Runtime) -> None:
    """Until the bus is empty and every call its handlers queued was made."""
    async with asyncio.timeout(30):
        while await asyncio.to_thread(_busy, runtime):  # noqa: ASYNC110 - polls the stores
            await asyncio.sleep(0.02)


def _busy(runtime: Runtime) -> bool:
    if runtime.bus.backlog() > 0:
        return True
    with runtime.engine.connect() as conn:
        return outbox_store.pending(conn) > 0


def print_twitch_report(report: TwitchDemoReport | None) -> None:
    if report is None:
        print(  # noqa: T201
            "\nTwitch part skipped: the fake Twitch (tests/fakes) is not installed here."
        )
        return
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(report.outcomes.items()))
    lines = [
        "",
        f"StreamKeeper demo: {report.channel!r} on Twitch (the fake Twitch on 127.0.0.1)",
        f"  EventSub webhooks sent: {report.sent} ({outcomes})",
        *(f"  {line}" for line in report.lines),
    ]
    print("\n".join(lines))  # noqa: T201
