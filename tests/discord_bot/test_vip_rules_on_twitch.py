"""VIP rules on Twitch, through signed webhooks over loopback HTTP into one real Runtime, the
fake Twitch on 127.0.0.1 (Helix and its VIP list) and dpytest's Discord: a cheer of enough bits,
a tier-2 sub and a gift of enough subs each land a VIP on the fake Helix for their rule's hours,
audited with the rule; a cheer below the bar, a tier-1 sub and a repeated delivery grant
nothing more; two rewards with different costs give different hours."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import discord

from core.events import Platform
from core.features.vip.rules import RuleAsked
from core.runtime import Runtime
from core.web.server import WebServer
from tests.discord_bot.fake_discord import say
from tests.discord_bot.linking_support import deliver_published
from tests.discord_bot.test_done_when_issue_13 import (  # noqa: F401 - fixtures
    BROADCASTER,
    clock,
    consent_as_streamer,
    e2e_runtime,
    gateway,
    redeem,
    server,
    services,
    twitch,
)
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import BOT_URL, EVENTSUB_SECRET
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock

ANN, BEN, CARA, DAN, EVE, FAY = "5001", "5002", "5003", "5004", "5005", "5006"


async def _connected(manager: discord.Member, web: WebServer) -> None:
    replies = await say("!twitch setup twitchdev", manager)
    [dm] = [m for m in replies if isinstance(m.channel, discord.DMChannel)]
    [link] = [w for w in dm.content.split() if w.startswith(f"{BOT_URL}/auth/twitch/streamer?")]
    await consent_as_streamer(web, link)


def _expires(runtime_vips: list, user_id: str) -> datetime | None:
    [grant] = [g for g in runtime_vips if g.platform_user_id == user_id]
    return grant.expires_at


async def test_each_rule_grants_its_hours_once_and_below_the_bar_nothing(
    guild_a: discord.Guild,
    manager: discord.Member,
    e2e_runtime: Runtime,  # noqa: F811
    server: WebServer,  # noqa: F811
    twitch: FakeTwitch,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    runtime = e2e_runtime
    for user_id, login in ((DAN, "dan"), (EVE, "eve"), (FAY, "fay")):
        twitch.add_user(user_id, login)
    await _connected(manager, server)
    rules = runtime.vip.rules
    twitch_rule = lambda when, hours, **more: RuleAsked(Platform.TWITCH, when, hours, **more)  # noqa: E731
    cheer = await rules.add(guild_a.id, twitch_rule("bits", 24, at_least=500))
    sub = await rules.add(guild_a.id, twitch_rule("sub", 48, tier=2))
    gift = await rules.add(guild_a.id, twitch_rule("gift", 72, at_least=5))
    day = await rules.add(guild_a.id, twitch_rule("reward", 24, title="VIP 1 day", cost=5000))
    week = await rules.add(guild_a.id, twitch_rule("reward", 168, title="VIP 1 week", cost=25000))
    assert {r["title"]: r["cost"] for r in twitch.rewards.values()} == {
        "VIP 1 day": 5000,
        "VIP 1 week": 25000,
    }
    sender = EventSubSender.http(server.url, clock, secret=EVENTSUB_SECRET)
    channel = twitch.channels[BROADCASTER]

    async def deliver(kind: str, delivery_id: str | None = None, **fields: object) -> str:
        status, answer = await asyncio.to_thread(
            sender.notify, kind, BROADCASTER, delivery_id=delivery_id, **fields
        )
        assert status == 200, answer
        await deliver_published(runtime)
        return str(answer["status"])

    def viewer(user_id: str, login: str) -> dict[str, str]:
        return {"user_id": user_id, "user_login": login, "user_name": login.title()}

    # A cheer below the bar grants nothing; one at the bar grants the rule's 24 hours, once.
    assert await deliver("channel.cheer", bits=499, **viewer(ANN, "ann")) == "queued"
    assert channel.vips == []
    at = clock()
    assert await deliver("channel.cheer", "cheer-1", bits=500, **viewer(ANN, "ann")) == "queued"
    assert await deliver("channel.cheer", "cheer-1", bits=500, **viewer(ANN, "ann")) == "duplicate"
    assert channel.vips == [ANN]
    vips = await runtime.vip.list_vips(guild_a.id)
    assert abs(_expires(vips, ANN) - (at + timedelta(hours=24))) < timedelta(minutes=1)

    # A tier-1 sub is below the tier-2 rule; a tier-2 one grants 48 hours.
    await deliver("channel.subscribe", tier="1000", is_gift=False, **viewer(DAN, "dan"))
    await deliver("channel.subscribe", tier="2000", is_gift=False, **viewer(BEN, "ben"))
    # A gift of 5 subs: its gifter gets 72 hours.
    await deliver("channel.subscription.gift", total=5, cumulative_total=9, **viewer(CARA, "cara"))
    assert sorted(channel.vips) == sorted([ANN, BEN, CARA])
    vips = await runtime.vip.list_vips(guild_a.id)
    assert _expires(vips, BEN) - _expires(vips, ANN) > timedelta(hours=23)
    assert _expires(vips, CARA) - _expires(vips, BEN) > timedelta(hours=23)

    # Two rewards with different costs give different hours.
    await redeem(sender, twitch, day.reward_id or "", EVE)
    await redeem(sender, twitch, week.reward_id or "", FAY)
    await deliver_published(runtime)
    vips = await runtime.vip.list_vips(guild_a.id)
    assert _expires(vips, FAY) - _expires(vips, EVE) > timedelta(hours=143)

    granted = {e.platform_user_id: e for e in await runtime.vip.log(guild_a.id, action="granted")}
    assert {uid: e.rule_id for uid, e in granted.items()} == {
        ANN: cheer.id,
        BEN: sub.id,
        CARA: gift.id,
        EVE: day.id,
        FAY: week.id,
    }
    assert granted[ANN].reason == f"rule {cheer.id}: a cheer of at least 500 bits"
    assert len(await runtime.vip.log(guild_a.id, limit=100)) == 5  # nothing for 499 bits or tier 1
