"""One Twitch channel, one VIP: two Discord servers following the channel, on the real Runtime
and the fake Twitch on 127.0.0.1. A VIP one server granted is not an outside VIP to the other:
the other's rule neither contradicts it in chat nor records it, its `!vip grant`, `extend` and
`revoke` are refused with words, and the grant ends at the time of the server that gave it."""

from __future__ import annotations

import pytest

from core.events import Cheered, Platform, Viewer, VipAdded
from core.features.vip.limits import VipRefused
from core.features.vip.rules import RuleAsked
from core.runtime import Runtime
from tests.features.connections.test_twitch_connection import BROADCASTER, GUILD
from tests.features.vip import test_shared_channel_on_twitch as shared
from tests.features.vip.test_shared_channel_on_twitch import ADMIN, OTHER_GUILD, VIEWER
from tests.support.delivery import make_queued_calls

clock = shared.clock
twitch = shared.twitch
runtime = shared.runtime

SCOPES = ("bits:read", "channel:read:subscriptions")
ELSEWHERE = "VIP through another Discord server that follows this channel, until"


async def add_bits_rule(runtime: Runtime, guild_id: int, hours: int) -> None:
    runtime.vip.rules.granted_scopes = lambda guild_id: SCOPES
    await runtime.vip.rules.add(guild_id, RuleAsked(Platform.TWITCH, "bits", hours, at_least=100))


async def cheer(runtime: Runtime, guild_ids: tuple[int, ...], event_id: str = "cheer-1") -> None:
    """The dispatcher hands the cheer to each server in turn; each server's worker makes it."""
    event = Cheered(
        platform=Platform.TWITCH,
        event_id=event_id,
        broadcaster_user_id=BROADCASTER,
        occurred_at=runtime.clock(),
        viewer=Viewer(VIEWER, "Viewer"),
        bits=500,
    )
    for guild_id in guild_ids:
        await runtime.vip.rule_grants.handle(guild_id, event)
        await make_queued_calls(runtime)


def changes(twitch, kind: str) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for k, _ in twitch.channels[BROADCASTER].vip_changes if k == kind)


async def expire(runtime: Runtime) -> None:
    await runtime.vip.expiry.expire_due()
    await make_queued_calls(runtime)


async def test_a_cheer_both_servers_rules_reach_grants_once_with_one_chat_line(runtime, twitch):
    await add_bits_rule(runtime, GUILD, 24)
    await add_bits_rule(runtime, OTHER_GUILD, 48)

    await cheer(runtime, (GUILD, OTHER_GUILD))

    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    [line] = [m.message for m in twitch.chat_messages]  # not "no VIP this time" as well
    assert line.startswith("Viewer is a VIP until")
    [grant] = await runtime.vip.list_vips(GUILD)
    assert grant.source == "rule"
    assert await runtime.vip.list_vips(OTHER_GUILD) == []  # no outside VIP there
    assert await runtime.vip.log(OTHER_GUILD) == []
    await cheer(runtime, (OTHER_GUILD,))  # the same event again: still nothing
    assert len(twitch.chat_messages) == 1


async def test_the_vip_ends_at_the_granting_servers_time_once(runtime, twitch, clock):
    await add_bits_rule(runtime, GUILD, 24)
    await add_bits_rule(runtime, OTHER_GUILD, 2)
    await cheer(runtime, (GUILD, OTHER_GUILD))
    # Twitch's channel.vip.add of that grant reaches the other server too: not an outside VIP.
    added = VipAdded(
        platform=Platform.TWITCH,
        event_id="vip-add-1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=clock(),
        viewer=Viewer(VIEWER, "viewer"),
    )
    await runtime.vip.expiry.handle_vip_added(OTHER_GUILD, added)
    assert await runtime.vip.list_vips(OTHER_GUILD) == []

    clock.advance(hours=3)  # past the other server's 2 hours: it holds nothing to remove
    await expire(runtime)
    assert twitch.channels[BROADCASTER].vips == [VIEWER]

    clock.advance(hours=22)
    await expire(runtime)
    await expire(runtime)
    assert twitch.channels[BROADCASTER].vips == []
    assert changes(twitch, "removal") == 1
    assert [e.action for e in await runtime.vip.log(GUILD)] == ["removed", "granted"]
    assert await runtime.vip.log(OTHER_GUILD) == []


async def test_vip_grant_extend_and_revoke_in_the_other_server_are_refused(runtime, twitch, clock):
    granted = await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 24)

    manual = runtime.vip.manual
    for attempt in (
        lambda: manual.grant(OTHER_GUILD, ADMIN, "@viewer", 48),
        lambda: manual.extend(OTHER_GUILD, ADMIN, "viewer", 48),
        lambda: manual.revoke(OTHER_GUILD, ADMIN, "Viewer"),
    ):
        with pytest.raises(VipRefused) as refused:
            await attempt()
        assert f"{ELSEWHERE} 20" in str(refused.value)
        assert "UTC" in str(refused.value)

    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    assert (changes(twitch, "addition"), changes(twitch, "removal")) == (1, 0)
    assert await runtime.vip.list_vips(OTHER_GUILD) == []
    assert await runtime.vip.log(OTHER_GUILD) == []
    [grant] = await runtime.vip.list_vips(GUILD)
    assert grant.expires_at == granted.expires_at

    clock.advance(hours=25)
    await expire(runtime)
    assert twitch.channels[BROADCASTER].vips == []
    assert changes(twitch, "removal") == 1


