"""Watchtime roles: tiers per guild, the pure sync plan, and the sync through a recording fake."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.bus.base import NotReady
from core.events import Platform
from core.features.linking.service import LinkingService
from core.features.roles.ports import GuildRoles, RoleEditFailed, RoleEditsHeld
from core.features.roles.repository import RoleTier
from core.features.roles.service import (
    RolesRefused,
    RolesService,
    parse_minutes,
    plan_role_changes,
    progress_of,
)
from core.features.roles.sync import RoleSync
from core.features.watchtime.tables import watchtime
from tests.support.waiting import eventually

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILD = 111_111_111_111_111_111
OTHER_GUILD = 222_222_222_222_222_222
BRONZE, SILVER, GOLD = 901, 902, 903
UNRELATED = 950
TIERS = [RoleTier(BRONZE, 60), RoleTier(SILVER, 300), RoleTier(GOLD, 600)]
ALL_ROLES = frozenset({BRONZE, SILVER, GOLD, UNRELATED})


def clock() -> datetime:
    return T0


@pytest.fixture
def roles(engine) -> RolesService:
    return RolesService(engine, clock)


# --- the plan (pure) -------------------------------------------------------------------------


def plan(members, seconds, mode="all", assignable=ALL_ROLES, existing=ALL_ROLES, tiers=TIERS):
    result = plan_role_changes(tiers, mode, members, seconds, assignable, existing)
    return {c.discord_user_id: (set(c.add), set(c.remove)) for c in result.changes}, result


def test_mode_all_gives_every_reached_tier() -> None:
    changes, _ = plan({1: frozenset()}, {1: 320 * 60})

    assert changes == {1: ({BRONZE, SILVER}, set())}


def test_mode_highest_gives_only_the_top_reached_tier_and_takes_the_lower_ones() -> None:
    changes, _ = plan({1: frozenset({BRONZE})}, {1: 320 * 60}, mode="highest")

    assert changes == {1: ({SILVER}, {BRONZE})}


def test_a_member_below_every_threshold_loses_tiers_but_keeps_other_roles() -> None:
    changes, _ = plan({1: frozenset({SILVER, UNRELATED})}, {1: 59 * 60})

    assert changes == {1: (set(), {SILVER})}


def test_unlinked_members_qualify_for_nothing() -> None:
    changes, _ = plan({1: frozenset({BRONZE}), 2: frozenset({UNRELATED})}, {})

    assert changes == {1: (set(), {BRONZE})}


def test_members_already_right_need_no_edit() -> None:
    changes, _ = plan({1: frozenset({BRONZE, UNRELATED})}, {1: 61 * 60})

    assert changes == {}


def test_exactly_the_threshold_reaches_the_tier() -> None:
    changes, _ = plan({1: frozenset()}, {1: 60 * 60})

    assert changes == {1: ({BRONZE}, set())}


def test_roles_out_of_the_bots_reach_are_reported_and_left_out() -> None:
    changes, result = plan(
        {1: frozenset(), 2: frozenset({GOLD})},
        {1: 700 * 60},
        assignable=frozenset({BRONZE, SILVER}),
    )

    assert changes == {1: ({BRONZE, SILVER}, set())}
    assert result.blocked_role_ids == {GOLD}


def test_deleted_tier_roles_are_reported_missing_and_never_given() -> None:
    existing = frozenset({BRONZE, SILVER})
    changes, result = plan({1: frozenset()}, {1: 700 * 60}, existing=existing)

    assert changes == {1: ({BRONZE, SILVER}, set())}
    assert result.missing_role_ids == {GOLD}


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (frozenset({SILVER}), {}),
        (frozenset({BRONZE}), {1: ({SILVER}, {BRONZE})}),
        (frozenset(), {1: ({SILVER}, set())}),
    ],
)
def test_mode_highest_with_the_top_role_deleted_holds_the_highest_tier_that_exists(
    held: frozenset[int], expected: dict
) -> None:
    existing = frozenset({BRONZE, SILVER, UNRELATED})  # Gold's role deleted in Discord

    changes, result = plan({1: held}, {1: 700 * 60}, mode="highest", existing=existing)

    assert changes == expected
    assert result.missing_role_ids == {GOLD}
    assert result.blocked_role_ids == set()


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (frozenset({SILVER}), {}),
        (frozenset({BRONZE}), {1: ({SILVER}, {BRONZE})}),
        (frozenset(), {1: ({SILVER}, set())}),
        (frozenset({GOLD, SILVER}), {1: (set(), {SILVER})}),  # holds the top: only it stays
    ],
)
def test_mode_highest_with_the_top_role_out_of_reach_keeps_the_highest_tier_it_can_give(
    held: frozenset[int], expected: dict
) -> None:
    changes, result = plan(
        {1: held}, {1: 700 * 60}, mode="highest", assignable=frozenset({BRONZE, SILVER})
    )

    assert changes == expected
    assert result.blocked_role_ids == (set() if GOLD in held else {GOLD})


def test_mode_highest_without_manage_roles_takes_nothing_away() -> None:
    changes, result = plan(
        {1: frozenset({SILVER})}, {1: 700 * 60}, mode="highest", assignable=frozenset()
    )

    assert changes == {}
    assert result.blocked_role_ids == {GOLD}


def test_mode_highest_with_the_top_tier_turned_off_matches_it_deleted() -> None:
    turned_off, _ = plan({1: frozenset({SILVER})}, {1: 700 * 60}, mode="highest", tiers=TIERS[:2])
    deleted, _ = plan(
        {1: frozenset({SILVER})},
        {1: 700 * 60},
        mode="highest",
        existing=frozenset({BRONZE, SILVER}),
    )

    assert turned_off == deleted == {}


def test_mode_all_with_the_top_role_deleted_or_out_of_reach_gives_the_others() -> None:
    deleted, _ = plan({1: frozenset({SILVER})}, {1: 700 * 60}, existing=frozenset({BRONZE, SILVER}))
    blocked, result = plan(
        {1: frozenset({SILVER})}, {1: 700 * 60}, assignable=frozenset({BRONZE, SILVER})
    )

    assert deleted == blocked == {1: ({BRONZE}, set())}
    assert result.blocked_role_ids == {GOLD}


def test_progress_names_the_next_tier_and_what_is_missing() -> None:
    progress = progress_of(TIERS, 100 * 60)

    assert [t.role_id for t in progress.reached] == [BRONZE]
    assert progress.next_tier == RoleTier(SILVER, 300)
    assert progress.seconds_missing == 200 * 60
    assert progress_of(TIERS, 601 * 60).next_tier is None


@pytest.mark.parametrize(
    "typed", ["0", "-5", "1.5", "ten", "", "99999999999", "9" * 5000, "²", "٣"]
)
def test_minutes_must_be_a_positive_whole_number(typed: str) -> None:
    with pytest.raises(RolesRefused) as refused:
        parse_minutes(typed)
    assert len(str(refused.value)) < 120  # the typed text is quoted cut short


def test_minutes_past_the_ceiling_say_so_however_many_digits() -> None:
    for typed in ("10000001", "0" * 5000 + "10000001", "9" * 5000):
        with pytest.raises(RolesRefused, match="more than 10,000,000 minutes"):
            parse_minutes(typed)
    assert parse_minutes("0" * 5000 + "60") == 60


def test_minutes_parse() -> None:
    assert parse_minutes(" 90 ") == 90


# --- tiers and settings (both backends) ------------------------------------------------------


def test_tiers_are_kept_per_guild_lowest_first(roles: RolesService) -> None:
    roles.add_tier(GUILD, SILVER, 300)
    roles.add_tier(GUILD, BRONZE, 60)
    roles.add_tier(OTHER_GUILD, GOLD, 5)

    assert roles.tiers(GUILD) == [RoleTier(BRONZE, 60), RoleTier(SILVER, 300)]
    assert roles.tiers(OTHER_GUILD) == [RoleTier(GOLD, 5)]
    assert roles.guild_ids_with_tiers() == [GUILD, OTHER_GUILD]


def test_a_role_is_a_tier_once(roles: RolesService) -> None:
    roles.add_tier(GUILD, BRONZE, 60)

    with pytest.raises(RolesRefused, match="already a watchtime role"):
        roles.add_tier(GUILD, BRONZE, 90)
    assert roles.tiers(GUILD) == [RoleTier(BRONZE, 60)]


def test_update_and_remove_refuse_roles_that_are_not_tiers_of_this_guild(
    roles: RolesService,
) -> None:
    roles.add_tier(OTHER_GUILD, BRONZE, 60)

    with pytest.raises(RolesRefused, match="not a watchtime role"):
        roles.update_tier(GUILD, BRONZE, 90)
    with pytest.raises(RolesRefused, match="not a watchtime role"):
        roles.remove_tier(GUILD, BRONZE)
    assert roles.tiers(OTHER_GUILD) == [RoleTier(BRONZE, 60)]


def test_update_then_remove(roles: RolesService) -> None:
    roles.add_tier(GUILD, BRONZE, 60)

    assert roles.update_tier(GUILD, BRONZE, 120) == RoleTier(BRONZE, 120)
    roles.remove_tier(GUILD, BRONZE)

    assert roles.tiers(GUILD) == []


def test_settings_default_to_on_all_and_no_dms_and_change_per_guild(roles: RolesService) -> None:
    assert roles.settings(GUILD).enabled
    assert roles.settings(GUILD).mode == "all"
    assert not roles.settings(GUILD).dm_on_new_role

    roles.set_mode(GUILD, "HIGHEST")
    roles.set_enabled(GUILD, False)
    roles.set_dm(GUILD, True)

    assert roles.settings(GUILD) == type(roles.settings(GUILD))(False, "highest", True)
    assert roles.settings(OTHER_GUILD).mode == "all"
    with pytest.raises(RolesRefused):
        roles.set_mode(GUILD, "some")


def test_linked_seconds_reads_this_guilds_watchtime_of_linked_members(engine, roles) -> None:
    linking = LinkingService(engine, clock)
    linking.link(
        guild_id=GUILD,
        discord_user_id=7,
        platform=Platform.KICK,
        platform_user_id="k7",
        username="seven",
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(watchtime),
            [
                {"guild_id": GUILD, "platform": "kick", "platform_user_id": "k7", "seconds": 600},
                {
                    "guild_id": OTHER_GUILD,
                    "platform": "kick",
                    "platform_user_id": "k7",
                    "seconds": 9,
                },
                {"guild_id": GUILD, "platform": "kick", "platform_user_id": "k8", "seconds": 999},
            ],
        )

    assert roles.linked_seconds(GUILD) == {7: 600}
    assert roles.linked_seconds(OTHER_GUILD) == {7: 9}
    assert roles.linked_seconds(GUILD, only_member=7) == {7: 600}
    assert roles.linked_seconds(GUILD, only_member=8) == {}


def test_a_member_counts_by_their_kick_or_twitch_account_whichever_has_more(engine, roles) -> None:
    linking = LinkingService(engine, clock)
    accounts = [(7, Platform.TWITCH, "t7"), (8, Platform.KICK, "k8"), (8, Platform.TWITCH, "t8"),
                (9, Platform.KICK, "k9"), (9, Platform.TWITCH, "t9")]  # fmt: skip
    for member, platform, user_id in accounts:
        linking.link(guild_id=GUILD, discord_user_id=member, platform=platform,
                     platform_user_id=user_id, username=user_id)  # fmt: skip
    watched = [("twitch", "t7", 300), ("kick", "k8", 100), ("twitch", "t8", 900),
               ("kick", "k9", 800), ("twitch", "t9", 200),
               ("kick", "t7", 5000)]  # a Kick account with t7's id is someone else's  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            sa.insert(watchtime),
            [{"guild_id": GUILD, "platform": platform, "platform_user_id": user_id,
              "seconds": seconds} for platform, user_id, seconds in watched],
        )  # fmt: skip

    assert roles.linked_seconds(GUILD) == {7: 300, 8: 900, 9: 800}


def test_a_role_is_recorded_as_reached_once(roles: RolesService) -> None:
    assert roles.record_awards(GUILD, 7, [BRONZE, SILVER]) == [BRONZE, SILVER]
    assert roles.record_awards(GUILD, 7, [SILVER, GOLD]) == [GOLD]
    assert roles.record_awards(OTHER_GUILD, 7, [SILVER]) == [SILVER]


def test_who_reached_a_tier_is_forgotten_with_the_tier(roles: RolesService) -> None:
    """The privacy page keeps role awards "while the tier exists"."""
    for guild_id in (GUILD, OTHER_GUILD):
        roles.add_tier(guild_id, SILVER, 60)
        roles.record_awards(guild_id, 7, [SILVER])

    roles.remove_tier(GUILD, SILVER)

    roles.add_tier(GUILD, SILVER, 60)
    assert roles.record_awards(GUILD, 7, [SILVER]) == [SILVER]  # reached anew
    assert roles.record_awards(OTHER_GUILD, 7, [SILVER]) == []  # the other server's stays


# --- the sync, through a recording fake of the Discord side ----------------------------------


class FakeDiscord:
    def __init__(self, members: dict[int, frozenset[int]], assignable=ALL_ROLES) -> None:
        self.members = members
        self.assignable = assignable
        self.can_manage = True
        self.edits: list[tuple[int, int, set[int], set[int]]] = []
        self.told: list[tuple[int, int, list[int]]] = []
        self.refuse: set[int] = set()
        self.held_guilds: set[int] = set()  # Discord rate-limits their edits
        self.broken_guilds: set[int] = set()  # reading them fails unexpectedly
        self.unavailable_guilds: set[int] = set()  # Discord has them unavailable (an outage)

    async def guild_roles(self, guild_id: int, only_member: int | None = None):
        if guild_id in self.broken_guilds:
            raise RuntimeError("the cache broke")
        if guild_id in self.unavailable_guilds:
            raise NotReady(f"Discord has server {guild_id} unavailable")
        members = self.members
        if only_member is not None:
            members = {k: v for k, v in members.items() if k == only_member}
        return GuildRoles(self.can_manage, self.assignable, ALL_ROLES, dict(members))

    async def edit_member_roles(
        self,
        guild_id: int,
        discord_user_id: int,
        *,
        add: Collection[int],
        remove: Collection[int],
        reason: str,
    ) -> bool:
        if discord_user_id in self.refuse:
            raise RoleEditFailed("403 Forbidden")
        if guild_id in self.held_guilds:
            raise RoleEditsHeld("Discord rate-limits role changes in this server for 2 min")
        self.edits.append((guild_id, discord_user_id, set(add), set(remove)))
        held = self.members[discord_user_id]
        self.members[discord_user_id] = (held | frozenset(add)) - frozenset(remove)
        return True

    async def tell_member(self, guild_id: int, discord_user_id: int, role_ids: list[int]) -> None:
        self.told.append((guild_id, discord_user_id, role_ids))


@pytest.fixture
def linked(engine, roles):
    """Link Discord user ``n`` to Kick account ``k<n>`` with ``minutes`` of watchtime in GUILD."""
    linking = LinkingService(engine, clock)

    def link(discord_user_id: int, minutes: int, guild_id: int = GUILD) -> None:
        linking.link(
            guild_id=guild_id,
            discord_user_id=discord_user_id,
            platform=Platform.KICK,
            platform_user_id=f"k{discord_user_id}",
            username=f"viewer{discord_user_id}",
        )
        with engine.begin() as conn:
            conn.execute(
                sa.insert(watchtime).values(
                    guild_id=guild_id,
                    platform="kick",
                    platform_user_id=f"k{discord_user_id}",
                    seconds=minutes * 60,
                )
            )

    return link


async def test_sync_edits_each_member_once_and_pauses_between_edits(roles, linked) -> None:
    for tier in TIERS:
        roles.add_tier(GUILD, tier.role_id, tier.minutes)
    linked(1, 700)
    linked(2, 70)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    fake = FakeDiscord({1: frozenset(), 2: frozenset({GOLD}), 3: frozenset({UNRELATED})})
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=0.5, sleep=sleep)

    result = await sync.sync_guild(GUILD)

    assert fake.edits == [
        (GUILD, 1, {BRONZE, SILVER, GOLD}, set()),
        (GUILD, 2, {BRONZE}, {GOLD}),
    ]
    assert pauses == [0.5]
    assert (result.members_edited, result.roles_added, result.roles_removed) == (2, 4, 1)
    assert sync.last_result(GUILD) == result

    again = await sync.sync_guild(GUILD)
    assert again.members_edited == 0
    assert len(fake.edits) == 2


async def test_sync_in_mode_highest_keeps_silver_while_gold_is_above_the_bot(roles, linked) -> None:
    for tier in TIERS:
        roles.add_tier(GUILD, tier.role_id, tier.minutes)
    roles.set_mode(GUILD, "highest")
    linked(1, 700)
    linked(2, 700)
    fake = FakeDiscord(
        {1: frozenset({SILVER}), 2: frozenset({BRONZE})},
        assignable=frozenset({BRONZE, SILVER, UNRELATED}),
    )

    result = await RoleSync(roles, fake, clock=clock, pause_seconds=0).sync_guild(GUILD)

    assert fake.edits == [(GUILD, 2, {SILVER}, {BRONZE})]
    assert fake.members == {1: frozenset({SILVER}), 2: frozenset({SILVER})}
    assert result.blocked_role_ids == {GOLD}


async def test_sync_does_nothing_while_turned_off(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    roles.set_enabled(GUILD, False)
    linked(1, 700)
    fake = FakeDiscord({1: frozenset()})

    result = await RoleSync(roles, fake, clock=clock, pause_seconds=0).sync_guild(GUILD)

    assert fake.edits == []
    assert result.skipped == "watchtime roles are turned off"


async def test_sync_without_manage_roles_reports_every_needed_role(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    linked(1, 700)
    fake = FakeDiscord({1: frozenset()})
    fake.can_manage = False

    result = await RoleSync(roles, fake, clock=clock, pause_seconds=0).sync_guild(GUILD)

    assert fake.edits == []
    assert not result.can_manage_roles
    assert result.blocked_role_ids == {BRONZE}


async def test_a_refused_edit_is_counted_and_the_others_go_on(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    linked(1, 700)
    linked(2, 700)
    fake = FakeDiscord({1: frozenset(), 2: frozenset()})
    fake.refuse = {1}

    result = await RoleSync(roles, fake, clock=clock, pause_seconds=0).sync_guild(GUILD)

    assert fake.edits == [(GUILD, 2, {BRONZE}, set())]
    assert result.failed_edits == 1


async def test_sync_member_touches_that_member_alone(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    linked(1, 700)
    linked(2, 700)
    fake = FakeDiscord({1: frozenset(), 2: frozenset()})

    await RoleSync(roles, fake, clock=clock, pause_seconds=0).sync_member(GUILD, 2)

    assert fake.edits == [(GUILD, 2, {BRONZE}, set())]


async def test_new_roles_are_told_once_when_dms_are_on(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    roles.set_dm(GUILD, True)
    linked(1, 700)
    fake = FakeDiscord({1: frozenset()})
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=0)

    await sync.sync_guild(GUILD)
    fake.members[1] = frozenset()  # someone took the role away by hand
    await sync.sync_guild(GUILD)

    assert len(fake.edits) == 2
    assert fake.told == [(GUILD, 1, [BRONZE])]


async def test_no_dm_when_dms_are_off(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    linked(1, 700)
    fake = FakeDiscord({1: frozenset()})

    await RoleSync(roles, fake, clock=clock, pause_seconds=0).sync_guild(GUILD)

    assert fake.told == []


async def test_sync_all_uses_each_guilds_own_thresholds_and_watchtime(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    roles.add_tier(OTHER_GUILD, SILVER, 1000)
    linked(1, 700)  # 700 min in GUILD, none in OTHER_GUILD
    fake = FakeDiscord({1: frozenset()})

    results = await RoleSync(roles, fake, clock=clock, pause_seconds=0).sync_all()

    assert [r.guild_id for r in results] == [GUILD, OTHER_GUILD]
    assert fake.edits == [(GUILD, 1, {BRONZE}, set())]


async def test_a_rate_limited_guild_stops_its_round_and_the_next_guild_still_syncs(
    roles, linked
) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    roles.add_tier(OTHER_GUILD, SILVER, 60)
    for member in (1, 2):
        linked(member, 700)
        linked(member, 700, guild_id=OTHER_GUILD)
    fake = FakeDiscord({1: frozenset(), 2: frozenset()})
    fake.held_guilds = {GUILD}
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=0)

    results = await sync.sync_all()

    assert [r.guild_id for r in results] == [GUILD, OTHER_GUILD]
    held, other = results
    assert held.stopped == "Discord rate-limits role changes in this server for 2 min"
    assert (held.members_edited, held.edits_left, held.failed_edits) == (0, 2, 0)
    assert fake.edits == [(OTHER_GUILD, 1, {SILVER}, set()), (OTHER_GUILD, 2, {SILVER}, set())]
    assert other.stopped is None
    assert sync.last_result(GUILD) == held


async def test_a_guild_whose_sync_fails_is_reported_and_the_others_go_on(
    roles, linked, caplog: pytest.LogCaptureFixture
) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    roles.add_tier(OTHER_GUILD, SILVER, 60)
    linked(1, 700, guild_id=OTHER_GUILD)
    fake = FakeDiscord({1: frozenset()})
    fake.broken_guilds = {GUILD}
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=0)

    results = await sync.sync_all()

    assert [(r.guild_id, r.stopped) for r in results] == [
        (GUILD, "the sync failed (see the bot's log)"),
        (OTHER_GUILD, None),
    ]
    assert fake.edits == [(OTHER_GUILD, 1, {SILVER}, set())]
    assert sync.last_result(GUILD) == results[0]
    assert f"guild {GUILD}: role sync failed" in caplog.text


async def test_a_guild_in_a_discord_outage_waits_and_the_others_still_sync(roles, linked) -> None:
    """Discord has GUILD unavailable (its port says not ready): the run goes on to the other
    server, and GUILD is synced at a later run; only a run where no server could sync (the bot
    is not connected) says so."""
    roles.add_tier(GUILD, BRONZE, 60)
    roles.add_tier(OTHER_GUILD, SILVER, 60)
    linked(1, 700, guild_id=OTHER_GUILD)
    fake = FakeDiscord({1: frozenset()})
    fake.unavailable_guilds = {GUILD}
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=0)

    results = await sync.sync_all()

    assert [r.guild_id for r in results] == [OTHER_GUILD]
    assert fake.edits == [(OTHER_GUILD, 1, {SILVER}, set())]
    fake.unavailable_guilds = {GUILD, OTHER_GUILD}
    with pytest.raises(NotReady):
        await sync.sync_all()


# --- a member's sync beside the paced sync of their guild ------------------------------------

# Only a broken run waits this long for a sync that should not wait on another one.
HANG_SECONDS = 10.0


class ParkedPause:
    """The paced sync's pause between edits (1 s each in production: a server with 1,000
    changes takes 1,000 s), held until the test lets it go on."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.go_on = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.reached.set()
        await self.go_on.wait()


