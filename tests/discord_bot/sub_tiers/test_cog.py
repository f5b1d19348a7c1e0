"""!tier in Discord (dpytest): a member's linked accounts, a name, or "nothing known"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.discord_bot.services import BotServices
from core.events import Platform, Subscribed, Viewer
from core.features.linking.service import LinkingService
from core.features.sub_tiers.service import SubTierService
from tests.discord_bot.conftest import member_of
from tests.discord_bot.fake_discord import say

T0 = datetime(2030, 11, 3, 18, 0, tzinfo=UTC)


@pytest.fixture
def sub_tiers(sqlite_engine) -> SubTierService:
    return SubTierService(sqlite_engine, lambda: T0 + timedelta(hours=1))


@pytest.fixture
def services(watchtime, guilds, health_report, sub_tiers) -> BotServices:
    return BotServices(
        watchtime=watchtime, guilds=guilds, health=lambda: health_report, sub_tiers=sub_tiers
    )


def subscribe(
    tiers: SubTierService, guild_id: int, platform: Platform, user_id: str, name: str, **more
) -> None:
    tiers.handle_subscribed(
        guild_id,
        Subscribed(
            platform=platform,
            event_id=f"sub-{user_id}",
            broadcaster_user_id="1",
            occurred_at=T0,
            viewer=Viewer(user_id, name),
            **more,
        ),
    )


async def test_tier_of_yourself_from_your_linked_accounts(alice, guild_a, sub_tiers, sqlite_engine):
    linking = LinkingService(sqlite_engine, lambda: T0)
    for platform, user_id in ((Platform.KICK, "77"), (Platform.TWITCH, "88")):
        linking.link(
            guild_id=guild_a.id,
            discord_user_id=alice.id,
            platform=platform,
            platform_user_id=user_id,
            username="alice_tv",
        )
    subscribe(
        sub_tiers,
        guild_a.id,
        Platform.TWITCH,
        "88",
        "alice_tv",
        tier="2000",
        is_renewal=True,
        source_type="channel.subscription.message",
    )

    [reply] = await say("!tier", alice)
    assert reply.content == (
        "Kick **alice\\_tv**: nothing known.\n"
        "Twitch **alice\\_tv**: Tier 2 since 3 Nov, from a Twitch resub; good until 3 Dec."
    )


async def test_tier_by_name_on_both_platforms(alice, guild_a, sub_tiers):
    subscribe(sub_tiers, guild_a.id, Platform.KICK, "5", "zed")
    [reply] = await say("!tier zed", alice)
    assert reply.content == "Kick **zed**: Tier 1 since 3 Nov, from a Kick sub; good until 3 Dec."


async def test_a_name_for_one_platform_is_looked_up_there(alice, guild_a, sub_tiers):
    """ "kick:zed", as every other command takes a name for one platform, was looked up as a
    viewer called "kick:zed": nothing known, of a known Kick sub."""
    subscribe(sub_tiers, guild_a.id, Platform.KICK, "5", "zed")
    [kick] = await say("!tier kick:zed", alice)
    [twitch] = await say("!tier twitch:@zed", alice)
    assert kick.content == "Kick **zed**: Tier 1 since 3 Nov, from a Kick sub; good until 3 Dec."
    assert twitch.content == "No Kick or Twitch viewer called **twitch:@zed**: nothing known."


async def test_a_name_nobody_has_is_nothing_known(alice):
    [reply] = await say("!tier @ghost", alice)
    assert reply.content == "No Kick or Twitch viewer called **ghost**: nothing known."


@pytest.mark.parametrize("typed", ["_" * 990, "x" * 1960])
async def test_a_long_name_nobody_has_is_answered_in_one_message(alice, typed):
    [reply] = await say(f"!tier {typed}", alice)
    assert reply.content.startswith("No Kick or Twitch viewer called **")
    assert reply.content.endswith("**: nothing known.")
    assert len(reply.content) <= 2000


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("\u202eghost", "ghost"),  # a direction override turned ": nothing known." around
        ("x@everyone", "x@\u200beveryone"),
        ("x<@&123456789012345678>", "x<@\u200b&123456789012345678>"),
    ],
)
async def test_a_typed_name_is_shown_inert(alice, typed, shown):
    """The name was only markdown-escaped: a direction override, @everyone or a role's mention
    typed in it reached the reply as typed (every other reply passes it through ``inert``)."""
    [reply] = await say(f"!tier {typed}", alice)
    assert reply.content == f"No Kick or Twitch viewer called **{shown}**: nothing known."


async def test_an_unlinked_member_is_nothing_known(alice, guild_a):
    bob = member_of(guild_a, "bob")
    [reply] = await say(f"!tier <@{bob.id}>", alice)
    assert reply.content == f"<@{bob.id}> has not linked a Kick or Twitch account: nothing known."
    [own] = await say("!tier", alice)
    assert "isn't linked to Kick or Twitch" in own.content


async def test_records_of_another_server_are_not_shown(alice, guild_b, sub_tiers):
    subscribe(sub_tiers, guild_b.id, Platform.KICK, "5", "zed")
    [reply] = await say("!tier zed", alice)
    # Not even that a Kick zed exists: zed was seen in the other server only.
    assert reply.content == "No Kick or Twitch viewer called **zed**: nothing known."


async def test_a_linked_account_renamed_since_is_shown_by_its_name_of_now(
    alice, guild_a, sub_tiers, sqlite_engine
):
    LinkingService(sqlite_engine, lambda: T0).link(
        guild_id=guild_a.id,
        discord_user_id=alice.id,
        platform=Platform.TWITCH,
        platform_user_id="88",
        username="alice_tv",
    )
    # Renamed on Twitch after linking: the sub arrives under the new name.
    subscribe(sub_tiers, guild_a.id, Platform.TWITCH, "88", "alice_live", tier="1000")

    [own] = await say("!tier", alice)
    [by_name] = await say("!tier alice_live", alice)

    line = "Twitch **alice\\_live**: Tier 1 since 3 Nov, from a Twitch sub; good until 3 Dec."
    assert own.content == line
    assert by_name.content == line
