"""A slow or failing partner delays only its own effects (issue 26, "Done when"): one guild's
partner answers 500, or hangs 30 s, on every call while it and 100 other guilds stream and chat.
The real pipeline runs (bus consumer, scheduler, the outbox workers) on the wall clock with
2-second ticks, against the fake platforms on 127.0.0.1; every guild's clock is watched as the
ticks run. Each partner is a variant: Twitch's Add VIP, Kick's chat (the bot's replies), and
Discord (slot call posts and what follows account links).

Every guild is ticked at every instant the scheduler ticks (the same instants in all 101; on a
loaded machine the scheduler itself may pass over an instant, for every guild alike), and when
every stream goes offline (``stream.offline`` before the last instant) every viewer has been
credited exactly the seconds from their guild's first tick to the last one while live: nothing
lost, nothing more. The troubled guild's calls were still waiting on the partner, or ended as
documented, while the ticks ran (the partner's trouble and the ticks overlapped); once the
partner answers again they end as documented (Twitch's 500: the 10 VIP slots granted, the
other 2 redemptions refunded; Kick's chat: said in order, the hung line uncertain; Discord:
each post and link effect made once).

A variant gives ``ride_out`` its runtime (the troubled guild first in ``EVERYONE``, the 100 others
tracked with ``track_others``), the troubled guild's first events and chats, and what to read
while the partner is in trouble; then checks the ticks (``ticked_together``), the credit
(``assert_credited``) and the partner's calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa

from core.events import (
    AccountLinked,
    ChatMessageSent,
    Event,
    Platform,
    RewardRedeemed,
    StreamEnded,
    Viewer,
    system_clock,
)
from core.features.chat_commands.queued import SAY, service_of
from core.features.linking.effects import LinkEffects
from core.features.linking.queued import QueuedLinkEffects
from core.features.slot_calls.posts import POST, SlotCallPosts
from core.features.vip import redemption_outbox
from core.outbox import DISCORD, store
from core.outbox.worker import OutboxWorker
from core.runtime import Runtime
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.features.connections.test_kick_connection import authorize, local
from tests.features.linking.test_effects import RecordingDiscord, RecordingRoleSync
from tests.features.slot_calls.conftest import RecordingPoster
from tests.support.events import chat_message
from tests.wiring.test_vip_streamer_token import BROADCASTER, connect_streamer

pytestmark = pytest.mark.slow

INTERVAL = 2
TROUBLED = 300000000000000021  # the guild whose partner is in trouble
OTHERS = [TROUBLED + (n + 1) * (1 << 22) for n in range(100)]
EVERYONE = [TROUBLED, *OTHERS]
TICKS_WATCHED = 3  # intervals with chats after the first; then the streams go offline
SETTINGS = {"WATCH_INTERVAL_SECONDS": str(INTERVAL), "ACTIVE_WINDOW_MINUTES": "1"}

T = TypeVar("T")


# What every variant shares


def track_others(runtime: Runtime) -> None:
    """The 100 other guilds, each following a Kick channel of its own."""
    for n, guild_id in enumerate(OTHERS):
        runtime.guilds.set_kick_channel(guild_id, f"channel{n}", str(800_000 + n))


def others_chat(now: datetime) -> list[ChatMessageSent]:
    """One viewer in each other guild's channel."""
    return [
        chat_message("gg", broadcaster=str(800_000 + n), user_id=str(700_000 + n), at=now)
        for n in range(len(OTHERS))
    ]


def others_present() -> dict[int, set[str]]:
    return {guild_id: {str(700_000 + n)} for n, guild_id in enumerate(OTHERS)}


async def ride_out(
    runtime: Runtime,
    first: Callable[[datetime], list[Event]],
    chats: Callable[[datetime], list[ChatMessageSent]],
    during: Callable[[], T],
) -> tuple[dict[int, list[datetime]], T]:
    """Run the pipeline: publish ``first(now)`` and everyone's chats (the troubled guild's are
    ``chats(now)``) early in an interval, then the chats again in each of the next
    ``TICKS_WATCHED`` intervals; wait until the instant after the last chats is ticked in every
    guild, read ``during()`` (in a thread, the pipeline still running), and stop. Every guild's
    tick instants as seen, and what ``during`` read."""
    stop, watching = asyncio.Event(), asyncio.Event()
    ticks: dict[int, list[datetime]] = {}
    pipeline = asyncio.create_task(runtime.run_pipeline(stop))
    watcher = asyncio.create_task(watch_ticks(runtime, ticks, watching))
    try:
        await _wait_for_a_safe_moment()
        now = datetime.now(UTC)
        await publish_before_the_instant(runtime, [*first(now), *chats(now), *others_chat(now)])
        # Chats every interval keep the viewers present; the ticks run meanwhile.
        for _ in range(TICKS_WATCHED):
            await _wait_for_a_safe_moment(after=time.time() + 1.0)  # the next interval's
            now = datetime.now(UTC)
            await publish_before_the_instant(runtime, [*chats(now), *others_chat(now)])
        # Then every stream goes offline, before the next instant.
        await publish_before_the_instant(runtime, offline([*chats(now), *others_chat(now)], now))
        await asyncio.to_thread(_wait_for_last_tick, ticks)
        seen = await asyncio.to_thread(during)
    finally:
        watching.set()
        stop.set()
        await asyncio.gather(pipeline, watcher, return_exceptions=True)
    return ticks, seen