async def test_a_member_synced_after_linking_waits_for_no_pause_of_the_guilds_sync(
    roles, linked
) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    for member in range(1, 6):
        linked(member, 700)
    fake = FakeDiscord({member: frozenset() for member in range(1, 7)})
    pause = ParkedPause()
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=1.0, sleep=pause)
    paced = asyncio.create_task(sync.sync_guild(GUILD))
    await asyncio.wait_for(pause.reached.wait(), HANG_SECONDS)
    linked(6, 700)  # member 6 links now: the link's effects sync them at once

    try:
        # The Discord outbox gives the call 30 s; this one waits for no pause at all.
        await asyncio.wait_for(sync.sync_member(GUILD, 6), HANG_SECONDS)
    finally:
        pause.go_on.set()
        guild_result = await paced

    assert fake.edits[:2] == [(GUILD, 1, {BRONZE}, set()), (GUILD, 6, {BRONZE}, set())]
    assert guild_result.members_edited == 5


async def test_a_member_synced_during_the_guilds_sync_is_not_edited_again(roles, linked) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    linked(1, 700)
    linked(2, 700)
    fake = FakeDiscord({1: frozenset(), 2: frozenset()})
    pause = ParkedPause()
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=1.0, sleep=pause)
    paced = asyncio.create_task(sync.sync_guild(GUILD))
    await asyncio.wait_for(pause.reached.wait(), HANG_SECONDS)

    try:
        member_result = await asyncio.wait_for(sync.sync_member(GUILD, 2), HANG_SECONDS)
    finally:
        pause.go_on.set()
        guild_result = await paced

    # The guild's sync planned member 2 before; it looks again and finds nothing left to do.
    assert fake.edits == [(GUILD, 1, {BRONZE}, set()), (GUILD, 2, {BRONZE}, set())]
    assert (guild_result.members_edited, member_result.members_edited) == (1, 1)


