"""A redemption that meets a Twitch connection needing re-authorization waits without asking
Twitch, and is decided when it is handled again after the streamer connected: as a new one,
or, when an earlier attempt may have reached Twitch before it waited, with Twitch's "already a
VIP" taken as that attempt's add (the grant is written, nothing refunded)."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import timedelta

import pytest

from core.events import Platform, RewardRedeemed, VipAdded
from core.features.vip.cancels import (
    ACCEPTED_OUTCOME,
    CANCELED_AFTER,
    CANCELED_BEFORE,
    CANCELED_OUTCOME,
)
from core.features.vip.ports import PendingRedemption, Refusal, TwitchRefused
from core.features.vip.reconnection import REWARD_DELETED, SETTLED_WHILE_WAITING
from core.features.vip.redemptions import LEASE, RedemptionInFlight
from core.features.vip.redemptions_repository import (
    ADDING,
    DONE,
    WAITING,
    claim_redemption,
    end_lease,
    redemption_state,
)
from core.features.vip.rules import RuleAsked
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import GUILD, expire, make_helix_calls, redemption
from tests.features.vip.test_expiry import vip_event
from tests.features.vip.test_redemptions import actions


def mark(vip: Vip, is_marked: bool) -> None:
    vip.service.effects.needs_reauthorization = lambda _guild_id: is_marked


async def state_of(vip: Vip, event) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    return await vip.service.effects.in_transaction(
        lambda conn: redemption_state(conn, GUILD, event.platform, event.event_id)
    )


async def an_earlier_attempt(vip: Vip, event: RewardRedeemed, *, has_added: bool) -> None:
    """An attempt claimed the redemption and sent Add VIP (which Twitch made, or not), then its
    process stopped."""
    now = vip.clock()

    def earlier_attempt(conn) -> None:  # type: ignore[no-untyped-def]
        claim_redemption(conn, GUILD, event.platform, event.event_id, now, now + LEASE)
        end_lease(conn, GUILD, event.platform, event.event_id)

    await vip.service.effects.in_transaction(earlier_attempt)
    if has_added:
        vip.twitch.vips.add("42")


async def test_a_new_redemption_waits_and_is_then_decided_as_new(vip: Vip) -> None:
    event = redemption("42", vip.reward_id)
    vip.twitch.vips.add("42")  # a permanent VIP someone else made
    mark(vip, True)

    await vip.service.redemptions.handle(GUILD, event)

    assert (await state_of(vip, event))[0] == WAITING
    assert vip.twitch.statuses == {}  # Twitch was not asked
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 1

    mark(vip, False)
    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses[event.event_id] == "CANCELED"  # refused: already a VIP
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 0


async def test_an_attempt_that_may_have_reached_twitch_keeps_that_after_waiting(vip: Vip) -> None:
    event = redemption("42", vip.reward_id)
    await an_earlier_attempt(vip, event, has_added=True)
    assert (await state_of(vip, event))[0] == ADDING
    mark(vip, True)

    await vip.service.redemptions.handle(GUILD, event)
    assert (await state_of(vip, event))[0] == WAITING

    mark(vip, False)
    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses[event.event_id] == "FULFILLED"
    assert [a[0] for a in await actions(vip)] == ["granted"]


async def test_one_settled_in_the_reward_queue_while_waiting_is_closed_by_the_next_read(
    vip: Vip,
) -> None:
    """A moderator rejected it on Twitch meanwhile: Twitch no longer lists it, so the read
    after the streamer connects closes it without a call, and nothing waits any more."""
    waiting = redemption("41", vip.reward_id, redemption_id="r-waiting")
    listed = redemption("42", vip.reward_id, redemption_id="r-listed")
    mark(vip, True)
    for event in (waiting, listed):
        await vip.service.redemptions.handle(GUILD, event)
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 2
    vip.twitch.pending = [PendingRedemption("r-listed", "42", "viewer42")]
    mark(vip, False)

    assert await vip.service.drain_missed() == 1
    await make_helix_calls(vip.service)

    assert await state_of(vip, waiting) == (DONE, SETTLED_WHILE_WAITING)
    assert vip.twitch.statuses == {"r-listed": "FULFILLED"}
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 0


async def test_a_reward_deleted_on_twitch_keeps_no_other_reward_from_being_read(
    vip: Vip,
) -> None:
    """The streamer deleted the week reward on twitch.tv; its rule is still here, so Twitch
    answers 404 for its redemptions. The day reward's redemptions made while away are read
    and granted all the same, and a waiting one of the day reward Twitch did not list is
    closed as settled there (its reward is kept with it: it is not the deleted reward's)."""
    vip.service.rules.granted_scopes = lambda guild_id: ("channel:read:redemptions",)
    week = await vip.service.rules.add(
        GUILD, RuleAsked(Platform.TWITCH, "reward", 168, title="VIP 1 week", cost=25_000)
    )
    waiting = redemption("41", vip.reward_id, redemption_id="r-waiting")
    mark(vip, True)
    await vip.service.redemptions.handle(GUILD, waiting)
    del vip.twitch.rewards[week.reward_id]  # deleted on twitch.tv
    vip.twitch.pending = [PendingRedemption("r-missed", "42", "viewer42")]
    mark(vip, False)

    assert await vip.service.drain_missed() == 1
    await make_helix_calls(vip.service)

    assert vip.twitch.statuses == {"r-missed": "FULFILLED"}
    assert "42" in vip.twitch.vips
    assert await state_of(vip, waiting) == (DONE, SETTLED_WHILE_WAITING)
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 0


async def test_a_waiting_redemption_of_a_reward_deleted_on_twitch_is_closed_as_refused_once(
    vip: Vip,
) -> None:
    """It waited for the streamer; meanwhile the streamer deleted its reward on twitch.tv, so
    Twitch answers 404 for the reward and its redemptions (it marked them fulfilled: the points
    cannot be refunded). The read after the streamer connects closes it as refused, with the
    reason in the audit log, and no longer counts it as waiting; the next reads (every 10
    minutes) neither ask Twitch about it nor log it again. Another reward's waiting one that
    Twitch still lists is granted as usual."""
    vip.service.rules.granted_scopes = lambda guild_id: ("channel:read:redemptions",)
    week = await vip.service.rules.add(
        GUILD, RuleAsked(Platform.TWITCH, "reward", 168, title="VIP 1 week", cost=25_000)
    )
    assert week.reward_id is not None
    gone = redemption("41", week.reward_id, redemption_id="r-gone", username="Ana")
    kept = redemption("42", vip.reward_id, redemption_id="r-kept")
    mark(vip, True)
    for event in (gone, kept):
        await vip.service.redemptions.handle(GUILD, event)
    del vip.twitch.rewards[week.reward_id]  # deleted on twitch.tv
    vip.twitch.pending = [PendingRedemption("r-kept", "42", "viewer42")]
    mark(vip, False)

    for _ in range(2):  # the catch-up, then the 10-minute read
        await vip.service.drain_missed()
        await make_helix_calls(vip.service)
        vip.clock.advance(minutes=10)

    assert await state_of(vip, gone) == (DONE, REWARD_DELETED)
    assert vip.twitch.statuses == {"r-kept": "FULFILLED"}  # nothing asked about r-gone
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 0
    [refusal] = [e for e in await vip.service.log(GUILD, limit=100) if e.action == "refused"]
    assert (refusal.platform_user_id, refusal.username, refusal.redemption_id) == (
        "41",
        "Ana",
        "r-gone",
    )
    assert refusal.reason == REWARD_DELETED
    assert "41" not in vip.twitch.vips


async def test_a_redemption_that_met_a_revoked_token_is_settled_after_reconnecting(
    vip: Vip,
) -> None:
    """The streamer revoked StreamKeeper on Twitch. The first redemption after that is the call
    that finds out: the token refresh is refused, the connection is marked, Add VIP says "not
    connected". It waits like the ones after it, and once the streamer connects again it is
    granted (not left UNFULFILLED in the reward queue with the viewer's points)."""
    event = redemption("42", vip.reward_id, redemption_id="r-revoked", username="Ana")
    real_add = vip.twitch.add_vip

    async def refresh_refused(guild_id, broadcaster_id, user_id):  # type: ignore[no-untyped-def]
        vip.twitch.add_vip = real_add  # type: ignore[method-assign]
        mark(vip, True)  # the refused refresh marks the connection
        raise TwitchRefused(Refusal.NOT_CONNECTED, "Twitch is not connected")

    vip.twitch.add_vip = refresh_refused  # type: ignore[method-assign]
    await vip.service.queued.handle(GUILD, event)
    await make_helix_calls(vip.service)

    waiting = (await vip.service.reconnection.counts(GUILD)).waiting
    assert waiting == 1, "the redemption was forgotten instead of waiting for the streamer"
    assert await state_of(vip, event) == (WAITING, None)

    # The streamer connects again: the catch-up reads the reward's UNFULFILLED redemptions.
    mark(vip, False)
    vip.twitch.pending = [PendingRedemption("r-revoked", "42", "Ana")]
    await vip.service.drain_missed()
    await make_helix_calls(vip.service)

    assert vip.twitch.statuses == {"r-revoked": "FULFILLED"}, "the viewer's points are stuck"
    assert "42" in vip.twitch.vips
    assert [a[0] for a in await actions(vip)] == ["granted"]
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 0


def canceled(event: RewardRedeemed) -> RewardRedeemed:
    """The update Twitch sends when a moderator rejects the redemption in the reward queue."""
    update = f"{event.event_id}:canceled"
    return dataclasses.replace(
        event, event_id=update, redemption_id=event.event_id, status="canceled"
    )


async def refunds(vip: Vip) -> list[str]:
    return [e.reason for e in await vip.service.log(GUILD, limit=100) if e.action == "refunded"]


async def an_attempt_then_waiting(vip: Vip, event: RewardRedeemed, *, has_added: bool) -> None:
    """An attempt claimed the redemption and sent Add VIP (which Twitch made, or not), then its
    process stopped; the streamer's token was revoked meanwhile, so its retry waits."""
    await an_earlier_attempt(vip, event, has_added=has_added)
    mark(vip, True)
    await vip.service.redemptions.handle(GUILD, event)
    assert (await state_of(vip, event))[0] == WAITING


async def test_a_cancel_of_a_redemption_that_may_have_added_the_vip_waits_then_keeps_it_expiring(
    vip: Vip,
) -> None:
    """A moderator rejects, in Twitch's reward queue, a redemption that waits for the streamer
    after an attempt that reached Twitch. The update waits too (Twitch cannot be asked whether
    the VIP was added), leaving the redemption waiting; once the streamer connected and the
    catch-up closed it, the update's next delivery finds the VIP on Twitch and records it as the
    redemption's grant, which expires (not a VIP left for good), with the refund in the log."""
    event = redemption("42", vip.reward_id, redemption_id="r1")
    await an_attempt_then_waiting(vip, event, has_added=True)

    with pytest.raises(RedemptionInFlight):  # the bus delivers it again later
        await vip.service.queued.handle(GUILD, canceled(event))
    stored = await state_of(vip, event)
    assert stored == (WAITING, "was_adding"), f"the cancel took it out of waiting: {stored}"
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 1

    # The streamer connects again; the catch-up reads the reward queue (it is no longer there).
    mark(vip, False)
    await vip.service.drain_missed()
    await make_helix_calls(vip.service)
    vip.clock.advance(minutes=10)

    try:
        await vip.service.queued.handle(GUILD, canceled(event))
    except RedemptionInFlight:
        pytest.fail(f"the cancel is 'in flight' for ever (state {await state_of(vip, event)})")
    await vip.service.queued.handle(GUILD, canceled(event))  # delivered once more: no change

    assert await state_of(vip, event) == (DONE, CANCELED_OUTCOME)
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.platform_user_id, grant.expires_at) == ("42", vip.clock() + timedelta(hours=24))
    assert [a[0] for a in await actions(vip)] == ["granted", "refunded"]
    assert await refunds(vip) == [CANCELED_AFTER]
    assert vip.twitch.statuses == {}  # nothing asked of the redemption: it is settled

    vip.clock.advance(hours=25)
    await expire(vip.service)
    assert "42" not in vip.twitch.vips
    assert await vip.service.list_vips(GUILD) == []


