"""!linkshuffle, !verifyshuffle, !unlinkshuffle and !shuffle on dpytest's fake Discord, backed
by a real WagerService on a migrated SQLite database and the fake Shuffle on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from sqlalchemy.engine import Engine

from core.discord_bot.services import BotServices
from core.events import Platform
from core.features.guilds.service import GuildService
from core.features.linking.repository import AccountLink, save_link
from core.features.linking.service import LinkingService
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.wagers.service import WagerService
from core.features.watchtime.service import WatchtimeService
from core.health import HealthReport
from core.platforms.shuffle.api import ShuffleClient
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.fake_discord import member_of, say
from tests.fakes.shuffle_server import AFFILIATE_KEY, FakeShuffle
from tests.support.clock import Clock
from tests.support.waiting import no_sleep

NOT_ADMIN = "You need the Manage Server permission to use !{}."
NOW = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def wagers(sqlite_engine: Engine, clock: Clock, shuffle: FakeShuffle) -> WagerService:
    return WagerService(
        sqlite_engine,
        TokenCipher(TEST_FERNET_KEY),
        make_client=lambda: ShuffleClient(sleep=no_sleep),
        clock=clock,
        allowed_hosts=(shuffle.host,),
    )


@pytest.fixture
def services(
    watchtime: WatchtimeService,
    guilds: GuildService,
    health_report: HealthReport,
    wagers: WagerService,
) -> BotServices:
    return BotServices(
        watchtime=watchtime, guilds=guilds, health=lambda: health_report, wagers=wagers
    )


def texts(replies: list[discord.Message]) -> str:
    return "\n".join(reply.content for reply in replies)


# --- !linkshuffle --------------------------------------------------------------------------------


async def test_a_member_asks_and_the_request_waits_for_an_admin(
    alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    [reply] = await say("!linkshuffle High_Roller", alice)
    assert "An admin will check that **High\\_Roller**" in reply.content
    assert "!verifyshuffle" in reply.content
    status = wagers.status(guild_a.id)
    assert [(r.discord_user_id, r.username) for r in status.requests] == [(alice.id, "High_Roller")]


async def test_the_reply_asks_for_a_kick_or_twitch_link_only_of_who_has_none(
    alice: discord.Member, guild_a: discord.Guild, sqlite_engine: Engine
) -> None:
    """Every member was told "you also need your Kick or Twitch account linked (!link)", also
    one who had linked theirs long ago."""
    with sqlite_engine.begin() as conn:
        save_link(conn, AccountLink(Platform.KICK, "9001", alice.id, "alice", NOW), 0)
    [linked] = await say("!linkshuffle alice_bets", alice)
    [unlinked] = await say("!linkshuffle bob_bets", member_of(guild_a, "bob"))

    assert "An admin will check that **alice\\_bets**" in linked.content
    assert "!link" not in linked.content.replace("!linkshuffle", "")
    assert "you also need your Kick or Twitch account linked (!link)" in unlinked.content


@pytest.mark.parametrize("name", ["x", "<@1234567890123456>", "@everyone!", "a" * 40])
async def test_a_name_that_cannot_be_a_shuffle_account_is_refused(
    alice: discord.Member, guild_a: discord.Guild, wagers: WagerService, name: str
) -> None:
    [reply] = await say(f"!linkshuffle {name}", alice)
    assert "not a Shuffle username" in reply.content
    assert not reply.mentions
    assert not reply.mention_everyone
    assert wagers.status(guild_a.id).pending_requests == 0


@pytest.mark.parametrize("typed", ["High Roller", "High_Roller please"])
async def test_a_name_with_a_space_is_refused_not_cut_to_its_first_word(
    alice: discord.Member, guild_a: discord.Guild, wagers: WagerService, typed: str
) -> None:
    """ "!linkshuffle High Roller" asked for the Shuffle account "High", someone else's maybe."""
    [reply] = await say(f"!linkshuffle {typed}", alice)
    assert "not a Shuffle username" in reply.content
    assert wagers.status(guild_a.id).pending_requests == 0