async def publish_before_the_instant(runtime: Runtime, events: Sequence[Event]) -> None:
    """Queue ``events`` all at once, as webhooks arriving together are (the bus commits them in
    a few group commits, not one by one); they are queued before the next tick's instant."""
    started, loop = time.time(), asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, runtime.bus.publish, e) for e in events))
    assert started // INTERVAL == time.time() // INTERVAL, "the machine queued too slowly"


def offline(chats: list[ChatMessageSent], now: datetime) -> list[StreamEnded]:
    """``stream.offline`` for every channel chatted in."""
    channels = sorted({(chat.platform, chat.broadcaster_user_id) for chat in chats})
    return [
        StreamEnded(
            platform=platform, event_id=f"offline-{broadcaster}", broadcaster_user_id=broadcaster,
            occurred_at=now,
        )
        for platform, broadcaster in channels
    ]  # fmt: skip


def ticked_together(ticks: dict[int, list[datetime]]) -> int:
    """Every guild was ticked at every instant the scheduler ticked (the troubled guild's too),
    none waiting on another: the same instants everywhere. The seconds the viewers earned: from
    the first instant to the last before the streams went offline (nothing after it, nothing
    before it lost)."""
    instants = ticks[TROUBLED]
    assert len(instants) >= TICKS_WATCHED  # the first only starts the clocks
    for guild_id in EVERYONE:
        assert ticks[guild_id] == instants
    return int((instants[-2] - instants[0]).total_seconds())


def assert_credited(runtime: Runtime, seconds: int, present: dict[int, set[str]]) -> None:
    """Each guild's viewers (``present``) are credited exactly ``seconds``, and nobody else."""
    totals = {
        g: {row.platform_user_id: row.seconds for row in runtime.watchtime.export(g)}
        for g in EVERYONE
    }
    assert totals == {g: dict.fromkeys(viewers, seconds) for g, viewers in present.items()}


async def watch_ticks(runtime: Runtime, ticks: dict[int, list[datetime]], stop) -> None:  # type: ignore[no-untyped-def]
    """Each guild's clock as it moves (every 50 ms)."""
    query = sa.text("SELECT guild_id, last_tick_at FROM watch_settings")

    def read() -> list[tuple[int, datetime]]:
        with runtime.engine.connect() as conn:
            return [(g, at) for g, at in conn.execute(query) if at is not None]

    while not stop.is_set():
        for guild_id, at in await asyncio.to_thread(read):
            at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
            seen = ticks.setdefault(guild_id, [])
            if not seen or at > seen[-1]:
                seen.append(at)
        await asyncio.sleep(0.05)


async def _wait_for_a_safe_moment(after: float | None = None) -> None:
    """Sleep until 0.3-0.9 s into an interval (after ``after``): a tick instant is never near,
    and what is queued then has the rest of the interval (1.1-1.7 s) to be queued before the
    next instant (a round takes 0.03-0.2 s on an idle machine, up to about 1 s on a loaded
    one). A loaded machine may wake the sleep late, past the window: then it sleeps on to the
    next interval's."""
    await asyncio.sleep(max(0.0, (after or 0.0) - time.time()))
    for _ in range(10):
        into = time.time() % INTERVAL
        if 0.3 <= into <= 0.9:
            return
        await asyncio.sleep((0.3 - into) % INTERVAL)
    raise AssertionError("the machine woke 10 times outside 0.3-0.9 s into an interval")


