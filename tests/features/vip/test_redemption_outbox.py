"""A VIP redemption leaves the event path (issue 26): the bus handler only queues it, and the
Twitch Helix worker makes its calls; a Twitch that fails or hangs holds neither the handler nor
another guild's redemption, and the redemption ends granted, or refunded as documented."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from core.features.vip import redemption_outbox
from core.features.vip.ports import PendingRedemption, TwitchBusy
from core.features.vip.redemptions_repository import redemption_key
from core.outbox.worker import OutboxWorker
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import GUILD, outbox_states, redemption


def helix_worker(vip: Vip, engine: Engine, **options) -> OutboxWorker:  # type: ignore[no-untyped-def]
    return OutboxWorker(
        engine,
        redemption_outbox.SERVICE,
        {redemption_outbox.KIND: vip.service.queued.kind()},
        vip.clock,
        **options,
    )


async def test_the_handler_only_queues_and_the_worker_grants(vip: Vip, engine: Engine):
    event = redemption("2001", vip.reward_id)

    await vip.service.queued.handle(GUILD, event)
    await vip.service.queued.handle(GUILD, event)  # a redelivery queues nothing more

    assert vip.twitch.vips == set()  # nobody was called on the event path
    assert outbox_states(engine, redemption_outbox.KIND) == [("pending", "")]
    await helix_worker(vip, engine).run_once()
    assert vip.twitch.vips == {"2001"}
    assert vip.twitch.statuses[redemption_key(event)] == "FULFILLED"
    assert outbox_states(engine, redemption_outbox.KIND) == [("done", "")]


async def test_a_busy_twitch_is_tried_again_when_it_says(vip: Vip, engine: Engine):
    vip.twitch.busy.append(TwitchBusy("500 from Helix"))
    event = redemption("2002", vip.reward_id)
    await vip.service.queued.handle(GUILD, event)
    worker = helix_worker(vip, engine)

    await worker.run_once()
    assert vip.twitch.vips == set()
    assert outbox_states(engine, redemption_outbox.KIND) == [("pending", "500 from Helix")]
    vip.clock.advance(60)
    await worker.run_once()
    assert vip.twitch.vips == {"2002"}


async def test_a_hanging_twitch_holds_no_handler_and_is_tried_again(vip: Vip, engine: Engine):
    """The guild's next redemption waits behind the one tried again (its calls stay in
    order), and both are made once Twitch answers."""
    never = asyncio.Event()
    real_add = vip.twitch.add_vip
    hangs = {"2003"}

    async def hanging_add(guild_id: int, broadcaster_id: str, user_id: str) -> None:
        if user_id in hangs:
            await never.wait()
        await real_add(guild_id, broadcaster_id, user_id)

    vip.twitch.add_vip = hanging_add  # type: ignore[method-assign]
    hung, fine = redemption("2003", vip.reward_id), redemption("2004", vip.reward_id)

    # The handler only queues (a database write): one waiting on the hung call never returns.
    await asyncio.wait_for(vip.service.queued.handle(GUILD, hung), timeout=10)
    await asyncio.wait_for(vip.service.queued.handle(GUILD, fine), timeout=10)
    # Each call gets 3 s (the hung one costs them): the fine one is a whole redemption, several
    # transactions on PostgreSQL too, and 1 s was tight for it on a loaded machine.
    worker = helix_worker(vip, engine, timeout_seconds=3)
    await worker.run_once()

    assert vip.twitch.vips == set()  # the next redemption waits behind the hung one
    assert outbox_states(engine, redemption_outbox.KIND) == [
        ("pending", ""),
        ("pending", "no answer within 3 s"),
    ]
    hangs.clear()  # Twitch answers again
    vip.clock.advance(60)
    await worker.run_once()
    assert vip.twitch.vips == {"2003", "2004"}
    assert outbox_states(engine, redemption_outbox.KIND) == [("done", ""), ("done", "")]


async def test_other_rewards_and_platforms_queue_nothing(vip: Vip, engine: Engine):
    await vip.service.queued.handle(GUILD, redemption("2005", "another-reward"))
    assert outbox_states(engine, redemption_outbox.KIND) == []


async def test_a_redemption_the_worker_gave_up_on_is_taken_up_by_the_missed_read(
    vip: Vip, engine: Engine
):
    """Twitch failed every try (a long outage): the call ends failed, but the redemption is
    still UNFULFILLED on Twitch, the viewer's points held. The 10-minute read of missed
    redemptions queues it again, and it is granted and fulfilled, once."""
    event = redemption("2006", vip.reward_id)
    vip.twitch.pending = [PendingRedemption(redemption_key(event), "2006", "viewer2006")]
    vip.twitch.busy.extend([TwitchBusy("503 from Helix"), TwitchBusy("503 from Helix")])
    await vip.service.queued.handle(GUILD, event)
    worker = helix_worker(vip, engine, max_attempts=2)
    await worker.run_once()
    vip.clock.advance(60)
    await worker.run_once()
    assert [state for state, _ in outbox_states(engine, redemption_outbox.KIND)] == ["failed"]

    assert await vip.service.drain_missed() == 1  # Twitch answers again
    while await worker.run_once():
        vip.clock.advance(60)

    assert vip.twitch.vips == {"2006"}
    assert vip.twitch.statuses == {redemption_key(event): "FULFILLED"}
    granted = [e for e in await vip.service.log(GUILD) if e.action == "granted"]
    assert len(granted) == 1
    # Fulfilled now: the next read finds nothing to queue.
    vip.twitch.pending = []
    assert await vip.service.drain_missed() == 0
