"""!roles on dpytest's fake Discord: setting tiers up, every refusal, and role sync on members."""

from __future__ import annotations

import asyncio

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend, factories
from sqlalchemy.engine import Engine

from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.linking.outbound import DiscordLinks
from core.discord_bot.roles import render as render_roles
from core.events import Platform, Viewer
from core.features.linking.service import LinkingService
from core.features.raffle.wagers.service import WagerService
from core.features.roles.repository import RoleTier
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.conftest import Stream
from tests.discord_bot.fake_discord import member_of, say
from tests.discord_bot.fake_roles import (
    MemberEdits,
    give_bot_a_role,
    make_role,
    role_ids,
)
from tests.features.roles.test_service import HANG_SECONDS, ParkedPause
from tests.support.clock import Clock


@pytest.fixture
async def tiers(guild_a: discord.Guild) -> dict[str, discord.Role]:
    """Bronze, Silver and Gold below the bot's role; Admin above it."""
    await give_bot_a_role(guild_a)
    return {
        "bronze": make_role(guild_a, "Bronze", 2),
        "silver": make_role(guild_a, "Silver", 3),
        "gold": make_role(guild_a, "Gold", 4),
        "admin": make_role(guild_a, "Admin", 20),
    }


@pytest.fixture
def link(sqlite_engine: Engine, clock: Clock, stream: Stream):
    """Link a Discord member to a fresh Kick account that earned ``minutes`` in ``guild``."""
    linking = LinkingService(sqlite_engine, clock)

    def link(member: discord.Member, minutes: int, guild: discord.Guild | None = None) -> Viewer:
        viewer = stream.viewer(f"kick_{member.name}")
        linking.link(
            guild_id=member.guild.id,
            discord_user_id=member.id,
            platform=Platform.KICK,
            platform_user_id=viewer.platform_user_id or "",
            username=viewer.username,
        )
        if minutes:
            stream.earn((guild or member.guild).id, viewer, minutes * 60)
        return viewer

    return link


# --- !roles list, add, update, remove -------------------------------------------------------


async def test_roles_list_when_none_are_set_up_says_how_to_add_one(alice: discord.Member) -> None:
    [reply] = await say("!roles list", alice)

    assert reply.content == (
        "No watchtime roles yet. A server manager adds one with !roles add <@role> <minutes>."
    )


