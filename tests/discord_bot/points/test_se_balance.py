"""Discord's !points in a guild that keeps its points in StreamElements: the balance
StreamElements keeps (asked from the loopback fake by login), less what is held in a heist."""

from __future__ import annotations

import pytest

from core.discord_bot.services import BotServices
from core.events import Platform, Viewer
from core.features.linking.repository import AccountLink, save_link
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsService
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.fake_discord import say
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.points.se_support import payments, payments_worker
from tests.support.viewers import chatted_in
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
def services(watchtime, guilds, health_report, linking, points, wallet) -> BotServices:
    return BotServices(
        watchtime=watchtime,
        guilds=guilds,
        health=lambda: health_report,
        linking=linking,
        points=points,
        points_wallet=wallet,
    )


async def test_points_shows_the_streamelements_balance_less_heist_holds(
    sqlite_engine, clock, se, wallet, points, alice, guild_a
):
    with sqlite_engine.begin() as conn:
        chatted_in(conn, guild_a.id, Platform.TWITCH, [Viewer("900", "Carol")], clock())
    points.give(guild_a.id, Platform.TWITCH, "900", 5)  # the ledger's balance is not shown
    wallet.use_streamelements(guild_a.id, CHANNEL_ID, JWT)
    se.points["carol"] = 700
    await wallet.hold(guild_a.id, "carol", 200, source="heist", source_ref="1:twitch:900:stake")

    [reply] = await say("!points twitch:Carol", alice)
    assert reply.content == (
        "**Carol** (Twitch): 500 points on StreamElements (200 held for a heist)"
    )
    await wallet.queue_change(guild_a.id, "carol", -50, ref="admin:1", actor_id=1, reason="")
    [reply] = await say("!points twitch:Carol", alice)
    assert reply.content == (
        "**Carol** (Twitch): 450 points on StreamElements (200 held for a heist, 50 waiting to "
        "be taken away)"
    )

    se.fail_next("500", "500", "500")
    [reply] = await say("!points twitch:Carol", alice)
    assert reply.content.startswith("**Carol**: StreamElements did not answer")


@pytest.fixture
def se_guild(sqlite_engine, clock, wallet, points, guild_a):
    """Carol and Dave have chatted here; the guild keeps its points in StreamElements."""
    with sqlite_engine.begin() as conn:
        twitch = [Viewer("900", "Carol"), Viewer("901", "dave")]
        chatted_in(conn, guild_a.id, Platform.TWITCH, twitch, clock())
    points.give(guild_a.id, Platform.TWITCH, "900", 5)  # the ledger's balances are not used
    points.give(guild_a.id, Platform.TWITCH, "901", 9)
    wallet.use_streamelements(guild_a.id, CHANNEL_ID, JWT)
    return guild_a


async def test_pointsgive_and_pointsremove_change_the_streamelements_balance(
    se, wallet, points, manager, se_guild
):
    se.points["carol"] = 700
    [reply] = await say("!pointsgive twitch:Carol 250 raid prize", manager)
    assert reply.content == (
        "Giving 250 points to **Carol** (Twitch) on StreamElements, where they have 700 points; "
        "the change is made within seconds."
    )
    [reply] = await say("!pointsremove twitch:Carol 100", manager)
    assert reply.content.startswith("Taking 100 points from **Carol** (Twitch) on StreamElements")

    assert payments(wallet.engine) == [("carol", 250, "pending"), ("carol", -100, "pending")]
    await payments_worker(wallet).run_once()  # the streamelements worker makes them
    assert se.puts == [("carol", 250), ("carol", -100)]
    assert se.points["carol"] == 850
    assert points.balance(se_guild.id, Platform.TWITCH, "900") == 5  # our ledger untouched


async def test_removing_more_than_the_streamelements_balance_is_refused(
    se, wallet, manager, se_guild
):
    se.points["carol"] = 80
    await wallet.hold(se_guild.id, "carol", 50, source="heist", source_ref="1:twitch:900:stake")
    [reply] = await say("!pointsremove twitch:Carol 40", manager)
    assert reply.content == "carol has only 30 points free on StreamElements."
    se.fail_next("500", "500", "500")
    [reply] = await say("!pointsgive twitch:Carol 40", manager)
    assert reply.content.startswith("StreamElements did not answer")
    assert payments(wallet.engine) == []


