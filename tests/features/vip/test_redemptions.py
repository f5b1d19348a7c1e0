"""A redemption of the VIP reward: grant, extend, or refuse and refund, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.features.vip.ports import PendingRedemption, Refusal, TwitchBusy, TwitchRefused
from core.features.vip.redemptions import LEASE, RedemptionInFlight
from core.features.vip.redemptions_repository import claim_redemption, redemption_state
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import (
    BROADCASTER,
    GUILD,
    T0,
    make_discord_calls,
    make_helix_calls,
    redemption,
)


async def actions(vip: Vip) -> list[tuple[str, str, str | None]]:
    log = await vip.service.log(GUILD, limit=100)
    return [(e.action, e.platform_user_id, e.redemption_id) for e in reversed(log)]


async def test_a_redemption_grants_vip_fulfills_and_posts_notices(vip: Vip) -> None:
    event = redemption("42", vip.reward_id, username="Alice", cost=500)

    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.vips == {"42"}
    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.username, grant.source, grant.expires_at) == (
        "Alice",
        "redemption",
        T0 + timedelta(hours=24),
    )
    assert vip.twitch.chat == ["Alice is a VIP until 2026-03-02 12:00 UTC."]
    await make_discord_calls(vip.service)
    assert vip.notices.posts == [(GUILD, 5001, "Alice is a VIP until 2026-03-02 12:00 UTC.")]
    [entry] = await vip.service.log(GUILD)
    assert (entry.action, entry.actor_kind, entry.redemption_id, entry.reward_cost) == (
        "granted",
        "viewer",
        event.event_id,
        500,
    )
    assert entry.new_expires_at == T0 + timedelta(hours=24)


@pytest.mark.parametrize(
    ("arrange", "viewer", "reason"),
    [
        (lambda t: t.moderators.add("42"), "42", "moderators cannot be VIPs"),
        (lambda t: t.vips.add("42"), "42", "you are already a permanent VIP"),
        (lambda t: setattr(t, "slots", 0), "42", "the channel has no free VIP slots"),
        (lambda t: setattr(t, "has_community", False), "42", "Build a Community"),
        (lambda t: t.banned.add("42"), "42", "you are banned from the channel"),
        (lambda t: None, BROADCASTER, "the broadcaster cannot be a VIP"),
        (lambda t: t.gone.add("42"), "42", "Twitch does not know that account"),
    ],
    ids=[
        "moderator",
        "permanent-vip",
        "no-slots-409",
        "no-community-425",
        "banned",
        "self",
        "account-gone-404",
    ],
)
async def test_a_grant_that_cannot_happen_is_canceled_with_the_reason(
    vip: Vip, arrange, viewer: str, reason: str
) -> None:
    arrange(vip.twitch)
    vips_before = set(vip.twitch.vips)
    event = redemption(viewer, vip.reward_id, username="Bob")

    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses == {event.event_id: "CANCELED"}
    assert vip.twitch.vips == vips_before
    assert len(vip.twitch.chat) == 1
    assert vip.twitch.chat[0].startswith("@Bob no VIP this time: ")
    assert reason in vip.twitch.chat[0]
    assert vip.twitch.chat[0].endswith("Your points were refunded.")
    assert [a for a, _, _ in await actions(vip)][-2:] == ["refused", "refunded"]
    log = await vip.service.log(GUILD, limit=2)
    assert all(reason in (entry.reason or "") for entry in log)


@pytest.mark.parametrize("refusal", [Refusal.NOT_FOUND, Refusal.INVALID], ids=["404", "400"])
async def test_a_refusal_twitch_had_settled_already_is_never_called_refunded(
    vip: Vip, refusal: Refusal
) -> None:
    vip.twitch.moderators.add("42")
    event = redemption("42", vip.reward_id, username="Bob")
    # A moderator fulfilled it in Twitch's reward queue first: it is no longer UNFULFILLED,
    # which Twitch answers with 404 (documented) or 400 (twitch-cli's mock).
    vip.twitch.statuses[event.event_id] = "FULFILLED"
    real = vip.twitch.set_redemption_status

    async def settled(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        try:
            await real(*args, **kwargs)
        except TwitchRefused:
            raise TwitchRefused(refusal, "no longer UNFULFILLED") from None

    vip.twitch.set_redemption_status = settled  # type: ignore[method-assign]

    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses[event.event_id] == "FULFILLED"
    [said] = vip.twitch.chat
    assert said.startswith("@Bob no VIP this time: ")
    assert "refunded" not in said
    assert "refunded" not in [a for a, _, _ in await actions(vip)]


async def test_our_cap_of_concurrent_vips_refuses_before_asking_twitch(vip: Vip) -> None:
    await vip.service.update_settings(GUILD, max_concurrent=2)
    events = [redemption(str(n), vip.reward_id) for n in (1, 2, 3)]
    for event in events:
        await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.vips == {"1", "2"}
    assert [c[1] for c in vip.twitch.changes] == ["1", "2"]
    assert vip.twitch.statuses[events[2].event_id] == "CANCELED"
    assert "most temporary VIPs at once" in vip.twitch.chat[-1]


async def test_a_second_redemption_extends_up_to_the_cap(vip: Vip) -> None:
    await vip.service.update_settings(GUILD, max_hours=60)
    first, second, third = (redemption("42", vip.reward_id) for _ in range(3))

    await vip.service.redemptions.handle(GUILD, first)
    vip.clock.advance(hours=1)
    await vip.service.redemptions.handle(GUILD, second)
    await vip.service.redemptions.handle(GUILD, third)  # 71 h from now > 60 h

    [grant] = await vip.service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=48)
    assert vip.twitch.statuses == {
        first.event_id: "FULFILLED",
        second.event_id: "FULFILLED",
        third.event_id: "CANCELED",
    }
    assert [c[0] for c in vip.twitch.changes] == ["add"]  # an extension asks Twitch nothing
    assert [a for a, _, _ in await actions(vip)] == [
        "granted",
        "extended",
        "refused",
        "refunded",
    ]


async def test_without_stacking_a_current_vip_is_refunded(vip: Vip) -> None:
    await vip.service.update_settings(GUILD, is_stacking=False)
    first, second = redemption("42", vip.reward_id), redemption("42", vip.reward_id)
    await vip.service.redemptions.handle(GUILD, first)
    await vip.service.redemptions.handle(GUILD, second)

    assert vip.twitch.statuses[second.event_id] == "CANCELED"
    assert "does not stack" in vip.twitch.chat[-1]


async def test_a_redelivered_redemption_is_processed_once(vip: Vip) -> None:
    event = redemption("42", vip.reward_id)
    for _ in range(3):
        await vip.service.redemptions.handle(GUILD, event)

    assert len(vip.twitch.changes) == 1
    assert len(vip.twitch.chat) == 1
    assert [a for a, _, _ in await actions(vip)] == ["granted"]
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=24)


async def test_a_retry_after_twitch_added_the_vip_but_we_stopped_grants_once(vip: Vip) -> None:
    """The first try reached Twitch and then failed before storing anything (no answer): the
    retry's "already a VIP" is our own grant, not a permanent VIP."""
    event = redemption("42", vip.reward_id)
    original = vip.twitch.set_redemption_status

    async def unreachable(*args, **kwargs):
        raise TwitchBusy("no answer")

    vip.twitch.set_redemption_status = unreachable  # type: ignore[method-assign]
    with pytest.raises(TwitchBusy):
        await vip.service.redemptions.handle(GUILD, event)
    vip.twitch.set_redemption_status = original  # type: ignore[method-assign]
    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}
    assert [a for a, _, _ in await actions(vip)] == ["granted"]
    assert len(vip.twitch.chat) == 1


