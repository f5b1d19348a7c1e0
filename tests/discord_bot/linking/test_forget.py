"""A forgotten member (``python -m core privacy forget``) loses the roles the bot gave because of
what was forgotten: the linked role, the watchtime roles, the Shuffle verified role. The forget
queues it for the Discord worker in its own transaction; the worker runs on dpytest's Discord."""

from __future__ import annotations

from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.linking.effects import LinkEffects
from core.features.linking.queued import QueuedLinkEffects
from core.features.linking.service import LinkingService
from core.features.person_data import find_person
from core.features.person_forget import forget
from core.features.raffle.wagers.service import WagerService
from core.features.roles.service import RolesService
from core.outbox import DISCORD
from core.outbox.worker import OutboxWorker
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.conftest import Stream
from tests.discord_bot.fake_discord import member_of
from tests.discord_bot.linking_support import bot_may_manage_roles
from tests.support.clock import Clock


@pytest.fixture
def discord_calls(sqlite_engine: Engine, clock: Clock, link_effects: LinkEffects) -> OutboxWorker:
    kinds = QueuedLinkEffects(sqlite_engine, clock, link_effects).kinds()
    return OutboxWorker(sqlite_engine, DISCORD, kinds, clock)


@pytest.fixture
async def given(
    guild_a: discord.Guild,
    alice: discord.Member,
    linking: LinkingService,
    roles: RolesService,
    stream: Stream,
    sqlite_engine: Engine,
    clock: Clock,
) -> dict[str, discord.Role]:
    """Alice linked her Kick account, reached a watchtime role and was verified on Shuffle:
    she holds the linked role, the watchtime role and the verified role the bot gave her."""
    await bot_may_manage_roles(guild_a)
    held = {
        name: dpytest.backend.make_role(name, guild_a) for name in ("Linked", "Regular", "Gambler")
    }
    linking.set_linked_role(guild_a.id, held["Linked"].id)
    roles.add_tier(guild_a.id, held["Regular"].id, 60)
    viewer = stream.viewer("kick_alice")
    linking.link(
        guild_id=guild_a.id,
        discord_user_id=alice.id,
        platform=Platform.KICK,
        platform_user_id=viewer.platform_user_id or "",
        username=viewer.username,
    )
    stream.earn(guild_a.id, viewer, 3600)
    roles.record_awards(guild_a.id, alice.id, [held["Regular"].id])
    wagers = WagerService(sqlite_engine, TokenCipher(TEST_FERNET_KEY), clock=clock)
    wagers.set_verified_role(guild_a.id, held["Gambler"].id)
    wagers.request_link(guild_a.id, alice.id, "alice_bets")
    wagers.verify(guild_a.id, admin_id=1, discord_user_id=alice.id, name="alice_bets")
    for role in held.values():
        await dpytest.add_role(member_of(guild_a, "alice"), role)
    return held


def forget_member(engine: Engine, member_id: int, clock: Clock) -> None:
    with engine.begin() as conn:
        forget(conn, find_person(conn, member_id), clock(), delete=True)


async def test_a_forgotten_member_loses_the_roles_the_bot_gave_them(
    guild_a: discord.Guild,
    alice: discord.Member,
    given: dict[str, discord.Role],
    discord_calls: OutboxWorker,
    sqlite_engine: Engine,
    clock: Clock,
) -> None:
    bystander = dpytest.backend.make_role("Artist", guild_a)  # given by hand: none of ours
    await dpytest.add_role(member_of(guild_a, "alice"), bystander)

    forget_member(sqlite_engine, alice.id, clock)
    assert await discord_calls.run_once() == 1

    assert member_of(guild_a, "alice").roles[1:] == [bystander]


async def test_a_preview_of_the_forget_takes_no_role(
    guild_a: discord.Guild,
    alice: discord.Member,
    given: dict[str, discord.Role],
    discord_calls: OutboxWorker,
    sqlite_engine: Engine,
    clock: Clock,
) -> None:
    with sqlite_engine.begin() as conn:
        forget(conn, find_person(conn, alice.id), clock(), delete=False)  # without --yes

    assert await discord_calls.run_once() == 0
    assert set(given.values()) <= set(member_of(guild_a, "alice").roles)


async def test_the_removal_is_tried_again_after_discord_failed_and_a_second_forget_is_harmless(
    guild_a: discord.Guild,
    alice: discord.Member,
    given: dict[str, discord.Role],
    discord_calls: OutboxWorker,
    sqlite_engine: Engine,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = discord.Member.remove_roles
    outages = [503]

    async def remove_roles(self: discord.Member, *roles: Any, **kwargs: Any) -> None:
        if outages:  # Discord answers 503 once
            response = dpytest.backend.FakeRequest(outages.pop(), "Service Unavailable")
            raise discord.DiscordServerError(response, "")
        await original(self, *roles, **kwargs)

    monkeypatch.setattr(discord.Member, "remove_roles", remove_roles)

    forget_member(sqlite_engine, alice.id, clock)
    await discord_calls.run_once()  # Discord fails: the call waits for its next try
    assert given["Linked"] in member_of(guild_a, "alice").roles
    forget_member(sqlite_engine, alice.id, clock)  # the operator runs it again meanwhile
    clock.advance(60)
    await discord_calls.run_once()
    clock.advance(3600)
    await discord_calls.run_once()

    assert not set(given.values()) & set(member_of(guild_a, "alice").roles)
    assert await discord_calls.run_once() == 0
