"""One redemption, one outcome, whatever brings it: EventSub's add (whose event id adds the
status), the start-up read of missed redemptions, and its status updates (fulfilled by us,
canceled by a moderator in Twitch's queue)."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import timedelta

from core.events import RewardRedeemed
from core.features.vip.ports import PendingRedemption
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import GUILD, T0, expire, make_helix_calls, redemption

REDEMPTION = "17fa2df1-ad76-4804-bfa5-a40ef63efe63"


def delivered(vip: Vip, status: str = "unfulfilled") -> RewardRedeemed:
    """The redemption as EventSub delivers it (add: unfulfilled; update: fulfilled/canceled)."""
    event = redemption("42", vip.reward_id, username="Alice")
    return dataclasses.replace(
        event, event_id=f"{REDEMPTION}:{status}", redemption_id=REDEMPTION, status=status
    )


async def actions(vip: Vip) -> list[tuple[str, str | None]]:
    log = await vip.service.log(GUILD, limit=100)
    return [(e.action, e.redemption_id) for e in reversed(log)]


async def test_a_webhook_redemption_is_fulfilled_by_its_twitch_id(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, delivered(vip))

    assert vip.twitch.statuses == {REDEMPTION: "FULFILLED"}
    assert await actions(vip) == [("granted", REDEMPTION)]


async def test_the_drain_and_the_webhook_copy_of_one_redemption_grant_once(vip: Vip) -> None:
    """Redeemed while the bot was down: the start-up drain reads it from Twitch, then the
    webhook the web side queued meanwhile is delivered. One grant, one notice."""
    vip.twitch.pending.append(PendingRedemption(REDEMPTION, "42", "Alice", T0))
    await vip.service.drain_missed()
    await make_helix_calls(vip.service)

    await vip.service.redemptions.handle(GUILD, delivered(vip))
    await vip.service.queued.handle(GUILD, delivered(vip))  # its copy through the outbox
    await make_helix_calls(vip.service)

    assert await actions(vip) == [("granted", REDEMPTION)]
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=24)  # granted, not extended
    assert vip.twitch.chat == ["Alice is a VIP until 2026-03-02 12:00 UTC."]


async def test_our_own_fulfilled_update_changes_nothing(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, delivered(vip))

    for _ in range(2):
        await vip.service.redemptions.handle(GUILD, delivered(vip, "fulfilled"))

    assert await actions(vip) == [("granted", REDEMPTION)]
    assert vip.twitch.chat == ["Alice is a VIP until 2026-03-02 12:00 UTC."]


async def test_canceled_by_a_moderator_first_means_no_vip_for_the_refunded_points(
    vip: Vip,
) -> None:
    vip.twitch.statuses[REDEMPTION] = "CANCELED"  # a moderator rejected it in Twitch's queue
    for _ in range(2):  # Twitch may deliver the update twice
        await vip.service.redemptions.handle(GUILD, delivered(vip, "canceled"))

    await vip.service.redemptions.handle(GUILD, delivered(vip))  # its add, delivered late

    assert vip.twitch.vips == set()
    assert await vip.service.list_vips(GUILD) == []
    [entry] = await vip.service.log(GUILD)
    assert (entry.action, entry.actor_kind, entry.redemption_id) == (
        "refunded",
        "system",
        REDEMPTION,
    )
    assert entry.reason == "canceled on Twitch before StreamKeeper handled it"
    assert vip.twitch.chat == []


async def test_a_canceled_update_of_a_redemption_we_refused_adds_nothing(vip: Vip) -> None:
    vip.twitch.slots = 0
    await vip.service.redemptions.handle(GUILD, delivered(vip))

    await vip.service.redemptions.handle(GUILD, delivered(vip, "canceled"))

    assert await actions(vip) == [("refused", REDEMPTION), ("refunded", REDEMPTION)]


async def test_a_redemption_finished_after_its_vip_ended_announces_no_vip(
    vip: Vip, monkeypatch
) -> None:
    """The process died after the grant, before the redemption was marked done; by the time
    its delivery comes again the VIP has expired: no "VIP until never" in chat."""
    real = vip.twitch.set_redemption_status

    async def dies(*args: object) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(vip.twitch, "set_redemption_status", dies)
    with contextlib.suppress(SystemExit):
        await vip.service.redemptions.handle(GUILD, delivered(vip))
    monkeypatch.setattr(vip.twitch, "set_redemption_status", real)
    vip.clock.advance(timedelta(hours=25))
    await expire(vip.service)

    await vip.service.redemptions.handle(GUILD, delivered(vip))  # the bus delivers it again

    assert vip.twitch.statuses == {REDEMPTION: "FULFILLED"}
    assert vip.twitch.vips == set()
    assert vip.twitch.chat == ["Alice is no longer a VIP (the VIP time is over)."]
    assert await actions(vip) == [("granted", REDEMPTION), ("removed", None)]


async def test_canceled_by_a_moderator_after_our_grant_is_audited_once(vip: Vip) -> None:
    """A moderator rejected it in Twitch's queue while our grant was under way: the VIP is given,
    Twitch answers 404 to our FULFILLED, then the canceled update arrives."""
    vip.twitch.statuses[REDEMPTION] = "CANCELED"
    await vip.service.redemptions.handle(GUILD, delivered(vip))
    assert vip.twitch.vips == {"42"}

    for _ in range(2):
        await vip.service.redemptions.handle(GUILD, delivered(vip, "canceled"))

    assert vip.twitch.vips == {"42"}  # the VIP stays until it expires
    assert await actions(vip) == [("granted", REDEMPTION), ("refunded", REDEMPTION)]
    [refund] = await vip.service.log(GUILD, limit=1)
    assert refund.reason == (
        "canceled on Twitch after the VIP was granted; the VIP stays until it expires"
    )
