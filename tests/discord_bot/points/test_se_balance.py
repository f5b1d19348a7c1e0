"""Discord's !points in a guild that keeps its points in StreamElements: the balance
StreamElements keeps (asked from the loopback fake by login), less what is held in a heist."""

from __future__ import annotations

import pytest

from core.discord_bot.services import BotServices
from core.events import Platform, Viewer
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsService
from core.features.viewers.repository import remember_viewers
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.fake_discord import say
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.support.waiting import no_sleep


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        yield fake


@pytest.fixture
async def wallet(sqlite_engine, clock, se):
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        yield SeWallet(sqlite_engine, clock, TokenCipher(TEST_FERNET_KEY), client)


@pytest.fixture
def points(sqlite_engine, clock) -> PointsService:
    return PointsService(sqlite_engine, clock)


@pytest.fixture
def services(watchtime, guilds, health_report, points, wallet) -> BotServices:
    return BotServices(
        watchtime=watchtime,
        guilds=guilds,
        health=lambda: health_report,
        points=points,
        points_wallet=wallet,
    )


async def test_points_shows_the_streamelements_balance_less_heist_holds(
    sqlite_engine, clock, se, wallet, points, alice, guild_a
):
    with sqlite_engine.begin() as conn:
        remember_viewers(conn, Platform.TWITCH, [Viewer("900", "Carol")], clock())
    points.give(guild_a.id, Platform.TWITCH, "900", 5)  # the ledger's balance is not shown
    wallet.use_streamelements(guild_a.id, CHANNEL_ID, JWT)
    se.points["carol"] = 700
    await wallet.hold(guild_a.id, "carol", 200, source="heist", source_ref="1:twitch:900:stake")

    [reply] = await say("!points twitch:Carol", alice)
    assert reply.content == (
        "**Carol** (Twitch): 500 points on StreamElements (200 staked in a heist)"
    )

    se.fail_next("500", "500", "500")
    [reply] = await say("!points twitch:Carol", alice)
    assert reply.content.startswith("**Carol**: StreamElements did not answer")