def accepted(event: RewardRedeemed) -> RewardRedeemed:
    """The update Twitch sends when a moderator accepts the redemption in the reward queue."""
    update = f"{event.event_id}:fulfilled"
    return dataclasses.replace(
        event, event_id=update, redemption_id=event.event_id, status="fulfilled"
    )


@pytest.mark.parametrize("has_added", [True, False], ids=["vip-added", "nothing-added"])
async def test_an_accept_of_a_redemption_that_may_have_added_the_vip_keeps_it_expiring(
    vip: Vip, has_added: bool
) -> None:
    """A moderator accepts, in Twitch's reward queue, a redemption that waits for the streamer
    after an attempt that may have reached Twitch. Once the streamer connected and the catch-up
    closed it, the update finds out on Twitch: a VIP that attempt added gets the redemption's
    grant, which expires (it was left a VIP for good); no VIP there, no grant."""
    event = redemption("42", vip.reward_id, redemption_id="r1")
    await an_attempt_then_waiting(vip, event, has_added=has_added)

    with pytest.raises(RedemptionInFlight):  # Twitch cannot be asked yet: delivered again later
        await vip.service.queued.handle(GUILD, accepted(event))
    assert await state_of(vip, event) == (WAITING, "was_adding")

    mark(vip, False)
    await vip.service.drain_missed()  # no longer UNFULFILLED: closed by the catch-up
    await make_helix_calls(vip.service)
    await vip.service.queued.handle(GUILD, accepted(event))
    await vip.service.queued.handle(GUILD, accepted(event))  # delivered once more: no change

    assert await state_of(vip, event) == (DONE, ACCEPTED_OUTCOME)
    assert vip.twitch.statuses == {}  # nothing asked of the redemption: it is settled
    assert await refunds(vip) == []
    if not has_added:
        assert await vip.service.list_vips(GUILD) == []
        assert await actions(vip) == []
        return
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.platform_user_id, grant.expires_at) == ("42", vip.clock() + timedelta(hours=24))
    assert [a[0] for a in await actions(vip)] == ["granted"]
    vip.clock.advance(hours=25)
    await expire(vip.service)
    assert "42" not in vip.twitch.vips, "a temporary reward left a VIP for good"


