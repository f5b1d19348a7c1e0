"""A removed Twitch reward rule takes its reward off Twitch, through the Twitch Helix worker:
queued with the removal, made by the worker after refunding the redemptions still waiting,
retried when Twitch is busy, done when the reward is gone already, kept when a rule uses it
again, refused (the rule still removed) when the server follows no Twitch channel; removing a
rule of another kind queues nothing. Deleting the server's VIP reward (``!vip reward delete``)
goes the same way, behind the redemptions queued before it: one being granted is not refunded
too."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.vip import reward_deletion
from core.features.vip.ports import PendingRedemption, TwitchBusy
from core.features.vip.redemptions_repository import redemption_key
from core.features.vip.removal_calls import HELIX
from core.features.vip.rules import RuleAsked
from core.outbox import store
from core.outbox.worker import OutboxWorker
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import GUILD, T0, make_helix_calls, outbox_states, redemption

SCOPES = ("bits:read", "channel:read:subscriptions")
WEEK = RuleAsked(Platform.TWITCH, "reward", 168, title="VIP 1 week", cost=25_000)


@pytest.fixture
def ruled(vip: Vip) -> Vip:
    vip.service.rules.granted_scopes = lambda guild_id: SCOPES
    return vip


def deletions(engine: Engine) -> list[tuple[str, str]]:
    return outbox_states(engine, reward_deletion.KIND)


async def test_a_removed_reward_rule_takes_its_reward_off_twitch(ruled: Vip, engine) -> None:
    rule = await ruled.service.rules.add(GUILD, WEEK)
    assert rule.reward_id in ruled.twitch.rewards
    removed = await ruled.service.rules.remove(GUILD, rule.id)
    assert removed.is_twitch_reward
    assert rule.reward_id in ruled.twitch.rewards  # queued, not made while the admin waits
    assert deletions(engine) == [("pending", "")]

    await make_helix_calls(ruled.service)
    assert rule.reward_id not in ruled.twitch.rewards
    assert ruled.reward_id in ruled.twitch.rewards  # the setup's reward stays
    assert deletions(engine) == [("done", "deleted")]
    await make_helix_calls(ruled.service)  # nothing more to make
    assert deletions(engine) == [("done", "deleted")]


async def test_redemptions_still_waiting_are_refunded_before_the_reward_goes(
    ruled: Vip, engine
) -> None:
    rule = await ruled.service.rules.add(GUILD, WEEK)
    ruled.twitch.pending = [
        PendingRedemption("late-1", "42", "viewer42", T0),  # redeemed as the rule went
        PendingRedemption("late-2", "43", "viewer43", T0),
        PendingRedemption("settled", "44", "viewer44", T0),
    ]
    ruled.twitch.statuses["settled"] = "FULFILLED"
    await ruled.service.rules.remove(GUILD, rule.id)
    await make_helix_calls(ruled.service)
    assert ruled.twitch.statuses == {
        "late-1": "CANCELED",
        "late-2": "CANCELED",
        "settled": "FULFILLED",
    }
    assert rule.reward_id not in ruled.twitch.rewards
    assert deletions(engine) == [("done", "deleted; 2 waiting redemption(s) refunded")]


async def test_the_setup_reward_goes_with_its_rule_and_the_setup_forgets_it(ruled: Vip) -> None:
    [rule] = await ruled.service.rules.list(GUILD)  # the rule !vip setup made
    assert rule.reward_id == ruled.reward_id
    await ruled.service.rules.remove(GUILD, rule.id)
    await make_helix_calls(ruled.service)
    assert ruled.twitch.rewards == {}
    assert (await ruled.service.effects.settings(GUILD)).reward_id is None


async def test_twitch_busy_delays_only_the_deletion(ruled: Vip, engine) -> None:
    rule = await ruled.service.rules.add(GUILD, WEEK)
    await ruled.service.rules.remove(GUILD, rule.id)
    ruled.twitch.busy.append(TwitchBusy("Twitch answered 503"))
    await make_helix_calls(ruled.service)
    assert rule.reward_id in ruled.twitch.rewards
    [(state, _)] = deletions(engine)
    assert state == "pending"

    ruled.clock.advance(timedelta(minutes=10))
    await make_helix_calls(ruled.service)
    assert rule.reward_id not in ruled.twitch.rewards
    assert deletions(engine) == [("done", "deleted")]


async def test_a_reward_deleted_on_twitch_already_counts_as_deleted(ruled: Vip, engine) -> None:
    rule = await ruled.service.rules.add(GUILD, WEEK)
    await ruled.service.rules.remove(GUILD, rule.id)
    del ruled.twitch.rewards[rule.reward_id]
    await make_helix_calls(ruled.service)
    assert deletions(engine) == [("done", "gone from Twitch already")]


async def test_a_reward_a_rule_uses_again_is_kept(ruled: Vip, engine) -> None:
    rule = await ruled.service.rules.add(GUILD, WEEK)
    await ruled.service.rules.remove(GUILD, rule.id)
    again = await ruled.service.rules.add(GUILD, WEEK)  # adopts the reward of that title
    assert again.reward_id == rule.reward_id
    await make_helix_calls(ruled.service)
    assert rule.reward_id in ruled.twitch.rewards
    assert deletions(engine) == [("done", "kept: a rule uses the reward again")]


async def test_without_a_twitch_channel_the_rule_goes_and_the_call_is_refused(
    ruled: Vip, engine
) -> None:
    rule = await ruled.service.rules.add(GUILD, WEEK)
    ruled.service.reward_deletion.broadcaster_of = lambda guild_id: None  # channel unset since
    await ruled.service.rules.remove(GUILD, rule.id)
    assert [r.id for r in await ruled.service.rules.list(GUILD)] != [rule.id]
    await make_helix_calls(ruled.service)
    assert rule.reward_id in ruled.twitch.rewards
    assert deletions(engine) == [("refused", "the server follows no Twitch channel now")]


async def test_other_rules_queue_nothing(ruled: Vip, engine) -> None:
    bits = await ruled.service.rules.add(
        GUILD, RuleAsked(Platform.TWITCH, "bits", 10, at_least=100)
    )
    removed = await ruled.service.rules.remove(GUILD, bits.id)
    assert not removed.is_twitch_reward
    assert deletions(engine) == []
    assert ruled.reward_id in ruled.twitch.rewards  # the setup's reward stays


async def test_the_vip_reward_deleted_refunds_what_waits_once(vip: Vip, engine) -> None:
    queued = redemption("2001", vip.reward_id)
    await vip.service.queued.handle(GUILD, queued)  # queued before the deletion, not made yet
    vip.twitch.pending = [
        PendingRedemption(redemption_key(queued), "2001", "viewer2001", T0),
        PendingRedemption("never-queued", "2002", "viewer2002", T0),
    ]

    await vip.service.change_reward(GUILD, "delete")
    await make_helix_calls(vip.service)

    # The queued one's own call finds no VIP reward any more and leaves it; the deletion,
    # behind it in the guild's lane, refunds both, once each.
    assert vip.twitch.vips == set()
    assert vip.twitch.statuses == {redemption_key(queued): "CANCELED", "never-queued": "CANCELED"}
    assert vip.twitch.rewards == {}
    assert deletions(engine) == [("done", "deleted; 2 waiting redemption(s) refunded")]
    with engine.connect() as conn:
        [call] = [c for c in store.of_guild(conn, GUILD) if c.kind == reward_deletion.KIND]
    assert call.summary == (
        "delete the reward 'VIP for a day' (500 points) (the server's VIP reward was deleted)"
    )


async def test_a_redemption_granted_as_the_vip_reward_is_deleted_is_not_refunded_too(
    vip: Vip, engine
) -> None:
    taken = redemption("2001", vip.reward_id)
    await vip.service.queued.handle(GUILD, taken)
    vip.twitch.pending = [PendingRedemption(redemption_key(taken), "2001", "viewer2001", T0)]
    adding, release = asyncio.Event(), asyncio.Event()
    real_add = vip.twitch.add_vip

    async def slow_add(guild_id: int, broadcaster_id: str, user_id: str) -> None:
        adding.set()
        await release.wait()
        await real_add(guild_id, broadcaster_id, user_id)

    vip.twitch.add_vip = slow_add  # type: ignore[method-assign]
    worker = OutboxWorker(engine, HELIX, vip.service.helix_kinds(), vip.clock)
    making = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(adding.wait(), timeout=30)  # Add VIP is on its way to Twitch

    await vip.service.change_reward(GUILD, "delete")
    release.set()
    await making
    await make_helix_calls(vip.service)

    assert vip.twitch.vips == {"2001"}
    assert vip.twitch.statuses == {redemption_key(taken): "FULFILLED"}  # and never CANCELED
    assert vip.twitch.rewards == {}
    assert deletions(engine) == [("done", "deleted")]
