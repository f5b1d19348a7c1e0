"""A queued Discord post (a slot call's, a VIP notice) whose channel Discord rate-limits for
longer than the bot waits: the runtime's ``discord`` worker, the bot's discord.py client and a
loopback Discord. Discord created nothing (a 429), so the post is made once the wait Discord
asked for is over, not called "uncertain" and dropped, and another server's post goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
import sqlalchemy as sa

from core.discord_bot.bot import create_bot
from core.discord_bot.channel_posts import ChannelPoster
from core.discord_bot.gateway import DiscordGateway
from core.outbox import DISCORD, store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, Outcome, Refused
from core.platforms.json_api import TOTAL_TIMEOUT_SECONDS
from core.storage.tables import outbox
from tests.fakes.discord_api import GOOD_TOKEN, FakeDiscordApi, fake_discord_api
from tests.support.clock import Clock

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
BUSY_GUILD, QUIET_GUILD = 1 << 22, 2 << 22  # the same shard as any other: one worker
BUSY_CHANNEL, QUIET_CHANNEL = 111, 222
POST = "test.post"


class Poster(ChannelPoster):
    kind = "slot call"
    fix = "set one with !slotcalls channel #channel"


@pytest.fixture
async def discord_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordApi]:
    async with fake_discord_api() as api:
        monkeypatch.setattr(discord.http.Route, "BASE", api.url)
        yield api


def queue_post(engine: Any, guild_id: int, channel_id: int, text: str) -> None:
    payload = {"channel_id": channel_id, "text": text}
    effect = Effect(DISCORD, POST, guild_id, f"post:{guild_id}", payload, f"post {text!r}")
    with engine.begin() as conn:
        store.enqueue(conn, effect, T0)


def stored(engine: Any) -> dict[int, tuple[str, Any, str]]:
    o = outbox.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(o.guild_id, o.state, o.next_attempt_at, o.result))
        return {row.guild_id: (row.state, row.next_attempt_at, row.result) for row in rows}


@pytest.mark.parametrize("limiter", ["discord", "cloudflare"])
async def test_a_post_rate_limited_for_long_is_made_after_the_wait_and_once(
    discord_api: FakeDiscordApi, make_runtime: Any, limiter: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord's own 429 (its wait in the body, longer than the bot waits) and Cloudflare's in
    front of it (a text body, the wait in ``Retry-After`` alone). The operator's log says which
    server's channel waits, and how long."""
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    limited = (
        discord_api.rate_limited_channels
        if limiter == "discord"
        else discord_api.cloudflare_limited_channels
    )
    limited[BUSY_CHANNEL] = 600.0
    bot = create_bot(runtime.bot_services())
    poster = Poster(DiscordGateway())

    async def post(guild_id: int, payload: dict[str, Any]) -> Outcome:
        channel = bot.get_partial_messageable(payload["channel_id"], guild_id=guild_id)
        refusal = await poster.send(channel, payload["text"])
        return Done("posted") if refusal is None else Refused(refusal)

    # As the slot call's and the VIP notice's kinds are: no idempotency key, the poster says
    # when its post leaves.
    worker = runtime.discord_calls
    worker.kinds[POST] = Kind(post, idempotent=False, says_when_sent=True)
    queue_post(runtime.engine, BUSY_GUILD, BUSY_CHANNEL, "ana called Gates of Olympus")
    queue_post(runtime.engine, QUIET_GUILD, QUIET_CHANNEL, "bo called Sweet Bonanza")
    async with bot:
        await bot.login(GOOD_TOKEN)
        await worker.run_once()

        calls = stored(runtime.engine)
        assert calls[QUIET_GUILD][0] == "done"
        state, due, reason = calls[BUSY_GUILD]
        assert state == "pending"  # not "uncertain": Discord created nothing
        assert due == clock.advance(600)
        assert "600" in reason
        said = [
            r.getMessage() for r in caplog.records if r.name == "core.discord_bot.channel_posts"
        ]
        assert said == [
            f"guild {BUSY_GUILD}: Discord rate-limits the slot call channel {BUSY_CHANNEL} for "
            "600 s; the slot call is posted after that"
        ]

        del limited[BUSY_CHANNEL]
        await worker.run_once()

    assert stored(runtime.engine)[BUSY_GUILD][0] == "done"
    assert discord_api.messages == [
        (QUIET_CHANNEL, "bo called Sweet Bonanza"),
        (BUSY_CHANNEL, "ana called Gates of Olympus"),
    ]


def test_a_discord_call_has_time_for_the_longest_wait_the_bot_makes_and_a_post_after_it(
    make_runtime: Any,
) -> None:
    """discord.py waits out a 429 of up to its ``max_ratelimit_timeout`` (never under 30 s,
    whatever the bot asks) inside the call, then posts. A call cut off by its time limit in
    that wait would end uncertain, never posted, though Discord had created nothing."""
    runtime = make_runtime()
    bot = create_bot(runtime.bot_services())
    longest_wait = bot.http.max_ratelimit_timeout
    assert longest_wait is not None
    a_post = TOTAL_TIMEOUT_SECONDS  # as long as any partner's request is given

    assert longest_wait + a_post <= runtime.discord_calls.timeout_seconds