async def test_a_reason_past_200_characters_is_refused_not_cut(se, wallet, manager, se_guild):
    se.points["carol"] = 80
    [reply] = await say(f"!pointsgive twitch:Carol 40 {'r' * 201}", manager)
    assert reply.content == "Keep the reason under 200 characters."
    assert payments(wallet.engine) == []
    assert se.reads == []  # refused before StreamElements is asked
    [reply] = await say(f"!pointsgive twitch:Carol 40 {'w' * 200}", manager)
    assert reply.content.startswith("Giving 40 points to **Carol** (Twitch) on StreamElements")


async def test_pointsboard_ranks_the_streamelements_balances(se, alice, se_guild):
    se.points.update({"carol": 300, "dave": 1200})
    [reply] = await say("!pointsboard", alice)
    [embed] = reply.embeds
    assert embed.description == "**#1** dave: 1,200 points\n**#2** carol: 300 points"
    assert "StreamElements' own leaderboard is not used" in (embed.footer.text or "")


def link(engine, clock, member, platform: Platform, user_id: str, name: str, guild_id: int) -> None:
    with engine.begin() as conn:
        save_link(conn, AccountLink(platform, user_id, member.id, name, clock()), guild_id)


@pytest.fixture
def kick_carol(sqlite_engine, clock, se_guild):
    """A Kick account called carol (77), another person than Twitch's Carol, who has
    StreamElements points; StreamElements keeps points by Twitch login."""
    with sqlite_engine.begin() as conn:
        chatted_in(conn, se_guild.id, Platform.KICK, [Viewer("77", "carol")], clock())
    return "77"


async def test_a_kick_account_shows_the_points_of_the_twitch_account_linked_with_it(
    sqlite_engine, clock, se, alice, manager, se_guild, kick_carol
):
    se.points.update({"carol": 700, "erin": 40})
    link(sqlite_engine, clock, alice, Platform.KICK, kick_carol, "carol", se_guild.id)
    [own] = await say("!points", alice)
    assert own.content == (
        "**carol** (Kick): StreamElements knows viewers by their Twitch account, and none is "
        "linked to this one (`!link twitch`)."
    )
    [named] = await say("!points kick:carol", manager)
    assert named.content == own.content
    assert se.reads == []  # Twitch's carol's balance was never asked for, nor shown

    link(sqlite_engine, clock, alice, Platform.TWITCH, "950", "erin", se_guild.id)
    [own] = await say("!points", alice)
    assert own.content == "**erin** (Twitch): 40 points on StreamElements"  # once, not twice
    assert se.reads == ["erin"]


async def test_pointsgive_to_a_kick_account_goes_to_its_linked_twitch_login_or_is_refused(
    sqlite_engine, clock, se, wallet, alice, manager, se_guild, kick_carol
):
    se.points.update({"carol": 700, "erin": 40})
    [reply] = await say("!pointsremove kick:carol 500", manager)
    assert reply.content == (
        "StreamElements knows viewers by their Twitch account, and carol on Kick has none "
        "linked here."
    )
    assert (payments(wallet.engine), se.reads) == ([], [])

    link(sqlite_engine, clock, alice, Platform.KICK, kick_carol, "carol", se_guild.id)
    link(sqlite_engine, clock, alice, Platform.TWITCH, "950", "erin", se_guild.id)
    [reply] = await say("!pointsgive kick:carol 25", manager)
    assert reply.content == (
        "Giving 25 points to **carol** (Kick) as **erin** (Twitch) on StreamElements, where "
        "they have 40 points; the change is made within seconds."
    )
    assert payments(wallet.engine) == [("erin", 25, "pending")]


async def test_pointsboard_leaves_out_kick_accounts_with_no_twitch_account_linked(
    sqlite_engine, clock, se, points, alice, se_guild
):
    with sqlite_engine.begin() as conn:
        chatted_in(conn, se_guild.id, Platform.KICK, [Viewer("79", "frank")], clock())
    points.give(se_guild.id, Platform.KICK, "79", 50)  # seen earning here, on Kick only
    se.points.update({"carol": 300, "dave": 1200, "frank": 9000})  # Twitch's frank: not here
    [reply] = await say("!pointsboard", alice)
    [embed] = reply.embeds
    assert embed.description == "**#1** dave: 1,200 points\n**#2** carol: 300 points"
    assert "frank" not in se.reads


async def test_pointsboard_shares_a_rank_between_equal_streamelements_balances(se, alice, se_guild):
    """It numbered two viewers with as many points #1 and #2."""
    se.points.update({"carol": 300, "dave": 300})
    [reply] = await say("!pointsboard", alice)
    [embed] = reply.embeds
    assert embed.description == "**=1** carol: 300 points\n**=1** dave: 300 points"