async def test_an_echo_seen_as_outside_first_is_still_the_other_servers(runtime, twitch, clock):
    """Twitch's channel.vip.add reached the other server before the grant was stored: its
    outside row neither refuses the next rule grant in chat nor lets its admin remove the VIP."""
    await add_bits_rule(runtime, OTHER_GUILD, 48)
    added = VipAdded(
        platform=Platform.TWITCH,
        event_id="vip-add-1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=clock(),
        viewer=Viewer(VIEWER, "viewer"),
    )
    await runtime.vip.expiry.handle_vip_added(OTHER_GUILD, added)  # nothing holds it yet
    await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 24)

    await cheer(runtime, (OTHER_GUILD,))
    assert twitch.chat_messages == []
    with pytest.raises(VipRefused, match=ELSEWHERE):
        await runtime.vip.manual.revoke(OTHER_GUILD, ADMIN, "viewer")
    with pytest.raises(VipRefused, match=ELSEWHERE):
        await runtime.vip.manual.grant(OTHER_GUILD, ADMIN, "viewer", 24)
    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    assert changes(twitch, "removal") == 0


async def test_a_redemption_in_the_other_server_is_refunded_and_not_seen_as_outside(
    runtime, twitch
):
    """The other server's own reward, redeemed by a viewer the first server made VIP: refunded
    (its points back, as for any VIP), in words that do not call the VIP permanent, and not
    listed there as an outside VIP."""
    await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 24)
    own = (await runtime.vip.setup(OTHER_GUILD, ADMIN, "Fan VIP", 100, 24)).reward
    redemption_id, event = shared.redemption_of(runtime, twitch, own.id)

    await runtime.vip.queued.handle(OTHER_GUILD, event)
    await make_queued_calls(runtime)

    assert twitch.redemptions[redemption_id]["status"] == "CANCELED"
    [line] = [m.message for m in twitch.chat_messages]
    assert "already a VIP for a while, through another Discord server" in line
    assert "refunded" in line
    assert await runtime.vip.list_vips(OTHER_GUILD) == []
    assert [e.action for e in await runtime.vip.log(OTHER_GUILD)] == ["refunded", "refused"]
    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    assert changes(twitch, "addition") == 1


async def test_setup_in_the_other_server_does_not_list_it_as_outside(runtime, twitch):
    await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 24)
    twitch.add_user("6000", "handpicked")
    twitch.channels[BROADCASTER].vips.append("6000")  # made VIP by hand on twitch.tv

    result = await runtime.vip.setup(OTHER_GUILD, ADMIN, "Fan VIP", 100, 24)

    assert result.outside_vips == 1
    vips = await runtime.vip.list_vips(OTHER_GUILD)
    assert [(g.platform_user_id, g.source) for g in vips] == [("6000", "outside")]


async def test_a_rule_of_the_other_server_grants_when_the_first_holds_nothing(
    runtime, twitch, clock
):
    await add_bits_rule(runtime, OTHER_GUILD, 48)
    await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 1)
    clock.advance(hours=2)
    await expire(runtime)  # the first server's grant is over: nobody holds the VIP

    await cheer(runtime, (GUILD, OTHER_GUILD))

    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    [grant] = await runtime.vip.list_vips(OTHER_GUILD)
    assert grant.source == "rule"
    assert [m.message for m in twitch.chat_messages][-1].startswith("Viewer is a VIP until")
    assert await runtime.vip.list_vips(GUILD) == []


async def test_bad_input_in_the_other_server_is_refused_before_anything(runtime, twitch):
    await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 24)

    with pytest.raises(VipRefused, match="Twitch knows no user"):
        await runtime.vip.manual.grant(OTHER_GUILD, ADMIN, "nobody_here", 24)
    with pytest.raises(VipRefused, match="Hours go from 1"):
        await runtime.vip.manual.grant(OTHER_GUILD, ADMIN, "viewer", 0)
    with pytest.raises(VipRefused, match="is not a VIP StreamKeeper knows of"):
        await runtime.vip.manual.extend(OTHER_GUILD, ADMIN, "nobody_here", 24)
    assert await runtime.vip.list_vips(OTHER_GUILD) == []
    assert changes(twitch, "addition") == 1


async def test_a_grant_landing_while_the_other_server_adds_is_not_told_twice(runtime, twitch):
    """The first server grants between the other server's decision and its add: Twitch's
    "already a VIP" there is the first server's grant, neither refused in chat nor recorded."""
    await add_bits_rule(runtime, OTHER_GUILD, 48)
    effects = runtime.vip.effects
    add_vip = effects.add_vip

    async def add_just_after_the_first_server(guild_id: int, broadcaster_id: str, user_id: str):
        if guild_id == OTHER_GUILD:
            await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 24)
        await add_vip(guild_id, broadcaster_id, user_id)

    effects.add_vip = add_just_after_the_first_server  # type: ignore[method-assign]
    await cheer(runtime, (OTHER_GUILD,))

    assert twitch.chat_messages == []
    assert await runtime.vip.list_vips(OTHER_GUILD) == []
    assert await runtime.vip.log(OTHER_GUILD) == []
    assert [g.source for g in await runtime.vip.list_vips(GUILD)] == ["manual"]