async def test_a_lost_answer_to_add_vip_is_retried_by_the_bus_and_granted(vip: Vip) -> None:
    event = redemption("42", vip.reward_id)
    vip.twitch.vips.add("42")  # Twitch did add it; the answer was lost
    vip.twitch.busy.append(TwitchBusy("no answer"))
    with pytest.raises(TwitchBusy):
        await vip.service.redemptions.handle(GUILD, event)

    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.source == "redemption"


async def test_another_reward_is_ignored(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("42", "some-other-reward"))
    assert vip.twitch.changes == []
    assert vip.twitch.statuses == {}


async def test_a_burst_twitch_rate_limits_is_waited_out_never_dropped(vip: Vip) -> None:
    """Twitch's window is kept by the Helix transport (tests/ratelimits/,
    tests/platforms/twitch/test_helix_windows.py); a 429 that still comes back here is waited
    out as Twitch asks, and every redemption is granted."""
    await vip.service.update_settings(GUILD, is_chat_notices=False)
    vip.twitch.slots = 100
    events = [redemption(str(1000 + n), vip.reward_id) for n in range(25)]

    for event in events:
        await vip.service.redemptions.handle(GUILD, event)

    assert len(vip.twitch.vips) == 25
    assert set(vip.twitch.statuses.values()) == {"FULFILLED"}
    times = [when for kind, _, when in vip.twitch.changes if kind == "add"]
    assert len(times) == 25
    assert vip.twitch.rate_limited > 0  # the fake refused the 11th ...
    assert 10.0 in vip.sleeps  # ... and it waited what Twitch asked instead of failing


