"""The watchtime roles page: tiers added with a role id checked against the guild's real roles
(refused when they cannot be seen), removed, and the mode / sync / DM settings; each the call
``!roles`` makes, on a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.features.directory.repository import Role, Server
from core.features.directory.service import DirectoryService, Snapshot
from core.features.linking.service import LinkingService
from core.features.roles.ports import GuildRoles
from core.features.roles.repository import RoleTier
from core.features.roles.service import RolesService
from core.features.vip.service import VipService
from tests.features.vip.doubles import FakeVipChannel
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import OTHER_GUILD, assert_refused_here, pages_for

GUILD = 111111111111111111
VIEWERS = 210000000000000001  # a role the bot may hand out
MANAGED = 210000000000000002  # a bot's or integration's role, or above the bot's top role
OTHER_SERVERS_ROLE = 210000000000000003


def _roles_here(guild_id: int) -> GuildRoles | None:
    if guild_id != GUILD:
        return None
    return GuildRoles(
        can_manage_roles=True,
        assignable_role_ids=frozenset({VIEWERS}),
        existing_role_ids=frozenset({GUILD, VIEWERS, MANAGED}),
    )


@pytest.fixture
def roles(engine):  # type: ignore[no-untyped-def]
    return RolesService(engine, Clock(datetime(2026, 3, 1, tzinfo=UTC)))


@pytest.fixture
def pages(roles, discord):  # type: ignore[no-untyped-def]
    return pages_for(discord, GUILD, roles=roles, guild_roles=_roles_here)


def test_a_tier_added_here_is_the_services_and_the_pages(pages, roles):
    answer = pages.post("roles", "add", {"role_id": str(VIEWERS), "hours": "1.5"})
    assert answer.status_code == 303
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, 90)]
    page = pages.client.get(answer.headers["Location"])
    assert "earned after 1.5 hours watched" in page.text
    assert f'<code title="a role the bot has not seen">{VIEWERS}</code>' in page.text
    assert 'for="role_id"' in page.text
    assert 'for="hours"' in page.text


@pytest.mark.parametrize(
    ("hours", "minutes"),
    [
        ("2", 120),
        ("0,5", 30),
        (".25", 15),
        (" 10 ", 600),
        # Thousands as the page writes them (and every other number field reads them).
        ("1,000", 60_000),
        ("2,500", 150_000),
        ("1,000.5", 60_030),
        ("0,250", 15),
    ],
)
def test_hours_are_read_as_people_type_them(pages, roles, hours, minutes):
    answer = pages.post("roles", "add", {"role_id": str(VIEWERS), "hours": hours})
    assert answer.status_code == 303
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, minutes)]


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(60, "1"), (90, "1.5"), (45, "0.75"), (6000, "100"), (100, "1 h 40 min"), (1, "1 min")],
)
def test_a_tier_set_in_minutes_by_the_command_shows_its_time_in_words(pages, roles, minutes, shown):
    # !roles add takes minutes: 100 of them are 1.666... hours, which no page should print.
    roles.add_tier(GUILD, VIEWERS, minutes)
    tiers = pages.get("roles").text.split('id="tier-list"')[1].split("</table>")[0]
    assert f'<td data-label="Hours watched">{shown}</td>' in tiers


def test_a_tiers_hours_typed_back_as_the_page_shows_them_keep_the_tier(pages, roles):
    roles.add_tier(GUILD, VIEWERS, 60_000)
    tiers = pages.get("roles").text.split('id="tier-list"')[1].split("</table>")[0]
    assert '<td data-label="Hours watched">1,000</td>' in tiers

    answer = pages.post("roles", "add", {"role_id": str(VIEWERS), "hours": "1,000"})

    assert answer.status_code == 303
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, 60_000)]


def test_a_tier_the_bot_cannot_give_says_so_and_how_to_fix_it(pages, roles):
    # Role sync never attempts a role at or above the bot's highest role: the page must not
    # call such a tier "on" as if members were getting it.
    roles.add_tier(GUILD, VIEWERS, 60)
    roles.add_tier(GUILD, MANAGED, 120)  # moved above the bot's role since it was added
    tiers = pages.get("roles").text.split('id="tier-list"')[1].split("</table>")[0]
    rows = tiers.split("<tr>")[2:]
    assert '<td data-label="State">on</td>' in rows[0]
    assert (
        "I can't give it: it is at or above my highest role (Server Settings &gt; Roles: drag "
        "my role above it)" in rows[1]
    )


def test_without_manage_roles_the_page_says_no_tier_is_given(discord, roles):
    def roles_without_permission(guild_id: int) -> GuildRoles | None:
        return GuildRoles(
            can_manage_roles=False,
            assignable_role_ids=frozenset({VIEWERS}),
            existing_role_ids=frozenset({GUILD, VIEWERS}),
        )

    roles.add_tier(GUILD, VIEWERS, 60)
    pages = pages_for(discord, GUILD, roles=roles, guild_roles=roles_without_permission)
    text = pages.get("roles").text
    assert (
        "I lack the Manage Roles permission, so I can't give watchtime roles yet: give my "
        "role Manage Roles." in text
    )
    assert text.count("Manage Roles permission") == 1


def test_a_tier_shows_its_role_by_name_and_colour(discord, roles, engine):
    directory = DirectoryService(engine, Clock(datetime(2026, 3, 1, tzinfo=UTC)))
    described = (
        Role(VIEWERS, "Viewers <3", 3, 0x3498DB, assignable=True),
        Role(MANAGED, "Bots", 9),
    )
    directory.record_server(Snapshot(Server(GUILD, "Here", None, True), described, ()))
    elsewhere = (Role(OTHER_SERVERS_ROLE, "Elsewhere", 1, 0xFF0000),)
    directory.record_server(Snapshot(Server(OTHER_GUILD, "There", None, True), elsewhere, ()))
    roles.add_tier(GUILD, VIEWERS, 60)
    roles.add_tier(GUILD, MANAGED, 120)  # colourless (0): no dot
    roles.add_tier(GUILD, OTHER_SERVERS_ROLE, 180)  # not this server's: its id, not its name
    pages = pages_for(discord, GUILD, roles=roles, guild_roles=_roles_here, directory=directory)
    tiers = pages.get("roles").text.split('id="tier-list"')[1].split("</table>")[0]
    rows = tiers.split("<tr>")[2:]
    assert '<circle cx="6" cy="6" r="6" fill="#3498db"/>' in rows[0]
    assert '<span class="role">@Viewers &lt;3</span>' in rows[0]
    assert "<circle" not in rows[1]
    assert '<span class="role">@Bots</span>' in rows[1]
    assert f'<code title="a role the bot has not seen">{OTHER_SERVERS_ROLE}</code>' in rows[2]
    assert "Elsewhere" not in tiers
    assert "#ff0000" not in tiers


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"role_id": "viewers", "hours": "1"}, "role_id", "Role takes a Discord id"),
        ({"role_id": str(GUILD), "hours": "1"}, "role_id", "@everyone can't be given"),
        ({"role_id": str(OTHER_SERVERS_ROLE), "hours": "1"}, "role_id", "no role with that id"),
        ({"role_id": str(MANAGED), "hours": "1"}, "role_id", "I can't give that role"),
        ({"role_id": str(VIEWERS), "hours": "0"}, "hours", "Hours take a number like 10"),
        ({"role_id": str(VIEWERS), "hours": "0.001"}, "hours", "whole minutes"),
        ({"role_id": str(VIEWERS), "hours": "ten"}, "hours", "Hours take a number like 10"),
        ({"role_id": str(VIEWERS), "hours": "NaN"}, "hours", "Hours take a number like 10"),
        ({"role_id": str(VIEWERS), "hours": "9" * 12}, "hours", "Hours take a number like 10"),
        # Decimal reads these; multiplying or dividing them raised (a 500).
        ({"role_id": str(VIEWERS), "hours": "1e100"}, "hours", "Hours take a number like 10"),
        ({"role_id": str(VIEWERS), "hours": "1E+30"}, "hours", "Hours take a number like 10"),
        ({"role_id": str(VIEWERS), "hours": "1e999999"}, "hours", "Hours take a number like 10"),
        ({"role_id": str(VIEWERS), "hours": "\u0663"}, "hours", "Hours take a number like 10"),
    ],
)
def test_a_refused_tier_is_shown_by_its_field_and_adds_nothing(pages, roles, form, field, message):
    answer = pages.post("roles", "add", form)
    assert_refused_here(answer, message)
    assert f'id="{field}-error"' in answer.text
    assert roles.tiers(GUILD) == []


def test_picking_a_tiers_role_again_changes_its_hours(pages, roles):
    roles.add_tier(GUILD, VIEWERS, 60)
    answer = pages.post("roles", "add", {"role_id": str(VIEWERS), "hours": "2.5"})
    assert answer.status_code == 303
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, 150)]
    page = pages.client.get(answer.headers["Location"])
    assert "is now earned after 2.5 hours watched (it was 1)." in page.text
    assert "Add a tier or change its hours" in page.text


def test_a_tier_is_turned_off_and_on_again(pages, roles):
    roles.add_tier(GUILD, VIEWERS, 60)
    tiers = pages.get("roles").text.split('id="tier-list"')[1].split("</table>")[0]
    assert '<td data-label="State">on</td>' in tiers
    assert ">Turn off</button>" in tiers
    answer = pages.post("roles", "switch", {"role_id": str(VIEWERS), "enabled": "off"})
    assert answer.status_code == 303
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, 60, enabled=False)]
    page = pages.client.get(answer.headers["Location"])
    assert "role sync neither gives nor takes it; members keep it" in page.text
    tiers = page.text.split('id="tier-list"')[1].split("</table>")[0]
    assert '<td data-label="State">off</td>' in tiers
    assert ">Turn on</button>" in tiers
    assert (
        pages.post("roles", "switch", {"role_id": str(VIEWERS), "enabled": "on"}).status_code == 303
    )
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, 60, enabled=True)]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"role_id": str(VIEWERS), "enabled": "maybe"}, "Choose on or off."),
        ({"role_id": str(VIEWERS)}, "Choose on or off."),
        ({"role_id": str(MANAGED), "enabled": "off"}, "That role is not a watchtime role here."),
        ({"role_id": "abc", "enabled": "off"}, "Role"),
    ],
)
def test_a_tier_switch_that_cannot_be_done_says_why(pages, roles, form, message):
    roles.add_tier(GUILD, VIEWERS, 60)
    answer = pages.post("roles", "switch", form)
    assert_refused_here(answer, message)
    assert 'id="tiers-error"' in answer.text
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, 60)]


def test_the_linked_role_cannot_be_made_a_watchtime_role(pages, roles, engine):
    """Role sync would take it from every linked member short of the tier's watchtime."""
    LinkingService(engine, Clock(datetime(2026, 3, 1, tzinfo=UTC))).set_linked_role(GUILD, VIEWERS)
    answer = pages.post("roles", "add", {"role_id": str(VIEWERS), "hours": "2"})
    assert_refused_here(answer, "That role is the one linked members get")
    assert roles.tiers(GUILD) == []


