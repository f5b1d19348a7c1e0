"""One Discord role serves one feature: every setting that names a role the bot gives and takes
back refuses a role another feature manages, naming it, and saves nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from core.events import Platform
from core.features.linking.service import LinkingService
from core.features.raffle.wagers.service import WagerService
from core.features.refusals import Refused
from core.features.roles.service import RolesService
from core.features.vip import repository as vip_repository
from core.features.vip.repository import REDEMPTION, Grant
from core.features.vip.service import VipService
from core.platforms.shuffle.api import ShuffleClient
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.features.vip.doubles import FakeVipChannel
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep, no_sleep

GUILD = 10
OTHER_GUILD = 20
ROLE = 501
OTHER_ROLE = 502

# The words each feature's role is named by in the refusal of another.
NAMED = {
    "watchtime": "That role is a watchtime role",
    "linked": "That role is the one linked members get",
    "kick_vip": "That role is the Kick VIP role",
    "shuffle": "That role is the Shuffle verified role",
}


class Settings:
    """Each feature's role setting, as its service sets and reads it."""

    def __init__(self, engine) -> None:
        clock = Clock(datetime(2026, 3, 1, tzinfo=UTC))
        self.roles = RolesService(engine, clock)
        self.linking = LinkingService(engine, clock)
        self.wagers = WagerService(
            engine,
            TokenCipher(TEST_FERNET_KEY),
            make_client=lambda: ShuffleClient(sleep=no_sleep),
            clock=clock,
            allowed_hosts=(),
        )
        self.vip = VipService(
            engine, clock, FakeVipChannel(clock), lambda _: None, sleep=RecordingSleep(clock)
        )

    async def set(self, feature: str, guild_id: int, role_id: int) -> None:
        setters: dict[str, Callable[[], object]] = {
            "watchtime": lambda: self.roles.add_tier(guild_id, role_id, 60),
            "linked": lambda: self.linking.set_linked_role(guild_id, role_id),
            "kick_vip": lambda: self.vip.set_kick_reward(guild_id, "Temporary VIP", role_id),
            "shuffle": lambda: self.wagers.set_verified_role(guild_id, role_id),
        }
        result = setters[feature]()
        if isinstance(result, Awaitable):
            await result

    async def role_of(self, feature: str, guild_id: int) -> int | None:
        if feature == "watchtime":
            tiers = self.roles.tiers(guild_id)
            return tiers[0].role_id if tiers else None
        if feature == "linked":
            return self.linking.settings(guild_id).linked_role_id
        if feature == "kick_vip":
            return (await self.vip.settings(guild_id)).kick_role_id
        return self.wagers.verified_role(guild_id)


PAIRS = [(held, asked) for held in NAMED for asked in NAMED if held != asked]


@pytest.mark.parametrize(("held", "asked"), PAIRS)
async def test_a_role_another_feature_manages_is_refused_naming_that_feature(engine, held, asked):
    settings = Settings(engine)
    await settings.set(held, GUILD, ROLE)

    with pytest.raises(Refused) as refused:
        await settings.set(asked, GUILD, ROLE)

    assert str(refused.value).startswith(NAMED[held])
    assert "Pick another role" in str(refused.value)
    assert await settings.role_of(asked, GUILD) is None
    assert await settings.role_of(held, GUILD) == ROLE


@pytest.mark.parametrize(("held", "asked"), PAIRS)
async def test_another_role_or_another_servers_same_role_is_taken(engine, held, asked):
    settings = Settings(engine)
    await settings.set(held, GUILD, ROLE)

    await settings.set(asked, GUILD, OTHER_ROLE)
    await settings.set(asked, OTHER_GUILD, ROLE)

    assert await settings.role_of(asked, GUILD) == OTHER_ROLE
    assert await settings.role_of(asked, OTHER_GUILD) == ROLE


@pytest.mark.parametrize("feature", ["linked", "kick_vip", "shuffle"])
async def test_a_feature_may_name_its_own_role_again(engine, feature):
    settings = Settings(engine)
    await settings.set(feature, GUILD, ROLE)
    await settings.set(feature, GUILD, ROLE)
    assert await settings.role_of(feature, GUILD) == ROLE


async def test_a_role_freed_by_its_feature_may_serve_another(engine):
    settings = Settings(engine)
    await settings.set("kick_vip", GUILD, ROLE)
    await settings.vip.set_kick_reward(GUILD, None, None)  # !vip kick off

    await settings.set("watchtime", GUILD, ROLE)

    assert await settings.role_of("watchtime", GUILD) == ROLE


async def test_a_role_its_kick_vips_still_hold_stays_the_kick_vip_roles_until_they_expire(engine):
    """The Kick reward was given another role, but a grant still running holds the old one:
    its expiry takes that role back, so it serves no other feature until then."""
    settings = Settings(engine)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    grant = Grant(0, GUILD, Platform.KICK, "kick-7", "k-7", "ana", REDEMPTION, now,
                  now + timedelta(hours=24), discord_user_id=900, role_id=ROLE)  # fmt: skip
    with engine.begin() as conn:
        grant_id = vip_repository.add_grant(conn, grant)
    await settings.set("kick_vip", GUILD, OTHER_ROLE)

    with pytest.raises(Refused, match=r"^That role is the Kick VIP role"):
        await settings.set("watchtime", GUILD, ROLE)

    with engine.begin() as conn:
        vip_repository.close_grant(conn, grant_id, now + timedelta(hours=24), "expired")
    await settings.set("watchtime", GUILD, ROLE)
    assert await settings.role_of("watchtime", GUILD) == ROLE
