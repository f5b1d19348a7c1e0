"""Grants by rules other than rewards, on the service with a recording Twitch: the outside VIP,
the cap, stacking, expiry, a resumed add whose first try reached Twitch, a Twitch that did not
answer, a rule removed before its grant was made, a gift told by its channel's running total,
and the events that earn nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.events import Cheered, Platform, Subscribed, SubscriptionsGifted, Viewer, VipAdded
from core.features.vip import redemptions_repository, rule_grants
from core.features.vip.ports import TwitchBusy
from core.features.vip.rule_grants import _claim_key, earning_of
from core.features.vip.rules import RuleAsked
from core.storage.db import transaction
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import (
    BROADCASTER,
    GUILD,
    T0,
    expire,
    make_helix_calls,
    outbox_states,
)
from tests.features.vip.test_expiry import vip_event

SCOPES = ("bits:read", "channel:read:subscriptions")


def cheer(user: str, bits: int, event_id: str | None = None) -> Cheered:
    return Cheered(
        platform=Platform.TWITCH,
        event_id=event_id or f"cheer-{user}-{bits}",
        broadcaster_user_id=BROADCASTER,
        occurred_at=T0,
        viewer=Viewer(user, f"viewer{user}"),
        bits=bits,
    )


def gift(broadcaster: str, gifter: str, count: int, cumulative_total: int) -> SubscriptionsGifted:
    """A ``channel.subscription.gift`` as the parser makes it: keyed by the gifter's running
    total of gifts in that channel."""
    key = f"{gifter}:{cumulative_total}"
    return SubscriptionsGifted(
        platform=Platform.TWITCH,
        event_id=f"gift:{broadcaster}:{key}",
        broadcaster_user_id=broadcaster,
        occurred_at=T0,
        gifter=Viewer(gifter, f"viewer{gifter}"),
        count=count,
        gift_key=key,
        source_type="channel.subscription.gift",
    )


@pytest.fixture
async def ruled(vip: Vip) -> Vip:
    vip.service.rules.granted_scopes = lambda guild_id: SCOPES
    await vip.service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "bits", 10, at_least=100))
    await vip.service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "bits", 30, at_least=1000))
    return vip


async def earn(vip: Vip, event) -> None:  # type: ignore[no-untyped-def]
    await vip.service.rule_grants.handle(GUILD, event)
    await make_helix_calls(vip.service)


async def test_the_highest_bar_reached_grants_and_time_stacks_then_expires(ruled: Vip) -> None:
    await earn(ruled, cheer("42", 1500))
    [grant] = await ruled.service.list_vips(GUILD)
    assert (grant.source, grant.expires_at) == ("rule", T0 + timedelta(hours=30))
    await earn(ruled, cheer("42", 100))
    [grant] = await ruled.service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=40)
    assert ruled.twitch.chat == [
        "viewer42 is a VIP until 2026-03-02 18:00 UTC.",
        "viewer42 is a VIP until 2026-03-03 04:00 UTC.",
    ]
    ruled.clock.advance(hours=41)
    await expire(ruled.service)
    assert ruled.twitch.vips == set()
    assert await ruled.service.list_vips(GUILD) == []


async def test_an_outside_vip_and_the_cap_are_refused_and_logged(ruled: Vip) -> None:
    ruled.twitch.vips.add("7")  # a VIP granted on Twitch by hand
    await earn(ruled, cheer("7", 500))
    await ruled.service.update_settings(GUILD, max_concurrent=1)
    await earn(ruled, cheer("8", 500))
    await earn(ruled, cheer("9", 500))
    log = await ruled.service.log(GUILD, limit=10)
    assert [(e.action, e.platform_user_id) for e in reversed(log)] == [
        ("seen", "7"),  # tracked as an outside VIP from now on
        ("refused", "7"),
        ("granted", "8"),
        ("refused", "9"),
    ]
    assert "already a permanent VIP" in (log[2].reason or "")
    assert "most temporary VIPs at once" in (log[0].reason or "")
    assert all(e.rule_id is not None for e in log if e.action != "seen")
    vips = await ruled.service.list_vips(GUILD)
    assert {(g.platform_user_id, g.source) for g in vips} == {("7", "outside"), ("8", "rule")}


async def test_a_twitch_that_does_not_answer_is_tried_again_and_grants_once(ruled: Vip) -> None:
    ruled.twitch.busy.append(TwitchBusy("502"))
    await earn(ruled, cheer("42", 500))
    assert ruled.twitch.vips == set()  # waiting for its retry
    ruled.clock.advance(minutes=5)
    await make_helix_calls(ruled.service)
    await make_helix_calls(ruled.service)
    assert ruled.twitch.vips == {"42"}
    assert [e.action for e in await ruled.service.log(GUILD)] == ["granted"]


async def test_a_grant_the_worker_gave_up_on_is_retaken_and_grants_once(ruled: Vip) -> None:
    """Twitch did not answer through every attempt: the grant is queued again by the 10-minute
    job (as a missed redemption is read back), granted once, and not queued after that."""
    ruled.twitch.busy.extend(TwitchBusy("502") for _ in range(8))
    await earn(ruled, cheer("42", 500))
    for _ in range(8):
        ruled.clock.advance(minutes=10)
        await make_helix_calls(ruled.service)
    assert [
        state for state, _ in outbox_states(ruled.service.effects.engine, rule_grants.HELIX_KIND)
    ] == ["failed"]
    assert ruled.twitch.vips == set()

    assert await ruled.service.rule_grants.retake_given_up() == 1
    assert await ruled.service.rule_grants.retake_given_up() == 0  # queued already
    await make_helix_calls(ruled.service)
    assert ruled.twitch.vips == {"42"}
    assert [e.action for e in await ruled.service.log(GUILD)] == ["granted"]
    assert await ruled.service.rule_grants.retake_given_up() == 0  # granted: done


async def test_a_grant_given_up_more_than_a_day_ago_is_left_alone(ruled: Vip) -> None:
    ruled.twitch.busy.extend(TwitchBusy("502") for _ in range(8))
    await earn(ruled, cheer("42", 500))
    for _ in range(8):
        ruled.clock.advance(minutes=10)
        await make_helix_calls(ruled.service)
    ruled.clock.advance(days=1)
    assert await ruled.service.rule_grants.retake_given_up() == 0


async def test_an_add_resumed_after_reaching_twitch_is_ours(ruled: Vip) -> None:
    event = cheer("42", 500)
    key = _claim_key("bits", event.key)
    with transaction(ruled.service.effects.engine) as conn:  # a stop after Twitch added it
        redemptions_repository.claim_redemption(conn, GUILD, Platform.TWITCH, key, T0, T0)
    ruled.twitch.vips.add("42")
    await earn(ruled, event)
    [grant] = await ruled.service.list_vips(GUILD)
    assert (grant.platform_user_id, grant.source) == ("42", "rule")


async def test_an_add_resumed_after_its_vip_added_arrived_expires_with_the_rule(
    ruled: Vip,
) -> None:
    """Twitch's "VIP added" for the stopped try's add came before the retry: that VIP is the
    rule's, for its hours, not one given by hand and kept for good."""
    event = cheer("42", 500)
    key = _claim_key("bits", event.key)
    with transaction(ruled.service.effects.engine) as conn:  # a stop after Twitch added it
        redemptions_repository.claim_redemption(conn, GUILD, Platform.TWITCH, key, T0, T0)
    ruled.twitch.vips.add("42")
    await ruled.service.expiry.handle_vip_added(GUILD, vip_event(VipAdded, "42", "viewer42", T0))
    await earn(ruled, event)
    [grant] = await ruled.service.list_vips(GUILD)
    assert (grant.platform_user_id, grant.source) == ("42", "rule")
    assert grant.expires_at == T0 + timedelta(hours=10)


