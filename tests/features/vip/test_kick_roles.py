"""Kick: a reward gives the linked member a temporary Discord role, with the same expiry,
stacking and audit log, and a refund-free notice when it cannot."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from core.events import Platform, RewardRedeemed, Viewer
from core.features.linking.repository import AccountLink, save_link
from core.features.vip import redemptions_repository
from core.features.vip.repository import OUTSIDE
from core.features.vip.service import VipService
from core.outbox import store
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
from tests.support.clock import Clock

ROLE = 7000
MEMBER = 4242
KICK_BROADCASTER = "4242000"


@pytest.fixture
async def kick(engine: Engine):
    clock = Clock(T0)
    roles = FakeRoles(members={MEMBER: set()}, assignable={ROLE})
    sender = RecordingSender()
    service = VipService(
        engine,
        clock,
        FakeVipChannel(clock),
        lambda guild_id: None,
        notices=RecordingNotices(),
        roles=roles,
        kick_chat=lambda: sender,
    )
    await service.set_kick_reward(GUILD, "VIP role for a day", ROLE)
    with transaction(engine) as conn:
        link = AccountLink(Platform.KICK, "77", MEMBER, "kickviewer", T0)
        save_link(conn, link, GUILD)
    return service, roles, sender, clock


async def redeem(service: VipService, event: RewardRedeemed) -> None:
    """Deliver ``event`` to the bus handler (which queues it), then let the Discord worker make
    what it queued: the role, and the notices."""
    await service.kick_roles.handle(GUILD, event)
    await make_discord_calls(service)


def kick_redemption(
    viewer_id: str, title: str = "VIP Role for a day", status: str = "pending", rid: str = ""
) -> RewardRedeemed:
    rid = rid or str(uuid.uuid4())
    return RewardRedeemed(
        platform=Platform.KICK,
        event_id=f"{rid}:{status}",
        broadcaster_user_id=KICK_BROADCASTER,
        occurred_at=T0,
        viewer=Viewer(viewer_id, "kickviewer"),
        reward_title=title,
        cost=100,
        status=status,
    )


async def test_a_kick_redemption_gives_the_linked_member_the_role_until_expiry(kick) -> None:
    service, roles, sender, clock = kick
    event = kick_redemption("77")

    await redeem(service, event)
    await redeem(service, event)  # redelivered: nothing more
    await redeem(service, kick_redemption("77", status="accepted"))

    assert roles.members[MEMBER] == {ROLE}
    [grant] = await service.list_vips(GUILD)
    assert (grant.platform, grant.discord_user_id, grant.role_id) == (Platform.KICK, MEMBER, ROLE)
    assert grant.expires_at == T0 + timedelta(hours=24)
    assert [e.action for e in await service.log(GUILD)] == ["granted"]
    assert len(sender.sent) == 1

    clock.advance(hours=25)
    run = await service.expiry.expire_due()
    assert (run.queued, roles.members[MEMBER]) == (1, {ROLE})  # the Discord worker's to do
    assert (await service.expiry.expire_due()).queued == 0  # queued once
    await make_discord_calls(service)

    assert roles.members[MEMBER] == set()
    assert await service.list_vips(GUILD) == []
    assert [e.action for e in await service.log(GUILD)] == ["removed", "granted"]


async def test_an_expired_role_discord_cannot_take_off_waits_its_turn_and_goes_later(
    kick,
) -> None:
    service, roles, _, clock = kick
    await redeem(service, kick_redemption("77"))
    clock.advance(hours=25)
    roles.away = True

    assert (await service.expiry.expire_due()).queued == 1
    await make_discord_calls(service)
    [grant] = await service.list_vips(GUILD)
    assert grant.last_error == "Discord is not connected"  # noted, shown on the VIP list
    assert roles.members[MEMBER] == {ROLE}

    roles.away = False
    clock.advance(seconds=60)
    assert (await service.expiry.expire_due()).queued == 1  # its next turn: a new try
    await make_discord_calls(service)
    assert roles.members[MEMBER] == set()
    assert await service.list_vips(GUILD) == []


async def test_an_unlinked_viewer_is_told_why_without_a_refund(kick) -> None:
    service, roles, sender, _ = kick

    await redeem(service, kick_redemption("999"))

    assert roles.members[MEMBER] == set()
    [entry] = await service.log(GUILD)
    assert entry.action == "refused"
    [message] = sender.texts
    assert "link your Kick account" in message
    assert "refunded" not in message


async def test_another_kick_reward_is_ignored(kick) -> None:
    service, roles, sender, _ = kick
    await redeem(service, kick_redemption("77", title="Hydrate"))
    assert await service.log(GUILD) == []
    assert roles.members[MEMBER] == set()
    assert sender.texts == []


async def test_a_kick_grant_can_be_extended_and_revoked_by_name(kick) -> None:
    service, roles, _, _ = kick
    await redeem(service, kick_redemption("77"))

    extended = await service.manual.extend(GUILD, 900, "KickViewer", 2)
    await service.manual.revoke(GUILD, 900, "kickviewer")

    assert extended.expires_at == T0 + timedelta(hours=26)
    assert roles.members[MEMBER] == set()
    assert await service.list_vips(GUILD) == []
    assert [e.action for e in reversed(await service.log(GUILD))] == [
        "granted",
        "extended",
        "removed",
    ]


async def test_the_handler_only_queues_and_discord_away_delays_only_the_role(kick) -> None:
    service, roles, sender, clock = kick
    roles.away = True

    await service.kick_roles.handle(GUILD, kick_redemption("77"))
    await service.kick_roles.handle(GUILD, kick_redemption("77", title="Another reward"))
    assert roles.members[MEMBER] == set()  # the event's handler touched only our database
    await make_discord_calls(service)  # Discord away: the call waits, nothing is decided
    assert (await service.list_vips(GUILD), sender.texts) == ([], [])

    roles.away = False
    clock.advance(seconds=60)
    await make_discord_calls(service)

    assert roles.members[MEMBER] == {ROLE}
    assert [e.action for e in await service.log(GUILD)] == ["granted"]
    with service.effects.engine.connect() as conn:
        [call] = store.of_guild(conn, GUILD)
    assert (call.kind, call.state) == ("vip.kick-role", "done")  # the other reward: not queued


async def test_a_kick_role_taken_while_the_grant_was_extended_is_given_back(kick) -> None:
    """The role's removal is under way on Discord when an admin extends the grant: the grant
    runs on, so the role comes back."""
    service, roles, _, clock = kick
    await redeem(service, kick_redemption("77"))
    clock.advance(hours=25)
    assert (await service.expiry.expire_due()).queued == 1
    remove = roles.remove_role

    async def extended_meanwhile(*args: object) -> None:
        await service.manual.extend(GUILD, 900, "kickviewer", 24)
        await remove(*args)  # type: ignore[arg-type]

    roles.remove_role = extended_meanwhile  # type: ignore[method-assign]
    await make_discord_calls(service)

    assert roles.members[MEMBER] == {ROLE}
    [grant] = await service.list_vips(GUILD)
    assert grant.expires_at == clock() + timedelta(hours=24)


async def test_a_role_held_before_the_reward_is_not_taken_at_expiry(kick) -> None:
    """A moderator gave the member the VIP role by hand, for good: the reward does not make it
    ours. As Twitch's "already a VIP", the member is told, tracked as an outside VIP and keeps
    the role when the reward's time would have run out."""
    service, roles, sender, clock = kick
    roles.members[MEMBER] = {ROLE}

    await redeem(service, kick_redemption("77"))
    clock.advance(hours=25)
    assert (await service.expiry.expire_due()).queued == 0
    await make_discord_calls(service)

    assert roles.members[MEMBER] == {ROLE}, "the bot took away a VIP role it never gave"
    [grant] = await service.list_vips(GUILD)
    assert (grant.source, grant.expires_at) == (OUTSIDE, None)
    assert (grant.discord_user_id, grant.role_id) == (MEMBER, ROLE)
    assert [(e.action, e.reason) for e in reversed(await service.log(GUILD))] == [
        ("seen", "VIP role given outside StreamKeeper"),
        ("refused", "you are already a permanent VIP"),
    ]
    [message] = sender.texts
    assert "already a permanent VIP" in message
    assert "refunded" not in message


