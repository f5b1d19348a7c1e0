"""A server that removed the bot gets no VIP from its Twitch channel rewards, on dpytest's Discord
with one real Runtime and the fake Twitch on 127.0.0.1: the bot removed from the server
(``on_guild_remove``), a viewer's redemption arrives as a signed webhook, is answered 200 and grants
nothing, nor does the scheduled read of missed redemptions (the redemption stays in Twitch's queue);
a VIP granted before still expires and is removed (what the bot owes keeps running); the bot added
again (``on_guild_join``), the next redemption grants the VIP."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
from discord.ext import commands

from core.runtime import Runtime
from core.web.server import WebServer
from tests.discord_bot.fake_discord import say
from tests.discord_bot.linking_support import deliver_published
from tests.discord_bot.test_done_when_issue_13 import (  # noqa: F401 - fixtures
    ANN,
    BEN,
    CARA,
    clock,
    e2e_runtime,
    gateway,
    redeem,
    server,
    services,
    twitch,
)
from tests.discord_bot.test_vip_rules_on_twitch import _connected
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import EVENTSUB_SECRET
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock
from tests.support.delivery import make_queued_calls
from tests.support.waiting import eventually

BROADCASTER = "141981764"


async def test_a_removed_server_grants_no_vip_but_expires_the_ones_it_gave(
    bot: commands.Bot,
    guild_a: discord.Guild,
    manager: discord.Member,
    e2e_runtime: Runtime,  # noqa: F811
    server: WebServer,  # noqa: F811
    twitch: FakeTwitch,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    runtime = e2e_runtime
    await _connected(manager, server)
    [setup] = await say("!vip setup VIP for a day 500 24", manager)
    assert setup.content.startswith("Reward **VIP for a day** created")
    [reward_id] = twitch.rewards
    sender = EventSubSender.http(server.url, clock, secret=EVENTSUB_SECRET)
    channel = twitch.channels[BROADCASTER]
    await redeem(sender, twitch, reward_id, ANN)
    await deliver_published(runtime)
    assert channel.vips == [ANN]

    # The streamer removes the bot from the Discord server.
    bot.dispatch("guild_remove", guild_a)
    await eventually(lambda: runtime.guilds.left_at(guild_a.id) is not None)

    ben = await redeem(sender, twitch, reward_id, BEN)  # answered 200 "queued" (redeem checks)
    await deliver_published(runtime)
    assert channel.vips == [ANN]
    await runtime.vip.drain_missed()  # the scheduled read of missed redemptions skips it too
    await make_queued_calls(runtime)
    assert channel.vips == [ANN]
    assert twitch.redemptions[ben]["status"] == "UNFULFILLED"  # neither granted nor refunded
    assert [e.platform_user_id for e in await runtime.vip.log(guild_a.id)] == [ANN]

    # Ann's VIP, granted before, still ends on time.
    clock.advance(hours=24, minutes=1)
    stop = asyncio.Event()
    loops = [runtime.scheduler.loops[n] for n in ("expiring temporary VIPs", "twitch-helix calls")]
    jobs = [asyncio.create_task(loop(stop)) for loop in loops]
    await eventually(lambda: channel.vips == [], within=10)
    stop.set()
    await asyncio.gather(*jobs)
    await make_queued_calls(runtime)
    removed, _granted = await runtime.vip.log(guild_a.id)
    assert (removed.action, removed.reason, removed.platform_user_id) == ("removed", "expired", ANN)

    # Invited again: the next redemption is a VIP.
    bot.dispatch("guild_join", guild_a)
    await eventually(lambda: runtime.guilds.left_at(guild_a.id) is None)
    granted_at = clock()
    cara = await redeem(sender, twitch, reward_id, CARA)
    await deliver_published(runtime)
    assert channel.vips == [CARA]
    assert twitch.redemptions[cara]["status"] == "FULFILLED"
    [vip] = await runtime.vip.list_vips(guild_a.id)
    assert vip.expires_at - granted_at < timedelta(hours=24, minutes=1)
