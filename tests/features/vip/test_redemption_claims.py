"""A VIP redemption being asked of Twitch is held by the asking process for as long as it lives
(its heartbeat lease, core/ownership/claims.py), not for a fixed two minutes: a killed process's
redemption is taken over as soon as its heartbeat runs out, and Twitch's "already a VIP" for the
Add VIP the dead process made is taken as that add, so the takeover writes the grant."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from core.events import VipAdded, system_clock
from core.features.vip.redemptions import LEASE, RedemptionInFlight, VipRedemptions
from core.features.vip.redemptions_repository import ADDING, claim_redemption
from core.ownership import claims
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import GUILD, make_discord_calls, redemption
from tests.features.vip.test_expiry import vip_event
from tests.features.vip.test_redemptions import actions
from tests.outbox.test_claims import beating, end_heartbeat


async def claimed_by(vip: Vip, name: str, event) -> None:  # type: ignore[no-untyped-def]
    """The process ``name`` claimed the redemption (and may have asked Twitch), then died."""
    now = vip.clock()
    stored = await vip.service.effects.in_transaction(
        lambda conn: claim_redemption(
            conn,
            GUILD,
            event.platform,
            event.event_id,
            now,
            now + claims.SAFETY_NET,
            holder=name,
            alive_at=system_clock(),
        )
    )
    assert stored is None  # a new one


def taking_over(vip: Vip, name: str) -> VipRedemptions:
    return VipRedemptions(vip.service.effects, name)


async def test_a_living_processs_redemption_is_not_taken_even_after_the_old_lease(
    vip: Vip, engine: Engine
) -> None:
    event = redemption("42", vip.reward_id)
    beating(engine, "asking")
    await claimed_by(vip, "asking", event)
    beating(engine, "other")
    vip.clock.advance(LEASE * 2)  # Twitch has hung for minutes: the asker still lives

    with pytest.raises(RedemptionInFlight):
        await taking_over(vip, "other").handle(GUILD, event)
    assert vip.twitch.vips == set()


async def test_a_dead_processs_add_is_taken_over_and_twitchs_already_vip_writes_the_grant(
    vip: Vip, engine: Engine
) -> None:
    event = redemption("42", vip.reward_id, username="Alice")
    beating(engine, "dead")
    await claimed_by(vip, "dead", event)
    await vip.service.effects.add_vip(GUILD, event.broadcaster_user_id, "42")  # it reached Twitch
    beating(engine, "living")

    end_heartbeat(engine, "dead")  # no clock moved: only its heartbeat ended
    await taking_over(vip, "living").handle(GUILD, event)

    assert [a for a, _, _ in await actions(vip)] == ["granted"]
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.platform_user_id, grant.source) == ("42", "redemption")
    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}
    await taking_over(vip, "living").handle(GUILD, event)  # delivered again: nothing more
    await make_discord_calls(vip.service)
    assert len(vip.notices.posts) == 1


async def test_a_redemption_held_without_a_process_keeps_its_fixed_lease(vip: Vip) -> None:
    """A delivery with no heartbeat behind it (a tool) holds the redemption ``LEASE`` long."""
    event = redemption("42", vip.reward_id)
    now = vip.clock()
    await vip.service.effects.in_transaction(
        lambda conn: claim_redemption(conn, GUILD, event.platform, event.event_id, now, now + LEASE)
    )
    with pytest.raises(RedemptionInFlight):
        await vip.service.redemptions.handle(GUILD, event)
    vip.clock.advance(LEASE)
    await vip.service.redemptions.handle(GUILD, event)
    assert [a for a, _, _ in await actions(vip)] == ["granted"]


async def test_the_taking_process_stamps_its_name(vip: Vip, engine: Engine) -> None:
    event = redemption("42", vip.reward_id)
    beating(engine, "dead")
    await claimed_by(vip, "dead", event)
    end_heartbeat(engine, "dead")
    now = vip.clock()
    stored = await vip.service.effects.in_transaction(
        lambda conn: claim_redemption(
            conn,
            GUILD,
            event.platform,
            event.event_id,
            now,
            now + claims.SAFETY_NET,
            holder="living",
            alive_at=system_clock(),
        )
    )
    assert stored == (ADDING, None)
    beating(engine, "living")
    with pytest.raises(RedemptionInFlight):  # now held by "living", which beats
        await taking_over(vip, "third").handle(GUILD, event)


async def test_a_dead_processs_add_whose_vip_added_came_first_is_granted_not_refunded(
    vip: Vip, engine: Engine
) -> None:
    """Twitch's "VIP added" for the dead process's add arrives before the takeover: it is that
    add, so the viewer gets the VIP for its hours, not their points back and a VIP for good."""
    event = redemption("42", vip.reward_id, username="Alice")
    beating(engine, "dead")
    await claimed_by(vip, "dead", event)
    await vip.service.effects.add_vip(GUILD, event.broadcaster_user_id, "42")  # it reached Twitch
    await vip.service.expiry.handle_vip_added(
        GUILD, vip_event(VipAdded, "42", "Alice", vip.clock())
    )
    beating(engine, "living")

    end_heartbeat(engine, "dead")
    await taking_over(vip, "living").handle(GUILD, event)

    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.platform_user_id, grant.source) == ("42", "redemption")
    assert grant.expires_at is not None
