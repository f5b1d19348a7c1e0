"""The runtime wires points: a scheduler tick credits present viewers after the watchtime tick,
chat events count toward earnings, and ``!points`` is a chat command."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from core.events import ChatMessageSent, Platform, Subscribed, Viewer
from core.features.points import se_payments
from core.features.schema import all_tables
from core.platforms.streamelements.api import CALL_BUDGET_SECONDS
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.points.test_earning import T0
from tests.support.clock import Clock
from tests.support.events import chat_message
from tests.support.waiting import eventually

GUILD = 123456789012345678
BROADCASTER = "4242"


def test_a_scheduler_tick_earns_points_for_present_viewers(make_runtime):
    runtime = make_runtime()
    runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    runtime.points.set_rate(GUILD, "window", "1")
    runtime.points.set_rate(GUILD, "chat", "0")

    async def tick(at):
        await runtime.scheduler.tick_once(at)

    asyncio.run(tick(T0))
    chat = chat_message(
        "hello", broadcaster=BROADCASTER, at=T0 + timedelta(seconds=5), event_id="m1"
    )
    for handler in runtime.handlers[ChatMessageSent]:
        result = handler(GUILD, chat)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    asyncio.run(tick(T0 + timedelta(minutes=1)))
    asyncio.run(tick(T0 + timedelta(minutes=2)))
    assert runtime.points.balance(GUILD, Platform.KICK, "77") == 2
    assert "points" in runtime.chat_commands.names


def test_a_subscriber_the_tiers_feature_knows_earns_the_sub_rate(make_runtime):
    """Points ask the real subscription tiers feature who subscribes: a Kick sub event fed
    through the runtime's handlers makes the viewer earn 2 a minute instead of 1."""
    runtime = make_runtime()
    runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    runtime.points.set_rate(GUILD, "window", "1")
    runtime.points.set_rate(GUILD, "chat", "0")
    events = [
        Subscribed(
            platform=Platform.KICK,
            event_id="sub-1",
            broadcaster_user_id=BROADCASTER,
            occurred_at=T0,
            viewer=Viewer("77", "viewer_77"),
        ),
        *(
            chat_message(
                "hello",
                broadcaster=BROADCASTER,
                user_id=user,
                at=T0 + timedelta(seconds=5),
                event_id=f"m-{user}",
            )
            for user in ("77", "88")
        ),
    ]
    asyncio.run(runtime.scheduler.tick_once(T0))
    for event in events:
        for handler in runtime.handlers[type(event)]:
            result = handler(GUILD, event)
            if asyncio.iscoroutine(result):
                asyncio.run(result)
    assert set(runtime.sub_tiers.tiers_of(GUILD, Platform.KICK, ["77", "88"])) == {"77"}
    asyncio.run(runtime.scheduler.tick_once(T0 + timedelta(minutes=1)))
    asyncio.run(runtime.scheduler.tick_once(T0 + timedelta(minutes=2)))
    assert runtime.points.balance(GUILD, Platform.KICK, "77") == 4
    assert runtime.points.balance(GUILD, Platform.KICK, "88") == 2


def test_the_heist_and_chat_points_use_the_streamelements_wallet(make_runtime):
    runtime = make_runtime()
    assert runtime.heist.wallet is runtime.points_wallet
    points_command = runtime.chat_commands._table["points"]
    assert points_command.handler.__self__.wallet is runtime.points_wallet


def test_streamelements_payments_have_a_worker_of_their_own(make_runtime):
    """Every bot process runs it (the workers share the calls), apart from any tick or job, and
    it waits longer than the client's own time limit, so the client's answer says what
    happened."""
    runtime = make_runtime()
    [worker] = [w for w in runtime.outbox_workers if w.service == se_payments.SERVICE]
    assert set(worker.kinds) == {se_payments.PAY}
    assert not worker.kinds[se_payments.PAY].idempotent  # a blind delta: uncertain, never resent
    assert worker.timeout_seconds > CALL_BUDGET_SECONDS
    assert f"{se_payments.SERVICE} calls" in runtime.scheduler.loops
    after_tick = [job.name for job in runtime.scheduler.after_tick_jobs()]
    assert "StreamElements payments" not in after_tick


async def test_streamelements_end_to_end_through_the_runtime_against_the_fake(make_runtime):
    """STREAMELEMENTS_API_URL points the runtime's wallet at the loopback fake: a balance is
    asked there, and a queued change is made there by the runtime's own streamelements worker."""
    with FakeStreamElements() as se:
        runtime = make_runtime(STREAMELEMENTS_API_URL=se.base_url)
        se.points["carol"] = 400
        wallet = runtime.points_wallet
        wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
        try:
            assert await wallet.balance(GUILD, "Carol") == 400
            change = await wallet.queue_change(
                GUILD, "carol", -150, ref="discord:1", actor_id=7, reason="test"
            )
            assert change.is_new
            [worker] = [w for w in runtime.outbox_workers if w.service == se_payments.SERVICE]
            assert await worker.run_once() == 1
        finally:
            await wallet.client.aclose()
        assert se.puts == [("carol", -150)]
        assert se.points["carol"] == 250
        assert all(auth == f"Bearer {JWT}" for auth in se.authorizations)


def test_the_streamelements_address_is_a_setting(make_runtime):
    assert make_runtime().points_wallet.client.base_url == (
        "https://api.streamelements.com/kappa/v2"
    )


async def test_the_streamelements_worker_forgets_stakes_settled_over_30_days_ago(
    make_runtime, migrated_database_url
):
    """A settled hold is a stake whose heist ended (its payment is an outbox call of its own):
    the worker deletes it with the outbox's ended calls, 30 days on. An open stake stays however
    old: a heist under way still pays or refunds it."""
    runtime = make_runtime(DATABASE_URL=migrated_database_url, clock=Clock(T0 + timedelta(days=40)))
    holds = all_tables().tables["points_se_holds"]
    settled = {"old": T0, "recent": T0 + timedelta(days=20), "open": None}
    with runtime.engine.begin() as conn:
        for ref, at in settled.items():
            conn.execute(sa.insert(holds).values(
                guild_id=GUILD, username="ann", amount=100, source="heist", source_ref=ref,
                created_at=T0, settled_at=at))  # fmt: skip
    [worker] = [w for w in runtime.outbox_workers if w.service == se_payments.SERVICE]

    def left() -> list[str]:
        with runtime.engine.connect() as conn:
            return sorted(conn.execute(sa.select(holds.c.source_ref)).scalars())

    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await eventually(lambda: left() == ["open", "recent"], message=str(left()))
    finally:
        stop.set()
        await running
