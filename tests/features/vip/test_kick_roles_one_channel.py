"""Two Discord servers following one Kick channel, each with a Kick reward giving its own VIP
role: one redemption gives the linked member each server's role, and Kick's chat hears one
line of it, not one per server (the lines go through the real chat outbox)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from core.events import KicksGifted, Platform, Viewer
from core.features.chat_commands.notices import ChatNotices
from core.features.chat_commands.queued import SAY, QueuedChat, service_of
from core.features.guilds.repository import TrackedChannel, ensure_guild, set_channel
from core.features.linking.repository import AccountLink, save_link
from core.features.vip.rules import RuleAsked
from core.features.vip.service import VipService
from core.outbox.worker import OutboxWorker
from core.storage.db import transaction
from tests.features.chat_commands.doubles import RecordingSender
from tests.features.vip.doubles import (
    GUILD,
    T0,
    FakeRoles,
    FakeVipChannel,
    RecordingNotices,
    make_discord_calls,
)
from tests.features.vip.test_kick_roles import KICK_BROADCASTER, MEMBER, ROLE, kick_redemption
from tests.support.clock import Clock

OTHER_GUILD = GUILD + 1
OTHER_ROLE = ROLE + 1
TITLE = "VIP role for a day"


@pytest.fixture
async def two_servers(engine: Engine):
    clock = Clock(T0)
    roles = FakeRoles(members={MEMBER: set()}, assignable={ROLE, OTHER_ROLE})
    kick = RecordingSender()  # Kick's own sender, behind the chat outbox
    queued = QueuedChat(engine, clock, lambda platform: kick)
    service = VipService(
        engine,
        clock,
        FakeVipChannel(clock),
        lambda guild_id: None,
        notices=RecordingNotices(),
        roles=roles,
        kick_chat=lambda: queued.sender_for(Platform.KICK),
        chat_notices=ChatNotices(engine, clock, lambda platform: True, lambda: []),
    )
    await service.set_kick_reward(GUILD, TITLE, ROLE)
    await service.set_kick_reward(OTHER_GUILD, TITLE, OTHER_ROLE)
    with transaction(engine) as conn:
        save_link(conn, AccountLink(Platform.KICK, "77", MEMBER, "kickviewer", T0), GUILD)
        for guild_id in (GUILD, OTHER_GUILD):  # both follow the one Kick channel
            ensure_guild(conn, guild_id, T0)
            channel = TrackedChannel(guild_id, Platform.KICK, "streamer", KICK_BROADCASTER)
            set_channel(conn, channel, T0)
    worker = OutboxWorker(
        engine, service_of(Platform.KICK), {SAY: queued.kind(Platform.KICK)}, clock
    )
    return service, roles, kick, worker


async def redeem_in_both(service: VipService, worker: OutboxWorker, event) -> None:  # type: ignore[no-untyped-def]
    for guild_id in (GUILD, OTHER_GUILD):  # the dispatcher hands it to each server
        await service.kick_roles.handle(guild_id, event)
        await make_discord_calls(service)
    while await worker.run_once():
        pass


async def test_one_redemption_gives_each_servers_role_and_one_chat_line(two_servers) -> None:
    service, roles, kick, worker = two_servers

    await redeem_in_both(service, worker, kick_redemption("77", title=TITLE))

    assert roles.members[MEMBER] == {ROLE, OTHER_ROLE}
    for guild_id in (GUILD, OTHER_GUILD):
        [grant] = await service.list_vips(guild_id)
        assert grant.source == "redemption"
    [line] = kick.sent
    assert line.broadcaster_user_id == KICK_BROADCASTER
    assert line.text.startswith("kickviewer has the VIP role until")


async def test_a_refusal_both_servers_make_is_said_once(two_servers) -> None:
    service, _, kick, worker = two_servers

    await redeem_in_both(service, worker, kick_redemption("88", title=TITLE))  # not linked

    assert kick.texts == ["@kickviewer no VIP this time: link your Kick account in Discord first "
                          "(!link kick)."]  # fmt: skip
    await redeem_in_both(service, worker, kick_redemption("88", title=TITLE))  # another one
    assert len(kick.texts) == 2


async def test_kicks_both_servers_rules_reach_are_said_once(two_servers) -> None:
    service, roles, kick, worker = two_servers
    for guild_id in (GUILD, OTHER_GUILD):
        await service.rules.add(guild_id, RuleAsked(Platform.KICK, "kicks", 24, at_least=100))
    event = KicksGifted(
        platform=Platform.KICK,
        event_id="kicks-1",
        broadcaster_user_id=KICK_BROADCASTER,
        occurred_at=T0,
        viewer=Viewer("77", "kickviewer"),
        amount=500,
    )

    for guild_id in (GUILD, OTHER_GUILD):
        await service.rule_grants.handle(guild_id, event)
        await make_discord_calls(service)
    while await worker.run_once():
        pass

    assert roles.members[MEMBER] == {ROLE, OTHER_ROLE}
    [line] = kick.texts
    assert line.startswith("kickviewer has the VIP role until")


async def test_kicks_one_server_refuses_and_the_other_grants_say_only_the_grant(
    two_servers,
) -> None:
    """The first server refuses (the viewer holds its role, and its time does not stack), the
    other server's rule, reached only by the bigger gift, grants: chat hears the grant alone."""
    service, roles, kick, worker = two_servers
    await service.update_settings(GUILD, is_stacking=False)
    await service.rules.add(GUILD, RuleAsked(Platform.KICK, "kicks", 24, at_least=100))
    await service.rules.add(OTHER_GUILD, RuleAsked(Platform.KICK, "kicks", 24, at_least=1000))

    for event_id, amount in (("kicks-1", 200), ("kicks-2", 2000)):
        event = KicksGifted(
            platform=Platform.KICK,
            event_id=event_id,
            broadcaster_user_id=KICK_BROADCASTER,
            occurred_at=T0,
            viewer=Viewer("77", "kickviewer"),
            amount=amount,
        )
        for guild_id in (GUILD, OTHER_GUILD):
            await service.rule_grants.handle(guild_id, event)
            await make_discord_calls(service)
            while await worker.run_once():
                pass

    assert roles.members[MEMBER] == {ROLE, OTHER_ROLE}
    assert len(kick.texts) == 2  # one line per gift
    assert all(line.startswith("kickviewer has the VIP role until") for line in kick.texts)
    [refused] = [e for e in await service.log(GUILD) if e.action == "refused"]
    assert "does not stack" in refused.reason  # the first server's own log keeps its refusal


async def test_a_redemption_one_server_refuses_and_the_other_grants_says_the_grant(
    two_servers,
) -> None:
    """The first server's role cannot be given (it refuses), the other's is: the refusal the
    first queued, not said yet, gives way to the grant."""
    service, roles, kick, worker = two_servers
    roles.assignable.discard(ROLE)

    await redeem_in_both(service, worker, kick_redemption("77", title=TITLE))

    assert roles.members[MEMBER] == {OTHER_ROLE}
    [line] = kick.texts
    assert line.startswith("kickviewer has the VIP role until")