async def test_a_cancel_of_a_redemption_whose_attempt_added_nothing_grants_nothing(
    vip: Vip,
) -> None:
    """The same, delivered after the streamer connected but before the catch-up ran, and the
    earlier attempt never reached Twitch: Get VIPs does not list the viewer, so no grant."""
    event = redemption("42", vip.reward_id, redemption_id="r1")
    await an_attempt_then_waiting(vip, event, has_added=False)
    mark(vip, False)

    try:
        await vip.service.queued.handle(GUILD, canceled(event))
    except RedemptionInFlight:
        pytest.fail(f"the cancel is 'in flight' for ever (state {await state_of(vip, event)})")

    assert await state_of(vip, event) == (DONE, CANCELED_OUTCOME)
    assert await vip.service.list_vips(GUILD) == []
    assert await refunds(vip) == [CANCELED_BEFORE]
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 0


async def test_a_cancel_of_a_waiting_redemption_twitch_never_saw_closes_it_at_once(
    vip: Vip,
) -> None:
    """Twitch was never asked about it: the cancel closes it while the streamer is away (no
    VIP can follow), logs the refund, and it no longer counts as waiting."""
    event = redemption("42", vip.reward_id, redemption_id="r1")
    mark(vip, True)
    await vip.service.redemptions.handle(GUILD, event)

    await vip.service.queued.handle(GUILD, canceled(event))

    assert await state_of(vip, event) == (DONE, CANCELED_OUTCOME)
    assert await refunds(vip) == [CANCELED_BEFORE]
    assert (await vip.service.reconnection.counts(GUILD)).waiting == 0
    mark(vip, False)
    await vip.service.redemptions.handle(GUILD, event)  # its add delivered again: nothing
    assert vip.twitch.vips == set()
    assert vip.twitch.statuses == {}


async def test_a_cancel_after_an_add_whose_vip_added_came_first_keeps_the_vip_expiring(
    vip: Vip,
) -> None:
    """As above, but Twitch's "VIP added" for that attempt's add arrived before its retry: it
    is that add (not a VIP given by hand), so the refunded redemption's VIP still expires."""
    event = redemption("42", vip.reward_id, redemption_id="r1", username="Alice")
    now = vip.clock()
    await an_earlier_attempt(vip, event, has_added=True)
    await vip.service.expiry.handle_vip_added(GUILD, vip_event(VipAdded, "42", "Alice", now))
    mark(vip, True)
    await vip.service.redemptions.handle(GUILD, event)
    mark(vip, False)
    await vip.service.drain_missed()
    await make_helix_calls(vip.service)
    with contextlib.suppress(RedemptionInFlight):
        await vip.service.queued.handle(GUILD, canceled(event))

    [grant] = await vip.service.list_vips(GUILD)
    assert grant.expires_at is not None, "a refunded redemption left a VIP for good"
    vip.clock.advance(hours=25)
    await expire(vip.service)
    assert "42" not in vip.twitch.vips