def test_the_kick_vip_role_cannot_be_made_a_watchtime_role(pages, roles, engine):
    """VIP expiry would take the tier from members who reached it, role sync the VIP's role."""
    clock = Clock(datetime(2026, 3, 1, tzinfo=UTC))
    vip = VipService(engine, clock, FakeVipChannel(clock), lambda _: None)
    asyncio.run(vip.set_kick_reward(GUILD, "VIP for a day", VIEWERS))
    answer = pages.post("roles", "add", {"role_id": str(VIEWERS), "hours": "2"})
    assert_refused_here(answer, "That role is the Kick VIP role")
    release = "give the Kick reward another role (!vip kick) and let its VIPs expire first"
    assert release in answer.text
    assert roles.tiers(GUILD) == []


def test_a_role_id_is_never_trusted_when_the_roles_cannot_be_seen(discord, roles):
    pages = pages_for(discord, GUILD, roles=roles)  # no bot connected in this process
    answer = pages.post("roles", "add", {"role_id": str(VIEWERS), "hours": "1"})
    assert_refused_here(answer, "I cannot check that role now")
    assert roles.tiers(GUILD) == []


def test_remove_a_tier_even_of_a_deleted_role(pages, roles):
    deleted = 210000000000000009
    roles.add_tier(GUILD, deleted, 60)
    page = pages.get("roles")
    assert "deleted in Discord" in page.text
    assert pages.post("roles", "remove", {"role_id": str(deleted)}).status_code == 303
    assert roles.tiers(GUILD) == []
    answer = pages.post("roles", "remove", {"role_id": str(deleted)})
    assert_refused_here(answer, "That role is not a watchtime role here.")