async def test_a_hand_given_role_taken_away_since_is_given_by_the_next_redemption(kick) -> None:
    """The member held the role by hand (tracked as outside); a moderator took it away since:
    their next redemption gives it for the reward's time, and it goes when that is over."""
    service, roles, _, clock = kick
    roles.members[MEMBER] = {ROLE}
    await redeem(service, kick_redemption("77"))
    roles.members[MEMBER] = set()

    await redeem(service, kick_redemption("77"))

    assert roles.members[MEMBER] == {ROLE}
    [grant] = await service.list_vips(GUILD)
    assert (grant.source, grant.expires_at) == ("redemption", T0 + timedelta(hours=24))
    assert (grant.discord_user_id, grant.role_id) == (MEMBER, ROLE)
    clock.advance(hours=25)
    assert (await service.expiry.expire_due()).queued == 1
    await make_discord_calls(service)
    assert roles.members[MEMBER] == set()
    assert await service.list_vips(GUILD) == []


async def test_a_redemption_tried_again_after_its_role_was_given_keeps_the_role_its_own(
    kick,
) -> None:
    """An earlier try gave the role and stopped before it stored the grant: the role the retry
    finds is that try's, not a moderator's, so it is granted and goes at expiry."""
    service, roles, _, clock = kick
    event = kick_redemption("77")
    with transaction(service.effects.engine) as conn:  # the earlier try's claim, left unfinished
        redemptions_repository.claim_redemption(conn, GUILD, Platform.KICK, event.event_id, T0, T0)
    roles.members[MEMBER] = {ROLE}  # ...and the role it gave

    await redeem(service, event)

    [grant] = await service.list_vips(GUILD)
    assert (grant.source, grant.expires_at) == ("redemption", T0 + timedelta(hours=24))
    clock.advance(hours=25)
    await service.expiry.expire_due()
    await make_discord_calls(service)
    assert roles.members[MEMBER] == set()