def _wait_for_last_tick(ticks: dict[int, list[datetime]]) -> None:
    """Until the instant after the last chats has been ticked in every guild (at most 30 s)."""
    target = datetime.fromtimestamp((int(time.time()) // INTERVAL + 1) * INTERVAL, UTC)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(ticks.get(g) and ticks[g][-1] >= target for g in EVERYONE):
            return
        time.sleep(0.05)
    raise AssertionError("the last instant was not ticked in every guild within 30 s")


def outbox_of(runtime: Runtime, kind: str) -> list[tuple[str, str | None]]:
    """The troubled guild's calls of ``kind``, oldest first: (state, result)."""
    with runtime.engine.connect() as conn:
        stored = reversed(store.of_guild(conn, TROUBLED))
        return [(row.state, row.result) for row in stored if row.kind == kind]


# Twitch answers 500, or hangs, on every Add VIP

REDEMPTIONS = 12


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI]) as fake:
        for n in range(REDEMPTIONS):
            fake.add_user(str(6000 + n), f"redeemer{n}")
        yield fake


@pytest.fixture
async def twitch_runtime(tmp_path: Path, twitch: FakeTwitch) -> AsyncIterator[Runtime]:
    # The embedded default (SQLite); the two-bot kill test runs the split deployment.
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", system_clock, **SETTINGS)
    runtime.guilds.set_twitch_channel(TROUBLED, "twitchdev", BROADCASTER)
    await connect_streamer(runtime, TROUBLED)
    track_others(runtime)
    yield runtime
    runtime.close()


def twitch_chat(now: datetime) -> list[ChatMessageSent]:
    """One viewer in the VIP guild's Twitch chat."""
    said = chat_message(
        "hi", platform=Platform.TWITCH, broadcaster=BROADCASTER, user_id="5999", at=now
    )
    return [said]


def redemptions(twitch: FakeTwitch, reward_id: str, now: datetime) -> list[RewardRedeemed]:
    events = []
    for n in range(REDEMPTIONS):
        viewer = str(6000 + n)
        redemption_id = twitch.add_redemption(reward_id, viewer)
        events.append(
            RewardRedeemed(
                platform=Platform.TWITCH,
                event_id=f"{redemption_id}:unfulfilled",
                redemption_id=redemption_id,
                broadcaster_user_id=BROADCASTER,
                occurred_at=now,
                viewer=Viewer(viewer, f"Redeemer{n}"),
                reward_id=reward_id,
                reward_title="VIP for a day",
                cost=500,
                status="unfulfilled",
            )
        )
    return events


@pytest.mark.parametrize("trouble", ["500", "hang"])
async def test_a_guild_whose_twitch_fails_or_hangs_holds_no_other_guilds_tick(
    twitch_runtime: Runtime, twitch: FakeTwitch, trouble: str
):
    runtime = twitch_runtime
    reward_id = (await runtime.vip.setup(TROUBLED, 777, "VIP for a day", 500, 24)).reward.id
    if trouble == "500":
        twitch.fail_next("/helix/channels/vips", 500, times=1000, method="POST")
    else:
        twitch.hang_next("/helix/channels/vips", 30, times=1000, method="POST")

    ticks, outbox = await ride_out(
        runtime,
        lambda now: redemptions(twitch, reward_id, now),  # type: ignore[arg-type]
        twitch_chat,
        lambda: outbox_of(runtime, redemption_outbox.KIND),
    )

    # Twitch was asked and stalled: answered 500, or still making the first call at the end.
    if trouble == "500":
        assert twitch.requests_to("/helix/channels/vips", "POST")
    else:
        assert (store.PENDING, store.IN_FLIGHT) in outbox
    assert len(outbox) == REDEMPTIONS
    assert {state for state, _ in outbox} == {store.PENDING}
    seconds = ticked_together(ticks)
    assert_credited(runtime, seconds, {TROUBLED: {"5999"}, **others_present()})
    if trouble == "hang":
        return

    # Twitch answers again: the redemptions end as documented (vip/redemptions.py), each once:
    # the channel's 10 VIP slots granted and FULFILLED, the 2 redemptions past them refunded.
    twitch.recover()
    [helix] = [w for w in runtime.outbox_workers if w.service == redemption_outbox.SERVICE]
    later = dataclasses.replace(
        helix, name="after-recovery", clock=lambda: system_clock() + timedelta(hours=2)
    )
    while await later.run_once():
        pass
    await runtime.shutdown()  # the clients the calls used, closed again

    assert {state for state, _ in outbox_of(runtime, redemption_outbox.KIND)} == {store.DONE}
    statuses = sorted(r["status"] for r in twitch.redemptions.values())
    assert statuses == ["CANCELED"] * 2 + ["FULFILLED"] * 10
    assert len(twitch.channels[BROADCASTER].vips) == 10


# Kick's chat API answers 500, or hangs, on every post: the bot's replies to commands

