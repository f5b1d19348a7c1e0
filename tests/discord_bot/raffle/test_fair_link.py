"""``!fair`` links the period's public proof page, where the proof and the ledger it tells
viewers to check can be downloaded and checked in the browser."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from core.features.raffle.service import RaffleService
from tests.discord_bot.fake_discord import say
from tests.fakes.beacon_server import FakeBeacon
from tests.features.raffle.support import add_viewer, make_service
from tests.support.clock import Clock

SITE = "https://bot.example.com"


@pytest.fixture
def raffle(sqlite_engine: Engine, raffle_clock: Clock, beacon: FakeBeacon) -> RaffleService:
    return make_service(sqlite_engine, raffle_clock, beacon.url, proof_base_url=SITE + "/")


async def test_fair_links_the_proof_page_of_the_draws_period(
    manager, alice, sqlite_engine, raffle
) -> None:
    """`!fair` said "Anyone can check it: python -m core raffle verify <proof> <ledger>" and
    that "the proof page" lists every draw, but named no page: a viewer in Discord had no way
    to the two files."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say("!raffleend", manager)
    [secret] = await say("!fair", alice)
    await say("!raffledraw", manager)
    await say("!raffleforce", manager)
    period_id = raffle.views.info(alice.guild.id).last_closed.id

    [reply] = await say("!fair", alice)

    embed = reply.embeds[0]
    assert embed.url == f"{SITE}/raffle/{period_id}"
    fields = {field.name: field.value for field in embed.fields}
    assert f"{SITE}/raffle/{period_id}" in fields["Check it yourself"]
    assert secret.embeds[0].url is None  # no page before the first draw: the seed is secret