def test_mode_sync_and_dm_settings(pages, roles):
    form = {"mode": "highest", "enabled": "off", "dm": "on"}
    assert pages.post("roles", "settings", form).status_code == 303
    settings = roles.settings(GUILD)
    assert (settings.mode, settings.enabled, settings.dm_on_new_role) == ("highest", False, True)
    answer = pages.post("roles", "settings", {"mode": "some", "dm": "maybe"})
    assert_refused_here(answer, "The mode is either all (every role reached) or highest.")
    assert "Choose on or off." in answer.text
    assert roles.settings(GUILD).mode == "highest"


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("add", {"role_id": str(VIEWERS), "hours": "1"}),
        ("remove", {"role_id": str(VIEWERS)}),
        ("switch", {"role_id": str(VIEWERS), "enabled": "off"}),
        ("settings", {"mode": "highest"}),
    ],
)
def test_writes_need_the_csrf_token_and_a_guild_the_user_manages(pages, roles, path, form):
    roles.add_tier(GUILD, VIEWERS, 60)
    roles.add_tier(OTHER_GUILD, VIEWERS, 60)
    assert pages.post("roles", path, form, csrf=False).status_code == 403
    token = pages.csrf("roles")
    other = pages.client.post(
        pages.url("roles", path, OTHER_GUILD), data={**form, "csrf_token": token}
    )
    assert other.status_code == 403
    assert roles.tiers(GUILD) == [RoleTier(VIEWERS, 60)]
    assert roles.tiers(OTHER_GUILD) == [RoleTier(VIEWERS, 60)]
    assert roles.settings(GUILD).mode == roles.settings(OTHER_GUILD).mode == "all"


def test_another_guilds_page_is_403(pages):
    assert pages.get("roles", guild_id=OTHER_GUILD).status_code == 403


def test_without_roles_the_page_says_so(discord):
    assert pages_for(discord, GUILD).get("roles").status_code == 404