KICK_STREAMER = 1001  # the fake Kick's consenting user: the troubled guild's channel
CHAT = "/public/v1/chat"
COMMANDERS = [str(9000 + n) for n in range(4)]  # each says !watchtime once (it cools down 15 s)


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(user_id=KICK_STREAMER, username="streamer") as fake:
        yield fake


@pytest.fixture
async def kick_runtime(tmp_path: Path, kick: FakeKick) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", system_clock, **SETTINGS)
    # The streamer connects: the bot talks in the channel as the app's bot, with their token.
    link = (await runtime.kick_setup.setup(TROUBLED, 777, "streamer")).connect_link
    web = runtime.create_web_app().test_client()
    callback = await asyncio.to_thread(lambda: web.get(local(authorize(web, link))))
    assert callback.status_code == 200, callback.get_data(as_text=True)
    track_others(runtime)
    yield runtime
    runtime.close()


def kick_chat(now: datetime) -> list[ChatMessageSent]:
    """One viewer chatting in the troubled guild's Kick channel."""
    return [chat_message("gg", broadcaster=str(KICK_STREAMER), user_id="8999", at=now)]


def commands(now: datetime) -> list[ChatMessageSent]:
    return [
        chat_message("!watchtime", broadcaster=str(KICK_STREAMER), user_id=viewer, at=now)
        for viewer in COMMANDERS
    ]


@pytest.mark.parametrize("trouble", ["500", "hang"])
async def test_a_guild_whose_kick_chat_fails_or_hangs_holds_no_other_guilds_tick(
    kick_runtime: Runtime, kick: FakeKick, trouble: str
):
    runtime = kick_runtime
    if trouble == "500":
        kick.fail_next(CHAT, 500, times=1000, method="POST")
    else:
        kick.hang_next(CHAT, 30, times=1000, method="POST")
    asked: list[ChatMessageSent] = []

    def first(now: datetime) -> list[ChatMessageSent]:
        asked.extend(commands(now))
        return asked

    def during() -> tuple[list[tuple[str, str | None]], int]:
        if trouble == "500":  # each reply ends refused within a second (the sender's pace)
            _wait_for(lambda: _all_final(outbox_of(runtime, SAY), len(COMMANDERS)))
        return outbox_of(runtime, SAY), len(kick.requests_to(CHAT, "POST"))

    ticks, (replies, posts) = await ride_out(runtime, first, kick_chat, during)

    seconds = ticked_together(ticks)
    assert_credited(runtime, seconds, {TROUBLED: {"8999", *COMMANDERS}, **others_present()})
    assert kick.chat_messages == []  # nothing was said while Kick was in trouble
    if trouble == "500":
        # A server error is a lasting refusal (core/platforms/kick/chat.py): each reply was
        # posted once, never again, and ended refused with the reason.
        assert posts == len(COMMANDERS)
        assert replies == [
            (store.REFUSED, "server_error: Kick API 500: Internal Server Error")
        ] * len(COMMANDERS)
    else:
        # The guild's lines go in order: the first was still being posted when the ticks
        # ended (Kick holding it: the fake records a request once it answers), the others
        # waiting behind it.
        assert posts == 0
        assert replies == [(store.PENDING, store.IN_FLIGHT)] + [(store.PENDING, None)] * (
            len(COMMANDERS) - 1
        )

    # Kick recovers; a worker comes to the lines after the stopped one's claims ran out.
    kick.recover()
    worker = _chat_worker(runtime)
    later = dataclasses.replace(
        worker,
        name="after-recovery",
        clock=lambda: system_clock() + worker.lease + timedelta(seconds=1),
    )
    while await later.run_once():
        pass
    await runtime.shutdown()  # the clients the calls used, closed again
    ended = outbox_of(runtime, SAY)

    if trouble == "500":  # refused is final: not posted again
        assert ended == replies
        assert len(kick.requests_to(CHAT, "POST")) == posts
        return
    # The hung line may have been posted (Kick got it; no answer came back): it ends uncertain,
    # never posted again, whether the sender gave up on it or the worker stopped while posting.
    state, reason = ended[0]
    assert state == store.UNCERTAIN
    assert reason is not None
    assert reason.startswith("no_answer: ") or reason == "a worker stopped while making this call"
    assert ended[1:] == [(store.DONE, "said")] * (len(COMMANDERS) - 1)
    answered = [m for m in kick.chat_messages if m.reply_to_message_id != asked[0].event_id]
    assert [m.reply_to_message_id for m in answered] == [e.event_id for e in asked[1:]]
    assert {m.type for m in answered} == {"bot"}
    posted = [r.json["reply_to_message_id"] for r in kick.requests_to(CHAT, "POST")]
    assert [p for p in posted if p != asked[0].event_id] == [e.event_id for e in asked[1:]]
    assert posted.count(asked[0].event_id) <= 1  # the hung one at most once (if it ended)