async def test_a_rate_limit_twitch_still_answers_is_waited_out(vip: Vip) -> None:
    vip.twitch.busy.append(TwitchBusy("429", retry_after=3.0))
    event = redemption("42", vip.reward_id)

    await vip.service.redemptions.handle(GUILD, event)

    assert vip.sleeps == [3.0]
    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}


async def test_two_concurrent_deliveries_of_one_redemption_grant_once(vip: Vip) -> None:
    """A redelivery (or the start-up drain) while the first delivery still waits on Twitch
    waits its turn (NotReady: the bus tries it later), then finds the redemption done."""
    event = redemption("42", vip.reward_id)
    release = asyncio.Event()
    original = vip.twitch.add_vip

    async def slow_add(*args) -> None:
        await release.wait()
        await original(*args)

    vip.twitch.add_vip = slow_add  # type: ignore[method-assign]
    first = asyncio.create_task(vip.service.redemptions.handle(GUILD, event))
    for _ in range(500):  # until the first delivery holds the redemption, waiting on Twitch
        claimed = await vip.service.effects.in_transaction(
            lambda conn: (
                redemption_state(conn, GUILD, event.platform, event.event_id)
                if conn.execute(sa.text("SELECT 1 FROM vip_redemptions")).first()
                else None
            )
        )
        if claimed is not None:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(RedemptionInFlight):
        await vip.service.redemptions.handle(GUILD, event)
    release.set()
    await first
    await vip.service.redemptions.handle(GUILD, event)  # the bus's later try

    assert [a for a, _, _ in await actions(vip)] == ["granted"]
    assert len(await vip.service.list_vips(GUILD)) == 1
    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}
    assert len(vip.twitch.chat) == 1
    await make_discord_calls(vip.service)
    assert len(vip.notices.posts) == 1


async def test_a_delivery_that_stopped_mid_way_is_taken_over_after_its_lease(vip: Vip) -> None:
    event = redemption("42", vip.reward_id)
    now = vip.clock()
    await vip.service.effects.in_transaction(  # a process that claimed it, then died
        lambda conn: claim_redemption(conn, GUILD, event.platform, event.event_id, now, now + LEASE)
    )
    with pytest.raises(RedemptionInFlight):
        await vip.service.redemptions.handle(GUILD, event)
    vip.clock.advance(LEASE)

    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses == {event.event_id: "FULFILLED"}
    assert [a for a, _, _ in await actions(vip)] == ["granted"]


async def test_redemptions_made_while_away_are_handled_once_at_start(vip: Vip) -> None:
    vip.twitch.moderators.add("5")
    vip.twitch.pending = [
        PendingRedemption("missed-1", "41", "Early"),
        PendingRedemption("missed-2", "5", "Mod"),
    ]

    assert await vip.service.drain_missed() == 2  # queued, as their webhooks would be
    assert vip.twitch.statuses == {}
    await make_helix_calls(vip.service)
    await vip.service.redemptions.handle(  # a webhook copy, late: nothing more
        GUILD, redemption("41", vip.reward_id, redemption_id="missed-1")
    )
    assert await vip.service.drain_missed() == 0

    assert vip.twitch.statuses == {"missed-1": "FULFILLED", "missed-2": "CANCELED"}
    assert vip.twitch.vips == {"41"}
    assert [a for a, _, _ in await actions(vip)] == ["granted", "refused", "refunded"]


async def test_reading_missed_redemptions_while_not_connected_is_quiet(vip: Vip) -> None:
    vip.twitch.is_connected = False
    assert await vip.service.drain_missed() == 0


async def test_a_try_that_never_reached_twitch_does_not_claim_a_later_vip(vip: Vip) -> None:
    """Not connected the first time; by the retry a moderator made the viewer VIP by hand:
    that VIP is theirs (refunded, tracked as outside), not a grant StreamKeeper would remove."""
    event = redemption("42", vip.reward_id)
    vip.twitch.is_connected = False
    await vip.service.redemptions.handle(GUILD, event)
    vip.twitch.is_connected = True
    vip.twitch.vips.add("42")

    await vip.service.redemptions.handle(GUILD, event)

    assert vip.twitch.statuses == {event.event_id: "CANCELED"}
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.source == "outside"