async def test_a_member_unlinked_during_the_guilds_sync_gets_no_role_from_the_old_plan(
    engine, roles, linked
) -> None:
    roles.add_tier(GUILD, BRONZE, 60)
    linked(1, 700)
    linked(2, 700)
    fake = FakeDiscord({1: frozenset(), 2: frozenset()})
    pause = ParkedPause()
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=1.0, sleep=pause)
    paced = asyncio.create_task(sync.sync_guild(GUILD))
    await asyncio.wait_for(pause.reached.wait(), HANG_SECONDS)

    LinkingService(engine, clock).unlink(GUILD, 2, actor_id=2)
    pause.go_on.set()
    result = await asyncio.wait_for(paced, HANG_SECONDS)

    assert fake.edits == [(GUILD, 1, {BRONZE}, set())]
    assert fake.members[2] == frozenset()
    assert result.members_edited == 1


async def test_a_big_servers_paced_sync_holds_up_no_other_servers_roles(roles, linked) -> None:
    """GUILD has many members to edit, one a second (its sync parked in a pause here, as a
    server with 1,000 changes is for 1,000 s); OTHER_GUILD's member gets their role meanwhile
    rather than after the whole of GUILD's round."""
    roles.add_tier(GUILD, BRONZE, 60)
    roles.add_tier(OTHER_GUILD, SILVER, 60)
    linked(1, 700)
    linked(2, 700)
    linked(3, 700, guild_id=OTHER_GUILD)
    fake = FakeDiscord({1: frozenset(), 2: frozenset(), 3: frozenset()})
    pause = ParkedPause()
    sync = RoleSync(roles, fake, clock=clock, pause_seconds=1.0, sleep=pause)
    run = asyncio.create_task(sync.sync_all())

    try:
        await asyncio.wait_for(pause.reached.wait(), HANG_SECONDS)
        await eventually(lambda: (OTHER_GUILD, 3, {SILVER}, set()) in fake.edits)
    finally:
        pause.go_on.set()
        results = await asyncio.wait_for(run, HANG_SECONDS)

    assert [(r.guild_id, r.members_edited) for r in results] == [(GUILD, 2), (OTHER_GUILD, 1)]