def _chat_worker(runtime: Runtime) -> OutboxWorker:
    [worker] = [w for w in runtime.outbox_workers if w.service == service_of(Platform.KICK)]
    return worker


def _all_final(calls: list[tuple[str, str | None]], count: int) -> bool:
    return len(calls) == count and all(state in store.FINAL for state, _ in calls)


def _wait_for(condition: Callable[[], bool], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        time.sleep(0.05)


# Discord is unreachable (the bot cannot log in, and keeps trying): slot call posts and what
# follows account links wait

SLOT_CHANNEL = 5001
CALLERS = [str(9100 + n) for n in range(3)]


@pytest.fixture
async def discord_runtime(tmp_path: Path, kick: FakeKick) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", system_clock, **SETTINGS)
    runtime.discord.enabled = True  # a bot token is set, and Discord does not answer
    runtime.guilds.set_kick_channel(TROUBLED, "streamer", str(KICK_STREAMER))
    runtime.slot_calls.set_enabled(TROUBLED, True)
    runtime.slot_calls.set_channel(TROUBLED, SLOT_CHANNEL)
    track_others(runtime)
    yield runtime
    runtime.close()


def slot_calls(now: datetime) -> list[Event]:
    calls: list[Event] = [
        chat_message(f"!call Slot {n}", broadcaster=str(KICK_STREAMER), user_id=viewer, at=now)
        for n, viewer in enumerate(CALLERS)
    ]
    links = [
        AccountLinked(
            platform=Platform.KICK,
            event_id=f"link-{n}",
            occurred_at=now,
            guild_id=TROUBLED,
            discord_user_id=4000 + n,
            viewer=Viewer(viewer, f"caller{n}"),
        )
        for n, viewer in enumerate(CALLERS)
    ]
    return [*calls, *links]


async def test_discord_unreachable_holds_no_guilds_tick_and_its_calls_wait(
    discord_runtime: Runtime,
):
    runtime = discord_runtime

    ticks, waiting = await ride_out(runtime, slot_calls, kick_chat, lambda: settled_calls(runtime))

    seconds = ticked_together(ticks)
    assert_credited(runtime, seconds, {TROUBLED: {"8999", *CALLERS}, **others_present()})
    # Each call was tried and waits for Discord, with why; the calls were stored meanwhile.
    assert sorted(kind for kind, _, _ in waiting) == ["linking.linked"] * 3 + [POST] * 3
    assert {(state, result) for _, state, result in waiting} == {
        (store.PENDING, "the Discord bot is not connected yet")
    }
    assert len(runtime.slot_calls.open_calls(TROUBLED, 10)) == len(CALLERS)

    # Discord answers again: a worker makes every call, each once.
    poster, links = RecordingPoster(), RecordingDiscord()
    effects = LinkEffects(runtime.linking, links, role_sync=RecordingRoleSync(links))
    kinds = {
        **SlotCallPosts(runtime.slot_calls, poster).kinds(),
        **QueuedLinkEffects(runtime.engine, runtime.clock, effects).kinds(),
    }
    later = OutboxWorker(
        runtime.engine,
        DISCORD,
        kinds,
        lambda: system_clock() + timedelta(hours=1),  # past every backoff
        name="after-recovery",
    )
    while await later.run_once():
        pass

    assert sorted(call.slot_name for _, call, _ in poster.posts) == ["Slot 0", "Slot 1", "Slot 2"]
    told = sorted(call[1] for call in links.calls if call[0] == "tell")
    assert told == [4000, 4001, 4002]
    assert {state for _, state, _ in discord_calls(runtime)} == {store.DONE}


def settled_calls(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    """The troubled guild's calls to Discord, read when none is being retried: the worker keeps
    retrying them, and a retry holds the call "being made" for the moment it takes to fail."""
    for _ in range(200):
        calls = discord_calls(runtime)
        if all(result != store.IN_FLIGHT for _, _, result in calls):
            return calls
        time.sleep(0.02)
    raise AssertionError(f"a call to Discord stayed in flight: {calls}")


def discord_calls(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    """The troubled guild's calls to Discord: (kind, state, result). (Its replies in Kick's
    chat are the kick-chat worker's, and the streamer has not connected Kick.)"""
    with runtime.engine.connect() as conn:
        stored = store.of_guild(conn, TROUBLED)
    return [(row.kind, row.state, row.result) for row in stored if row.kind != SAY]