async def test_a_rule_removed_before_its_grant_is_made_grants_nothing(ruled: Vip) -> None:
    await ruled.service.rule_grants.handle(GUILD, cheer("42", 500))
    for rule in await ruled.service.rules.list(GUILD):
        await ruled.service.rules.remove(GUILD, rule.id)
    await make_helix_calls(ruled.service)
    assert ruled.twitch.vips == set()


async def test_a_gift_in_another_channel_with_the_same_running_total_grants(vip: Vip) -> None:
    # The running total counts a gifter's gifts in one channel: a viewer's first gift is "1" in
    # every channel. A server that moved to another Twitch channel gets another gift there.
    vip.service.rules.granted_scopes = lambda guild_id: SCOPES
    await vip.service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "gift", 10, at_least=1))
    await earn(vip, gift(BROADCASTER, "42", 1, cumulative_total=1))
    [grant] = await vip.service.list_vips(GUILD)
    vip.clock.advance(hours=11)
    await expire(vip.service)
    assert await vip.service.list_vips(GUILD) == []
    await earn(vip, gift("5550001", "42", 1, cumulative_total=1))
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.platform_user_id, grant.source) == ("42", "rule")


def test_a_gift_is_granted_once_by_its_channel_and_running_total() -> None:
    first, again = gift(BROADCASTER, "42", 5, 5), gift(BROADCASTER, "42", 5, 5)
    elsewhere = gift("5550001", "42", 5, 5)
    keys = [earning_of(e)[3] for e in (first, again, elsewhere)]  # type: ignore[index]
    assert keys[0] == keys[1] != keys[2]


def test_what_earns_nothing() -> None:
    base = {"platform": Platform.TWITCH, "broadcaster_user_id": "1", "occurred_at": T0}
    viewer = Viewer("42", "v")
    gifted = Subscribed(
        event_id="a", viewer=viewer, is_gift=True, source_type="channel.subscribe", **base
    )
    told_in_chat = Subscribed(
        event_id="b", viewer=viewer, source_type="channel.chat.notification", **base
    )
    anonymous_gift = SubscriptionsGifted(
        event_id="c", gifter=None, count=5, source_type="channel.subscription.gift", **base
    )
    anonymous_cheer = Cheered(event_id="d", viewer=None, bits=5000, **base)
    assert [earning_of(e) for e in (gifted, told_in_chat, anonymous_gift, anonymous_cheer)] == [
        None
    ] * 4
    tier3 = Subscribed(
        event_id="e", viewer=viewer, tier="3000", source_type="channel.subscribe", **base
    )
    assert earning_of(tier3) == ("sub", 3, viewer, tier3.key)


async def test_a_scope_the_streamer_did_not_grant_refuses_the_rule(vip: Vip) -> None:
    from core.features.vip.limits import VipRefused

    vip.service.rules.granted_scopes = lambda guild_id: ("channel:read:subscriptions",)
    with pytest.raises(VipRefused, match="has not granted bits:read"):
        await vip.service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "bits", 10, at_least=100))
    sub = await vip.service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "sub", 10, tier=1))
    assert sub.describe() == "a subscription of tier 1 or higher, new or renewed"