async def test_manager_adds_tiers_and_anyone_lists_them_lowest_first(
    guild_a: discord.Guild,
    manager: discord.Member,
    alice: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    silver, bronze = tiers["silver"], tiers["bronze"]

    [added] = await say(f"!roles add {silver.mention} 300", manager)
    await say(f"!roles add {bronze.mention} 60", manager)

    assert added.content.startswith(
        f"{render_roles.OK} {silver.mention} is now a watchtime role: linked members with "
        "5 h 00 min of watchtime here get it"
    )
    assert roles.tiers(guild_a.id) == [RoleTier(bronze.id, 60), RoleTier(silver.id, 300)]
    [listed] = await say("!roles list", alice)
    assert listed.content.splitlines() == [
        "**Watchtime roles**",
        f"- {bronze.mention}: 1 h 00 min",
        f"- {silver.mention}: 5 h 00 min",
        "Role sync is on; members get every role reached; DMs on a new role: off.",
    ]


async def test_adding_a_role_members_already_hold_warns_that_they_may_lose_it(
    guild_a: discord.Guild, manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    await dpytest.add_role(member_of(guild_a, "alice"), tiers["gold"])

    [reply] = await say(f"!roles add {tiers['gold'].mention} 60", manager)

    assert reply.content.splitlines()[1] == (
        f"{render_roles.WARN} 1 member(s) hold it already; those who don't qualify lose it."
    )


async def test_adding_or_changing_a_role_while_roles_are_off_says_when_it_is_given(
    guild_a: discord.Guild, manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    bronze, silver = tiers["bronze"], tiers["silver"]
    await say(f"!roles add {bronze.mention} 60", manager)
    await say(f"!roles disable {bronze.mention}", manager)

    [changed] = await say(f"!roles update {bronze.mention} 90", manager)

    assert changed.content == (
        f"{render_roles.OK} {bronze.mention} now needs 1 h 30 min of watchtime. Members gain "
        f"or lose it once this role is on again (!roles enable {bronze.mention})."
    )
    await say("!roles disable", manager)

    [added] = await say(f"!roles add {silver.mention} 300", manager)
    [changed] = await say(f"!roles update {silver.mention} 240", manager)

    assert added.content == (
        f"{render_roles.OK} {silver.mention} is now a watchtime role: linked members with "
        "5 h 00 min of watchtime here get it once watchtime roles are on again "
        "(!roles enable)."
    )
    assert changed.content.endswith(
        "Members gain or lose it once watchtime roles are on again (!roles enable)."
    )


async def test_adding_or_listing_a_role_without_manage_roles_says_it_cannot_be_given_yet(
    guild_a: discord.Guild, manager: discord.Member, roles: RolesService
) -> None:
    await give_bot_a_role(guild_a, manage_roles=False)
    bronze = make_role(guild_a, "Bronze", 2)
    no_manage_roles = (
        f"{render_roles.WARN} I lack the Manage Roles permission, so I can't give watchtime "
        "roles yet: give my role Manage Roles."
    )

    [added] = await say(f"!roles add {bronze.mention} 60", manager)
    [listed] = await say("!roles list", manager)

    assert roles.tiers(guild_a.id) == [RoleTier(bronze.id, 60)]
    assert no_manage_roles in added.content.splitlines()
    assert no_manage_roles in listed.content.splitlines()


# "\u00b2" (superscript two) counts as a digit for str.isdigit() but int() refuses it.
@pytest.mark.parametrize("minutes", ["0", "-5", "1.5", "ten", "99999999999", "\u00b2", "6\u2070"])
async def test_adding_with_minutes_that_are_not_a_positive_whole_number_is_refused(
    minutes: str,
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    [reply] = await say(f"!roles add {tiers['bronze'].mention} {minutes}", manager)

    assert "minutes" in reply.content.lower()
    assert "positive whole number" in reply.content or "smaller number" in reply.content
    assert roles.tiers(guild_a.id) == []


@pytest.mark.parametrize("command", ["add", "update"])
async def test_minutes_followed_by_a_unit_are_refused_not_read_as_minutes(
    command: str,
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    roles.add_tier(guild_a.id, tiers["silver"].id, 600)
    role = tiers["silver" if command == "update" else "bronze"]

    [reply] = await say(f"!roles {command} {role.mention} 10 hours", manager)

    assert reply.content == (f"That doesn't look right. Usage: !roles {command} <role> <minutes>")
    assert roles.tiers(guild_a.id) == [RoleTier(tiers["silver"].id, 600)]


async def test_adding_the_same_role_twice_is_refused(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    await say(f"!roles add {tiers['bronze'].mention} 60", manager)

    [reply] = await say(f"!roles add {tiers['bronze'].mention} 90", manager)

    assert reply.content == (
        "That role is already a watchtime role; change its minutes with update."
    )
    assert roles.tiers(guild_a.id) == [RoleTier(tiers["bronze"].id, 60)]


async def test_everyone_cannot_be_a_watchtime_role(
    guild_a: discord.Guild, manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    [reply] = await say(f"!roles add {guild_a.default_role.id} 60", manager)

    assert reply.content == render_roles.EVERYONE_REFUSED


async def test_a_managed_role_cannot_be_a_watchtime_role(
    guild_a: discord.Guild, manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    booster = make_role(guild_a, "Server Booster", 2, managed=True)

    [reply] = await say(f"!roles add {booster.mention} 60", manager)

    assert reply.content == render_roles.MANAGED_REFUSED


async def test_the_linked_role_cannot_be_a_watchtime_role(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    linking: LinkingService,
) -> None:
    linking.set_linked_role(guild_a.id, tiers["bronze"].id)

    [reply] = await say(f"!roles add {tiers['bronze'].mention} 60", manager)

    assert reply.content == (
        "That role is the one linked members get: the bot takes it back when a member unlinks, "
        "so members who reached its watchtime would lose it. Pick another role, or stop giving "
        "the linked role first."
    )
    assert roles.tiers(guild_a.id) == []


async def test_the_shuffle_verified_role_cannot_be_a_watchtime_role(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    sqlite_engine: Engine,
    clock: Clock,
) -> None:
    """Unlinking a Shuffle account would take the tier, role sync the Shuffle role."""
    WagerService(sqlite_engine, TokenCipher(TEST_FERNET_KEY), clock=clock).set_verified_role(
        guild_a.id, tiers["bronze"].id
    )

    [reply] = await say(f"!roles add {tiers['bronze'].mention} 60", manager)

    assert reply.content == (
        "That role is the Shuffle verified role: the bot takes it back when a Shuffle account "
        "is unlinked, so members who reached its watchtime would lose it. Pick another role, or "
        "pick another Shuffle verified role (!shuffle role) first."
    )
    assert roles.tiers(guild_a.id) == []


async def test_a_role_above_the_bots_top_role_is_refused_with_the_fix(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    [reply] = await say(f"!roles add {tiers['admin'].mention} 60", manager)

    assert reply.content == (
        "I can't give Admin: it is at or above my highest role. In Server Settings > Roles, "
        "drag my role above it, then try again."
    )
    assert roles.tiers(guild_a.id) == []


@pytest.mark.parametrize("role", ["<@&123456789012345678>", "NoSuchRole"])
async def test_an_unknown_role_is_refused(
    role: str, manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    [reply] = await say(f"!roles add {role} 60", manager)

    assert reply.content == (
        "I can't find that role in this server. Usage: !roles add <role> <minutes>"
    )


async def test_a_missing_argument_names_it(
    manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    [reply] = await say(f"!roles add {tiers['bronze'].mention}", manager)

    assert reply.content == "Missing minutes. Usage: !roles add <role> <minutes>"


@pytest.mark.parametrize(
    "text",
    [
        "!roles add {role} 60",
        "!roles update {role} 60",
        "!roles remove {role}",
        "!roles enable",
        "!roles disable",
        "!roles mode highest",
        "!roles dm on",
        "!roles members {role}",
        "!roles sync",
    ],
)
async def test_changing_roles_needs_manage_server(
    text: str, alice: discord.Member, tiers: dict[str, discord.Role], roles: RolesService
) -> None:
    [reply] = await say(text.format(role=tiers["bronze"].mention), alice)

    command = " ".join(text.split()[:2])
    assert reply.content == f"You need the Manage Server permission to use {command}."
    assert roles.tiers(alice.guild.id) == []
    assert roles.settings(alice.guild.id).mode == "all"


async def test_update_changes_the_minutes(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    await say(f"!roles add {tiers['bronze'].mention} 60", manager)

    [reply] = await say(f"!roles update {tiers['bronze'].mention} 90", manager)

    assert reply.content.startswith(
        f"{render_roles.OK} {tiers['bronze'].mention} now needs 1 h 30 min of watchtime."
    )
    assert roles.tiers(guild_a.id) == [RoleTier(tiers["bronze"].id, 90)]


async def test_update_or_remove_of_a_role_that_is_not_a_tier_is_refused(
    manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    [update] = await say(f"!roles update {tiers['bronze'].mention} 90", manager)
    [remove] = await say(f"!roles remove {tiers['bronze'].mention}", manager)

    assert update.content == "That role is not a watchtime role here; add it first."
    assert remove.content == "That role is not a watchtime role here."


async def test_update_with_bad_minutes_is_refused_and_keeps_the_old_ones(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    await say(f"!roles add {tiers['bronze'].mention} 60", manager)

    [reply] = await say(f"!roles update {tiers['bronze'].mention} 0", manager)

    assert reply.content == "Minutes must be a positive whole number, like 60 (not 0)."
    assert roles.tiers(guild_a.id) == [RoleTier(tiers["bronze"].id, 60)]


async def test_remove_stops_managing_the_role(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    await say(f"!roles add {tiers['bronze'].mention} 60", manager)

    [reply] = await say(f"!roles remove {tiers['bronze'].mention}", manager)

    assert reply.content.startswith(
        f"{render_roles.OK} {tiers['bronze'].mention} is no longer a watchtime role."
    )
    assert roles.tiers(guild_a.id) == []


async def test_a_deleted_roles_tier_is_listed_as_such_and_removed_by_id(
    guild_a: discord.Guild,
    manager: discord.Member,
    roles: RolesService,
    tiers: dict[str, discord.Role],
) -> None:
    gone = 987654321098765432
    roles.add_tier(guild_a.id, gone, 60)

    [listed] = await say("!roles list", manager)
    assert f"- a deleted role (id {gone}): 1 h 00 min" in listed.content

    [removed] = await say(f"!roles remove {gone}", manager)
    assert removed.content.startswith(render_roles.OK)
    assert roles.tiers(guild_a.id) == []


async def test_the_list_warns_about_a_tier_that_moved_above_the_bot(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    roles.add_tier(guild_a.id, tiers["admin"].id, 60)

    [listed] = await say("!roles list", manager)

    assert f"- {tiers['admin'].mention}: 1 h 00 min {render_roles.WARN} above my highest" in (
        listed.content
    )


# --- settings ----------------------------------------------------------------------------------


async def test_enable_disable_mode_and_dm(
    guild_a: discord.Guild, manager: discord.Member, roles: RolesService
) -> None:
    [off] = await say("!roles disable", manager)
    assert "**off**" in off.content
    assert not roles.settings(guild_a.id).enabled

    [on] = await say("!roles enable", manager)
    assert "**on**" in on.content
    assert roles.settings(guild_a.id).enabled

    [highest] = await say("!roles mode Highest", manager)
    assert "only the highest" in highest.content
    assert roles.settings(guild_a.id).mode == "highest"

    [dm] = await say("!roles dm on", manager)
    assert "I'll DM members" in dm.content
    assert roles.settings(guild_a.id).dm_on_new_role


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            "!roles mode some",
            "The mode is either all (every role reached) or highest. "
            "Usage: !roles mode all|highest",
        ),
        ("!roles dm maybe", "Usage: !roles dm on|off"),
    ],
)
async def test_bad_mode_or_dm_values_show_the_usage(
    text: str, reply: str, guild_a: discord.Guild, manager: discord.Member, roles: RolesService
) -> None:
    [answer] = await say(text, manager)

    assert answer.content == reply
    assert roles.settings(guild_a.id).mode == "all"
    assert not roles.settings(guild_a.id).dm_on_new_role


async def test_roles_without_a_subcommand_shows_the_usage(alice: discord.Member) -> None:
    [reply] = await say("!roles", alice)

    assert reply.content.startswith("Usage: !roles list | add <@role> <minutes>")


async def test_members_lists_who_holds_a_role_without_pinging(
    guild_a: discord.Guild, manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    alice = member_of(guild_a, "alice")
    await dpytest.add_role(alice, tiers["bronze"])
    await say(f"!roles add {tiers['bronze'].mention} 60", manager)

    [reply] = await say(f"!roles members {tiers['bronze'].mention}", manager)

    assert reply.content.splitlines() == [
        f"1 member(s) hold {tiers['bronze'].mention} (needs 1 h 00 min):",
        alice.mention,
    ]


# --- role sync through !roles sync ---------------------------------------------------------


async def test_sync_gives_reached_tiers_and_reports_roles_above_the_bot(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
) -> None:
    alice = member_of(guild_a, "alice")
    for name, minutes in [("bronze", 60), ("silver", 300), ("admin", 400)]:
        roles.add_tier(guild_a.id, tiers[name].id, minutes)
    link(alice, 500)

    [reply] = await say("!roles sync", manager)

    assert role_ids(alice) == {tiers["bronze"].id, tiers["silver"].id}
    assert len(member_edits.of(alice)) == 2  # one request per role given
    assert reply.content.splitlines() == [
        f"{render_roles.OK} Role sync checked 2 member(s): 1 updated, 2 role(s) given, "
        "0 taken away.",
        f"{render_roles.WARN} Not attempted, above my highest role: {tiers['admin'].mention}. "
        "In Server Settings > Roles, drag my role above them.",
    ]


async def test_sync_in_mode_highest_keeps_only_the_top_tier(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
) -> None:
    alice = member_of(guild_a, "alice")
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    roles.add_tier(guild_a.id, tiers["silver"].id, 300)
    link(alice, 500)
    await say("!roles sync", manager)
    assert role_ids(alice) == {tiers["bronze"].id, tiers["silver"].id}

    await say("!roles mode highest", manager)
    await say("!roles sync", manager)

    assert role_ids(alice) == {tiers["silver"].id}
    assert member_edits.of(alice)[-1] == {tiers["silver"].id}  # bronze taken away alone
    assert len(member_edits.of(alice)) == 3


async def test_sync_never_touches_roles_that_are_not_tiers(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    member_edits: MemberEdits,
) -> None:
    alice = member_of(guild_a, "alice")
    await dpytest.add_role(alice, tiers["gold"])
    await dpytest.add_role(alice, tiers["bronze"])
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)

    await say("!roles sync", manager)

    assert role_ids(alice) == {tiers["gold"].id}


async def test_sync_while_disabled_changes_nobody(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
) -> None:
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    link(member_of(guild_a, "alice"), 500)
    await say("!roles disable", manager)

    [reply] = await say("!roles sync", manager)

    assert reply.content == (
        f"{render_roles.WARN} Role sync skipped: watchtime roles are turned off."
    )
    assert member_edits.calls == []


async def test_sync_without_manage_roles_says_so_and_edits_nobody(
    guild_a: discord.Guild,
    manager: discord.Member,
    roles: RolesService,
    link,
    member_edits: MemberEdits,
) -> None:
    await give_bot_a_role(guild_a, manage_roles=False)
    bronze = make_role(guild_a, "Bronze", 2)
    roles.add_tier(guild_a.id, bronze.id, 60)
    link(member_of(guild_a, "alice"), 500)

    [reply] = await say("!roles sync", manager)

    assert "I lack the Manage Roles permission" in reply.content
    assert member_edits.calls == []


async def test_two_guilds_with_different_thresholds_sync_apart(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    role_sync: RoleSync,
    stream: Stream,
    link,
    member_edits: MemberEdits,
) -> None:
    await give_bot_a_role(guild_b)
    regular = make_role(guild_b, "Regular", 2)
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    roles.add_tier(guild_b.id, regular.id, 120)
    alice = member_of(guild_a, "alice")
    # The same Discord user in both servers; a link is global, watchtime is per server.
    alice_in_b = dpytest.backend.make_member(alice._user, guild_b)
    await dpytest.add_role(alice_in_b, regular)
    viewer = link(alice, 90)  # 90 min in A
    stream.earn(guild_b.id, viewer, 100 * 60)  # 100 min in B

    results = await role_sync.sync_all()

    assert role_ids(alice) == {tiers["bronze"].id}  # 90 >= 60 in A
    assert role_ids(alice_in_b) == set()  # 100 < 120 in B: the Regular role goes
    assert sorted(r.guild_id for r in results) == sorted([guild_a.id, guild_b.id])
    assert member_edits.of(alice) == [frozenset({tiers["bronze"].id})]
    assert member_edits.of(alice_in_b) == [frozenset()]
    assert len(member_edits.calls) == 2


async def test_a_member_who_reaches_a_role_gets_one_dm_when_dms_are_on(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
) -> None:
    alice = member_of(guild_a, "alice")
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    roles.set_dm(guild_a.id, True)
    link(alice, 500)

    replies = await say("!roles sync", manager)

    dms = [m for m in replies if isinstance(m.channel, discord.DMChannel)]
    assert [m.content for m in dms] == [
        "You reached **Bronze** in Guild A for your watchtime. Thanks for watching!"
    ]
    assert dms[0].channel.id == (await alice.create_dm()).id
    assert dpytest.sent_queue.empty()


# --- Discord's trouble in one server stays with that server or member -----------------------


def edits_failing(monkeypatch: pytest.MonkeyPatch, fails: dict[int, BaseException]) -> None:
    """Role requests in these guilds (or for these members) raise; the others go to dpytest as
    the ``member_edits`` fixture records them (ask for that fixture first)."""
    recorded = backend.FakeHttp.add_role

    async def add_role(http, guild_id, user_id, role_id, **fields):  # type: ignore[no-untyped-def]
        error = fails.get(int(guild_id)) or fails.get(int(user_id))
        if error is not None:
            raise error
        return await recorded(http, guild_id, user_id, role_id, **fields)

    monkeypatch.setattr(backend.FakeHttp, "add_role", add_role)


async def test_a_rate_limit_in_one_server_does_not_stop_the_other_servers_role_sync(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    roles: RolesService,
    role_sync: RoleSync,
    stream: Stream,
    link,
    member_edits: MemberEdits,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = sorted([guild_a, guild_b], key=lambda guild: guild.id)
    bronze = {}
    for guild in (first, second):
        await give_bot_a_role(guild)
        bronze[guild.id] = make_role(guild, "Bronze", 2)
        roles.add_tier(guild.id, bronze[guild.id].id, 60)
    alice = member_of(first, "alice")
    alice_in_second = dpytest.backend.make_member(alice._user, second)
    viewer = link(alice, 90)
    stream.earn(second.id, viewer, 90 * 60)
    # Discord answered 429 for longer than the bot waits: discord.py raises RateLimited.
    edits_failing(monkeypatch, {first.id: discord.RateLimited(120.0)})

    results = await role_sync.sync_all()

    assert role_ids(alice_in_second) == {bronze[second.id].id}
    assert [(r.guild_id, r.stopped, r.edits_left) for r in results] == [
        (first.id, "Discord rate-limits role changes in this server for 2 min", 1),
        (second.id, None, 0),
    ]


async def test_roles_sync_under_a_rate_limit_tells_the_admin_what_waits(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    link(member_of(guild_a, "alice"), 500)
    edits_failing(monkeypatch, {guild_a.id: discord.RateLimited(90.0)})

    [reply] = await say("!roles sync", manager)

    assert reply.content.splitlines() == [
        f"{render_roles.OK} Role sync checked 2 member(s): 0 updated, 0 role(s) given, "
        "0 taken away.",
        f"{render_roles.WARN} Stopped early: Discord rate-limits role changes in this server "
        "for 90 s. 1 member(s) wait for the next sync (or !roles sync later).",
    ]
    assert member_edits.calls == []


@pytest.mark.parametrize("retry_after", [float("inf"), float("nan"), -1.0])
async def test_a_rate_limit_without_a_usable_wait_still_tells_the_admin(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
    monkeypatch: pytest.MonkeyPatch,
    retry_after: float,
) -> None:
    # discord.py reads retry_after from the 429's body: a huge number there reads as infinity.
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    link(member_of(guild_a, "alice"), 500)
    edits_failing(monkeypatch, {guild_a.id: discord.RateLimited(retry_after)})

    [reply] = await say("!roles sync", manager)

    assert reply.content.splitlines()[-1] == (
        f"{render_roles.WARN} Stopped early: Discord rate-limits role changes in this server "
        "for a while. 1 member(s) wait for the next sync (or !roles sync later)."
    )


@pytest.mark.parametrize(
    "error",
    [TimeoutError(), ConnectionResetError("reset by peer")],
    ids=["timeout", "connection reset"],
)
async def test_an_edit_discord_did_not_answer_fails_alone_and_the_next_member_goes_on(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    alice = member_of(guild_a, "alice")
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    link(alice, 500)
    link(manager, 500)
    edits_failing(monkeypatch, {alice.id: error})

    [reply] = await say("!roles sync", manager)

    assert role_ids(alice) == set()
    assert tiers["bronze"].id in role_ids(manager)
    assert f"{render_roles.WARN} 1 edit(s) failed; see the bot's log." in reply.content


# --- one tier on or off: !roles disable <role> / !roles enable <role> ------------------------


async def test_disable_with_a_role_turns_off_that_tier_only(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
) -> None:
    alice = member_of(guild_a, "alice")
    bob = member_of(guild_a, "bob")
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    roles.add_tier(guild_a.id, tiers["silver"].id, 300)
    await dpytest.add_role(bob, tiers["bronze"])  # bob (the manager) holds it, unqualified
    link(alice, 500)

    [reply] = await say(f"!roles disable {tiers['bronze'].mention}", manager)
    await say("!roles sync", manager)

    assert reply.content == render_roles.tier_switched(
        RoleTier(tiers["bronze"].id, 60, enabled=False)
    )
    assert roles.settings(guild_a.id).enabled  # the server-wide switch stays on
    assert [t.enabled for t in roles.tiers(guild_a.id)] == [False, True]
    assert role_ids(alice) == {tiers["silver"].id}  # bronze is neither given...
    assert tiers["bronze"] in bob.roles  # ...nor taken away

    [back] = await say(f"!roles enable {tiers['bronze'].mention}", manager)
    await say("!roles sync", manager)

    assert "is on again" in back.content
    assert role_ids(alice) == {tiers["bronze"].id, tiers["silver"].id}
    assert tiers["bronze"] not in bob.roles


async def test_the_list_shows_a_tier_that_is_off(
    guild_a: discord.Guild, manager: discord.Member, tiers: dict[str, discord.Role]
) -> None:
    await say(f"!roles add {tiers['bronze'].mention} 60", manager)
    await say(f"!roles disable {tiers['bronze'].mention}", manager)

    [listed] = await say("!roles list", manager)

    assert f"- {tiers['bronze'].mention}: 1 h 00 min (off)" in listed.content


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            "!roles disable {bronze} {silver}",
            "That doesn't look right. Usage: !roles disable [role]",
        ),
        ("!roles enable {bronze} now", "That doesn't look right. Usage: !roles enable [role]"),
        ("!roles disable nosuchrole", "That doesn't look right. Usage: !roles disable [role]"),
        ("!roles disable {gold}", "That role is not a watchtime role here."),
    ],
)  # fmt: skip
async def test_a_tier_switch_with_a_wrong_argument_is_refused_and_changes_nothing(
    text: str,
    reply: str,
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
) -> None:
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    roles.add_tier(guild_a.id, tiers["silver"].id, 300)

    [answer] = await say(text.format(**{k: r.mention for k, r in tiers.items()}), manager)

    assert answer.content == reply
    assert roles.settings(guild_a.id).enabled
    assert all(t.enabled for t in roles.tiers(guild_a.id))


# --- a cache that has not heard yet -----------------------------------------------------------


class DiscordSide:
    """Each member's roles as Discord holds them. The bot's cache hears of a change only with the
    gateway's member update, which comes a moment after Discord answered: here, never."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, guild: discord.Guild) -> None:
        self.guild = guild
        self.roles: dict[int, set[int]] = {}

        async def add_role(_http, guild_id, user_id, role_id, *, reason=None):  # type: ignore[no-untyped-def]
            self.of(int(user_id)).add(int(role_id))

        async def remove_role(_http, guild_id, user_id, role_id, *, reason=None):  # type: ignore[no-untyped-def]
            self.of(int(user_id)).discard(int(role_id))

        async def edit_member(_http, guild_id, user_id, *, reason=None, **fields):  # type: ignore[no-untyped-def]
            self.roles[int(user_id)] = {int(role_id) for role_id in fields["roles"]}
            return factories.dict_from_member(guild.get_member(int(user_id)))

        monkeypatch.setattr(backend.FakeHttp, "add_role", add_role)
        monkeypatch.setattr(backend.FakeHttp, "remove_role", remove_role)
        monkeypatch.setattr(backend.FakeHttp, "edit_member", edit_member)

    def of(self, member_id: int) -> set[int]:
        if member_id not in self.roles:
            member = self.guild.get_member(member_id)
            assert member is not None
            self.roles[member_id] = role_ids(member)
        return self.roles[member_id]


async def test_a_role_given_a_moment_ago_is_kept_by_the_watchtime_sync_that_follows(
    guild_a: discord.Guild,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    role_sync: RoleSync,
    gateway: DiscordGateway,
    link,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Right after a link the linked role is given, then the member's watchtime roles are
    # synced, before the gateway told the cache about the linked role.
    alice = member_of(guild_a, "alice")
    linked = make_role(guild_a, "Linked", 2)
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    link(alice, 90)
    discord_side = DiscordSide(monkeypatch, guild_a)

    await DiscordLinks(gateway).set_linked_role(guild_a.id, alice.id, linked.id, present=True)
    await role_sync.sync_member(guild_a.id, alice.id)

    assert discord_side.of(alice.id) == {linked.id, tiers["bronze"].id}


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (
            50013,
            "Discord refused to change roles in this server (403 Missing Permissions): give my "
            "role Manage Roles and drag it above the watchtime roles",
        ),
        (
            60003,
            "Discord refused to change roles in this server: it requires two-factor "
            "authentication for moderation, and my owner's Discord account has none",
        ),
    ],
    ids=["missing permissions", "two-factor required"],
)
async def test_a_role_change_discord_refuses_stops_the_sync_with_the_fix_after_one_request(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    link,
    member_edits: MemberEdits,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    said: str,
) -> None:
    # The bot's cache says it may give Bronze, but Discord answers 403 to every role request:
    # each member's edit would meet the same refusal, so asking for all of them every round
    # would be a stream of failed requests and a count of failures the admin can't act on.
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    link(member_of(guild_a, "alice"), 500)
    link(manager, 500)
    refused = []

    async def add_role(_http, guild_id, user_id, role_id, **fields):  # type: ignore[no-untyped-def]
        refused.append(int(user_id))
        response = backend.FakeRequest(403, "Forbidden")
        raise discord.Forbidden(response, {"code": code, "message": "Missing Permissions"})

    monkeypatch.setattr(backend.FakeHttp, "add_role", add_role)

    [reply] = await say("!roles sync", manager)

    assert len(refused) == 1
    assert reply.content.splitlines()[1:] == [
        f"{render_roles.WARN} Stopped early: {said}. 2 member(s) wait for the next sync (or "
        "!roles sync later)."
    ]


async def test_roles_sync_while_a_round_of_the_server_runs_says_so_at_once(
    guild_a: discord.Guild,
    manager: discord.Member,
    tiers: dict[str, discord.Role],
    roles: RolesService,
    role_sync: RoleSync,
    link,
    member_edits: MemberEdits,
) -> None:
    """The periodic sync edits one member a second (a server with 1,000 changes takes 17 min);
    a !roles sync meanwhile answers at once instead of waiting for that round to end (a slash
    command's answer would be lost after 15 minutes)."""
    roles.add_tier(guild_a.id, tiers["bronze"].id, 60)
    link(member_of(guild_a, "alice"), 500)
    link(manager, 500)
    pause = ParkedPause()
    role_sync.pause_seconds, role_sync.sleep = 1.0, pause
    periodic = asyncio.create_task(role_sync.sync_guild(guild_a.id))

    try:
        await asyncio.wait_for(pause.reached.wait(), HANG_SECONDS)
        replies = await asyncio.wait_for(say("!roles sync", manager), HANG_SECONDS)
    finally:
        pause.go_on.set()
        await asyncio.wait_for(periodic, HANG_SECONDS)

    assert [reply.content for reply in replies] == [
        f"{render_roles.WARN} A role sync of this server is under way already: it gives and "
        "takes every watchtime role due, one member a second. See how it went with !health "
        "once it ends."
    ]
    assert len(member_edits.calls) == 2  # the periodic round's alone


async def test_a_list_of_25_roles_out_of_reach_names_every_one_and_the_settings(
    guild_a: discord.Guild, manager: discord.Member, roles: RolesService
) -> None:
    await give_bot_a_role(guild_a, manage_roles=False)
    for number in range(25):  # the most a server may have, each above the bot's role
        role = make_role(guild_a, f"Tier {number}", 30 + number)
        roles.add_tier(guild_a.id, role.id, 100_000 + number)

    replies = await say("!roles list", manager)
    lines = [line for reply in replies for line in reply.content.splitlines()]
    assert all(len(reply.content) <= 2000 for reply in replies)
    tier_lines = [line for line in lines if line.startswith("- <@&")]
    assert len(tier_lines) == 25
    assert all(line.endswith("so I can't give it") for line in tier_lines)
    assert lines[-2] == render_roles.NO_MANAGE_ROLES
    assert lines[-1].startswith("Role sync is on;")