async def test_a_second_redemption_by_a_member_who_left_the_server_is_refused_not_extended(
    kick,
) -> None:
    """Stacking on Kick: the member left the Discord server since their first redemption. The
    second one used to be told "has the VIP role until ..." and extend a role nobody holds; it
    is refused with why (Kick cannot refund), and the first grant ends as it would have."""
    service, roles, sender, _clock = kick
    await redeem(service, kick_redemption("77"))
    del roles.members[MEMBER]  # left the server

    await redeem(service, kick_redemption("77"))

    [grant] = await service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=24)
    assert [e.action for e in await service.log(GUILD)] == ["refused", "granted"]
    assert sender.sent[-1].text == (
        "@kickviewer no VIP this time: you are not in the Discord server."
    )


async def test_a_second_redemption_gives_back_a_role_taken_by_hand_and_extends(kick) -> None:
    service, roles, _sender, _clock = kick
    await redeem(service, kick_redemption("77"))
    roles.members[MEMBER].discard(ROLE)  # a moderator took it

    await redeem(service, kick_redemption("77"))

    assert roles.members[MEMBER] == {ROLE}
    [grant] = await service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=48)


async def test_kicks_that_extend_the_vip_of_a_member_who_left_are_refused_with_why(kick) -> None:
    """The same for a rule (KICKs): no "has the VIP role" for a member no longer there."""
    from core.events import KicksGifted
    from core.features.vip.rules import RuleAsked

    service, roles, sender, _clock = kick
    await service.rules.add(GUILD, RuleAsked(Platform.KICK, "kicks", 10, at_least=100))
    await redeem(service, kick_redemption("77"))
    del roles.members[MEMBER]
    kicks = KicksGifted(
        platform=Platform.KICK,
        event_id="kicks-1",
        broadcaster_user_id=KICK_BROADCASTER,
        occurred_at=T0,
        viewer=Viewer("77", "kickviewer"),
        amount=500,
    )

    await service.rule_grants.handle(GUILD, kicks)
    await make_discord_calls(service)

    [grant] = await service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=24)
    assert [e.action for e in await service.log(GUILD)] == ["refused", "granted"]
    assert sender.sent[-1].text == (
        "@kickviewer no VIP this time: you are not in the Discord server."
    )


async def test_a_kick_reward_title_with_other_spacing_still_gives_the_role(kick) -> None:
    """The title is kept with its spaces tidied (`!vip kick`, `vip rule add`); Kick sends the
    reward's title as the streamer typed it, a double or trailing space included. Such a
    redemption used to give nothing and say nothing, and Kick cannot refund."""
    service, roles, _sender, _clock = kick

    await redeem(service, kick_redemption("77", title=" VIP  role for a day "))

    assert roles.members[MEMBER] == {ROLE}
    assert [e.action for e in await service.log(GUILD)] == ["granted"]