async def test_linkshuffle_without_a_name_shows_the_usage(alice: discord.Member) -> None:
    [reply] = await say("!linkshuffle", alice)
    assert reply.content == "Missing name. Usage: !linkshuffle <name>"


async def test_an_account_verified_for_someone_else_cannot_be_asked_for(
    alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    bob = member_of(guild_a, "bob")
    wagers.request_link(guild_a.id, bob.id, "shared")
    wagers.verify(guild_a.id, admin_id=1, discord_user_id=bob.id, name="shared")
    [reply] = await say("!linkshuffle SHARED", alice)
    assert "already verified for another member" in reply.content


async def test_wager_commands_in_direct_messages_are_refused(alice: discord.Member) -> None:
    dm = await alice.create_dm()
    for text in ("!linkshuffle someone", "!shuffle status", "!verifyshuffle x y"):
        [reply] = await say(text, alice, channel=dm)
        assert reply.content == "This command only works in a server, not in direct messages."


# --- !verifyshuffle and !unlinkshuffle -----------------------------------------------------------


async def test_verify_needs_manage_server(alice: discord.Member) -> None:
    await say("!linkshuffle alice_s", alice)
    [reply] = await say(f"!verifyshuffle {alice.mention} alice_s", alice)
    assert reply.content == NOT_ADMIN.format("verifyshuffle")


async def test_verify_of_a_member_who_did_not_ask_is_refused(
    manager: discord.Member, alice: discord.Member
) -> None:
    [reply] = await say(f"!verifyshuffle {alice.mention} alice_s", manager)
    assert "has not asked" in reply.content


async def test_verify_of_another_name_than_asked_is_refused(
    manager: discord.Member, alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    await say("!linkshuffle alice_s", alice)
    [reply] = await say(f"!verifyshuffle {alice.mention} bob_s", manager)
    assert "asked for alice\\_s, not bob\\_s" in reply.content
    assert wagers.link_of(guild_a.id, alice.id) is None


async def test_verify_of_a_name_with_a_space_is_refused_not_cut_to_its_first_word(
    manager: discord.Member, alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    await say("!linkshuffle alice", alice)
    [reply] = await say(f"!verifyshuffle {alice.mention} alice s", manager)
    assert "not a Shuffle username" in reply.content
    assert wagers.link_of(guild_a.id, alice.id) is None


async def test_verify_of_someone_not_here_or_without_a_name_is_refused(
    manager: discord.Member,
) -> None:
    [reply] = await say("!verifyshuffle nobody_by_that_name alice_s", manager)
    assert reply.content == "I can't find that member in this server."
    [reply] = await say(f"!verifyshuffle {manager.mention}", manager)
    assert reply.content.startswith("Missing name.")


async def test_a_bot_is_not_verified(manager: discord.Member, guild_a: discord.Guild) -> None:
    [reply] = await say(f"!verifyshuffle {guild_a.me.mention} botname", manager)
    assert reply.content == "Bots don't wager on Shuffle."


async def test_verify_links_the_account_gives_the_role_and_says_kick_is_missing(
    manager: discord.Member, alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    role = dpytest.backend.make_role("Shuffle verified", guild_a)
    wagers.set_verified_role(guild_a.id, role.id)
    await say("!linkshuffle Alice_S", alice)
    [reply] = await say(f"!verifyshuffle {alice.mention} alice_s", manager)
    assert f"{alice.mention} is verified as **Alice\\_S** on Shuffle" in reply.content
    assert "no Kick or Twitch account linked yet" in reply.content
    assert f"They now have {role.mention}." in reply.content
    assert role in member_of(guild_a, "alice").roles
    link = wagers.link_of(guild_a.id, alice.id)
    assert link is not None
    assert link.verified_by == manager.id
    [again] = await say(f"!verifyshuffle {alice.mention} ALICE_S", manager)
    assert "already verified as Alice\\_S" in again.content


async def test_verify_with_a_kick_link_says_nothing_is_missing(
    manager: discord.Member,
    alice: discord.Member,
    guild_a: discord.Guild,
    sqlite_engine: Engine,
    clock: Clock,
) -> None:
    with sqlite_engine.begin() as conn:
        save_link(conn, AccountLink(Platform.KICK, "77", alice.id, "alice", clock()), guild_a.id)
    await say("!linkshuffle alice_s", alice)
    [reply] = await say(f"!verifyshuffle {alice.mention} alice_s", manager)
    assert "is verified as" in reply.content
    assert "Kick" not in reply.content


async def test_a_role_that_is_gone_is_reported(
    manager: discord.Member, alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    wagers.set_verified_role(guild_a.id, 987654321987654321)
    await say("!linkshuffle alice_s", alice)
    [reply] = await say(f"!verifyshuffle {alice.mention} alice_s", manager)
    assert "The verified role no longer exists" in reply.content


async def test_unlink_forgets_the_account_and_takes_the_role_back(
    manager: discord.Member, alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    [reply] = await say(f"!unlinkshuffle {alice.mention}", manager)
    assert "has no verified Shuffle account here" in reply.content
    role = dpytest.backend.make_role("Shuffle verified", guild_a)
    wagers.set_verified_role(guild_a.id, role.id)
    await say("!linkshuffle alice_s", alice)
    await say(f"!verifyshuffle {alice.mention} alice_s", manager)
    [reply] = await say(f"!unlinkshuffle {alice.mention}", manager)
    assert "no longer linked to **alice\\_s**" in reply.content
    assert wagers.link_of(guild_a.id, alice.id) is None
    assert role not in member_of(guild_a, "alice").roles


async def test_an_account_held_by_someone_who_left_is_unlinked_by_their_user_id(
    manager: discord.Member,
    alice: discord.Member,
    guild_a: discord.Guild,
    wagers: WagerService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alice was verified as high_roller and left: the admin is told her id, and unlinks it by
    that id, so the account can be verified for the member who really owns it."""
    await say("!linkshuffle high_roller", alice)
    await say(f"!verifyshuffle {alice.mention} high_roller", manager)

    async def unknown_member(*_args: object) -> None:
        return None  # Discord answers 404 Unknown Member (dpytest would answer the author)

    monkeypatch.setattr(commands.MemberConverter, "query_member_by_id", unknown_member)
    guild_a._remove_member(alice)

    [refused] = await say(f"!verifyshuffle {manager.mention} high_roller", manager)
    assert refused.content.endswith(f"!unlinkshuffle {alice.id} first.")
    [reply] = await say(f"!unlinkshuffle {alice.id}", manager)

    assert reply.content == (
        "alice (no longer in this server) is no longer linked to **high\\_roller** on Shuffle; "
        "the tickets they earned stay."
    )
    assert wagers.link_of(guild_a.id, alice.id) is None
    await say("!linkshuffle high_roller", manager)
    [verified] = await say(f"!verifyshuffle {manager.mention} high_roller", manager)
    assert wagers.link_of(guild_a.id, manager.id) is not None, verified.content


async def test_unlink_needs_manage_server(alice: discord.Member) -> None:
    [reply] = await say(f"!unlinkshuffle {alice.mention}", alice)
    assert reply.content == NOT_ADMIN.format("unlinkshuffle")


# --- !shuffle ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "!shuffle",
        "!shuffle status",
        "!shuffle url http://x/y",
        "!shuffle codes A",
        "!shuffle role off",
    ],
)
async def test_shuffle_settings_need_manage_server(alice: discord.Member, text: str) -> None:
    [reply] = await say(text, alice)
    assert reply.content.startswith("You need the Manage Server permission")


async def test_shuffle_alone_shows_the_usage(manager: discord.Member) -> None:
    [reply] = await say("!shuffle", manager)
    assert reply.content.startswith("Usage: !shuffle url <link>|off")


async def test_the_url_is_stored_masked_and_the_message_with_the_key_deleted(
    manager: discord.Member, guild_a: discord.Guild, wagers: WagerService, shuffle: FakeShuffle
) -> None:
    channel = guild_a.text_channels[0]
    replies = await say(f"!shuffle url {shuffle.affiliate_url}", manager)
    [reply] = replies
    assert reply.content.startswith("Saved the statistics link: http://127.0.0.1:")
    assert "I deleted your message" in reply.content
    assert AFFILIATE_KEY not in reply.content
    history = [message.content async for message in channel.history(limit=20)]
    assert not any(AFFILIATE_KEY in content for content in history)
    assert wagers.status(guild_a.id).masked_url is not None
    [status] = await say("!shuffle status", manager)
    assert AFFILIATE_KEY not in status.content
    [off] = await say("!shuffle url off", manager)
    assert off.content.startswith("Statistics link removed")
    assert wagers.status(guild_a.id).masked_url is None


async def test_a_url_that_is_not_a_link_is_refused(
    manager: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    [reply] = await say("!shuffle url affiliate-key-only", manager)
    assert reply.content.startswith("That is not a link")
    assert wagers.status(guild_a.id).masked_url is None


async def test_codes_are_set_checked_and_cleared(
    manager: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    [reply] = await say("!shuffle codes STREAMER, second", manager)
    assert reply.content == "Players under `STREAMER`, `second` now earn wager tickets."
    assert wagers.status(guild_a.id).campaign_codes == ("STREAMER", "second")
    [bad] = await say("!shuffle codes good **bad**", manager)
    assert "is not a campaign code" in bad.content
    assert wagers.status(guild_a.id).campaign_codes == ("STREAMER", "second")
    [cleared] = await say("!shuffle codes off", manager)
    assert cleared.content.startswith("Campaign codes cleared")
    assert wagers.status(guild_a.id).campaign_codes == ()
    [missing] = await say("!shuffle codes", manager)
    assert missing.content.startswith("Missing codes.")


async def test_the_verified_role_is_set_checked_and_turned_off(
    manager: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    role = dpytest.backend.make_role("Gambler", guild_a)
    [reply] = await say(f"!shuffle role {role.mention}", manager)
    assert reply.content.startswith(f"Verified members get {role.mention}.")
    assert wagers.verified_role(guild_a.id) == role.id
    [unknown] = await say("!shuffle role No Such Role", manager)
    assert unknown.content == "I can't find that role here."
    [everyone] = await say(f"!shuffle role {guild_a.default_role.id}", manager)
    assert everyone.content == "That role can't be given by hand; pick another."
    assert wagers.verified_role(guild_a.id) == role.id
    [off] = await say("!shuffle role off", manager)
    assert off.content == "Verified members get no role."
    assert wagers.verified_role(guild_a.id) is None


async def test_the_linked_role_cannot_be_the_verified_role(
    manager: discord.Member, guild_a: discord.Guild, wagers: WagerService, linking: LinkingService
) -> None:
    """Unlinking a Kick account would take it from a verified player, and the other way round."""
    role = dpytest.backend.make_role("Linked", guild_a)
    linking.set_linked_role(guild_a.id, role.id)

    [reply] = await say(f"!shuffle role {role.mention}", manager)

    assert reply.content == (
        "That role is the one linked members get: the bot takes it back when a member unlinks, "
        "so verified Shuffle players would lose it. Pick another role, or stop giving the "
        "linked role first."
    )
    assert wagers.verified_role(guild_a.id) is None


async def test_status_shows_the_setup_the_last_poll_and_who_waits(
    manager: discord.Member,
    alice: discord.Member,
    guild_a: discord.Guild,
    wagers: WagerService,
    shuffle: FakeShuffle,
    sqlite_engine: Engine,
    clock: Clock,
) -> None:
    [before] = await say("!shuffle status", manager)
    assert "Statistics link: not set (!shuffle url <link>)" in before.content
    assert "Campaign codes: none" in before.content
    assert "Period: none open" in before.content
    wagers.set_affiliate_url(guild_a.id, shuffle.affiliate_url)
    wagers.set_campaign_codes(guild_a.id, "STREAMER")
    with sqlite_engine.begin() as conn:
        periods_repository.create_period(
            conn,
            guild_id=guild_a.id,
            starts_at=clock() - timedelta(days=1),
            ends_at=clock() + timedelta(days=29),
            status="open",
            seed="00" * 32,
            commitment="11" * 32,
            now=clock(),
        )
    await say("!linkshuffle under_score", alice)
    shuffle.fail_next("429", times=3)
    await asyncio.to_thread(asyncio.run, wagers.poll_guild(guild_a.id))
    [status] = await say("!shuffle status", manager)
    content = status.content
    assert "Campaign codes: `STREAMER`" in content
    assert "Rate: 20 tickets per $1,000 wagered; polled every 5 min" in content
    assert "Last successful poll: not yet" in content
    assert "Last problem: answered 429 (rate limited)" in content
    assert "Backing off: next try" in content
    assert "This period's baseline: taken at its first successful poll" in content
    assert f"- {alice.mention} asks for **under\\_score**" in content
    assert "waiting for an admin: 1" in content


async def test_when_the_message_cannot_be_deleted_the_admin_is_told_to(
    manager: discord.Member, shuffle: FakeShuffle, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_manage_messages(self: discord.Message, *args: object, **kwargs: object) -> None:
        raise discord.Forbidden(dpytest.backend.FakeRequest(403, "Forbidden"), "Missing Access")

    monkeypatch.setattr(discord.Message, "delete", no_manage_messages)
    [reply] = await say(f"!shuffle url {shuffle.affiliate_url}", manager)
    assert "I couldn't delete your message: delete it yourself" in reply.content
    assert AFFILIATE_KEY not in reply.content


async def test_verify_of_an_account_another_member_holds_is_refused(
    manager: discord.Member, alice: discord.Member, guild_a: discord.Guild, wagers: WagerService
) -> None:
    bob = member_of(guild_a, "bob")
    await say("!linkshuffle shared", alice)
    wagers.request_link(guild_a.id, bob.id, "shared")
    wagers.verify(guild_a.id, admin_id=1, discord_user_id=bob.id, name="shared")
    [reply] = await say(f"!verifyshuffle {alice.mention} shared", manager)
    assert f"already verified for another member: !unlinkshuffle {bob.id} first" in reply.content
    assert wagers.link_of(guild_a.id, alice.id) is None


async def test_asking_again_for_ones_own_verified_account_is_refused(
    manager: discord.Member, alice: discord.Member
) -> None:
    await say("!linkshuffle alice_s", alice)
    await say(f"!verifyshuffle {alice.mention} alice_s", manager)
    [reply] = await say("!linkshuffle Alice_S", alice)
    assert reply.content == "You are already verified as alice\\_s on Shuffle."


async def test_status_names_a_problem_found_by_a_successful_poll(
    manager: discord.Member,
    alice: discord.Member,
    guild_a: discord.Guild,
    wagers: WagerService,
    shuffle: FakeShuffle,
    sqlite_engine: Engine,
    clock: Clock,
) -> None:
    """A poll that was taken but left an account out (more tickets due than a ledger row
    holds) records its problem at the moment of its success: status showed only problems
    after the last success, so this one was never shown."""
    wagers.set_affiliate_url(guild_a.id, shuffle.affiliate_url)
    wagers.set_campaign_codes(guild_a.id, "STREAMER")
    with sqlite_engine.begin() as conn:
        periods_repository.create_period(
            conn,
            guild_id=guild_a.id,
            starts_at=clock() - timedelta(days=1),
            ends_at=clock() + timedelta(days=29),
            status="open",
            seed="00" * 32,
            commitment="11" * 32,
            now=clock(),
        )
        save_link(conn, AccountLink(Platform.KICK, "9001", alice.id, "alice", clock()), guild_a.id)
    wagers.request_link(guild_a.id, alice.id, "whale")
    wagers.verify(guild_a.id, admin_id=manager.id, discord_user_id=alice.id, name="whale")
    shuffle.set_wagered("whale", "0")
    await asyncio.to_thread(asyncio.run, wagers.poll_guild(guild_a.id))
    shuffle.add_wager("whale", "200000000000")  # $200 billion: past what a ledger row holds
    clock.advance(300)
    result = await asyncio.to_thread(asyncio.run, wagers.poll_guild(guild_a.id))
    assert result.problem

    [status] = await say("!shuffle status", manager)

    assert "Last problem: whale: more tickets due at once than the ledger holds" in status.content
