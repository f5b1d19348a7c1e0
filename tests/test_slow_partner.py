"""A slow or failing partner delays only its own effects (issue 26, "Done when"): one guild's
partner answers 500, or hangs, on every call while it and 100 other guilds stream and chat.
The real pipeline runs (bus consumer, scheduler, the outbox workers) on the wall clock with
2-second ticks, against the fake platforms on 127.0.0.1; every guild's clock is read after
each tick. Each partner is a variant: Twitch's Add VIP, Kick's chat (the bot's replies), and
Discord (slot call posts and what follows account links); StreamElements and Shuffle have
theirs in ``tests/test_slow_partner_points.py``, with these helpers.

Every guild is ticked at every instant the scheduler ticks (the same instants in all 101; on a
loaded machine the scheduler itself may pass over an instant, for every guild alike), and when
every stream goes offline every viewer has been credited exactly the seconds the ticks counted
them for, from the tick before their first chat to the last tick before the streams ended:
nothing lost, nothing more. The troubled guild's calls were still waiting on the partner, or
ended as documented, while the ticks ran (the partner's trouble shows before the streams end,
and ticks run after it); once the partner answers again they end as documented (Twitch's 500:
the 10 VIP slots granted, the other 2 redemptions refunded; Kick's chat: said in order, the
hung lines uncertain; Discord: each post and link effect made once).

Nothing here races the wall clock: each round of events is queued at one instant while no tick
runs, and the test waits for ticks by event (``tests/support/tick_gate.py``), so a busy machine
makes a run slower, never wrong.

A variant gives ``ride_out`` its runtime (on a ``WallClock``; the troubled guild first in
``EVERYONE``, the 100 others tracked with ``track_others``), the troubled guild's first events
and chats, and how to read the partner's trouble; then checks the ticks (``ticked_together``),
the credit (``assert_credited``) and the partner's calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from itertools import takewhile
from pathlib import Path
from typing import Generic, TypeVar

import pytest

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
from tests.support.clock import WallClock
from tests.support.events import chat_message
from tests.support.tick_gate import HANG_SECONDS, pipeline_running
from tests.wiring.test_vip_streamer_token import BROADCASTER, connect_streamer

pytestmark = pytest.mark.slow

INTERVAL = 2
TROUBLED = 300000000000000021  # the guild whose partner is in trouble
OTHERS = [TROUBLED + (n + 1) * (1 << 22) for n in range(100)]
EVERYONE = [TROUBLED, *OTHERS]
TICKS_WATCHED = 3  # the clocks move more often after the first chats; then streams end
SETTINGS = {"WATCH_INTERVAL_SECONDS": str(INTERVAL), "ACTIVE_WINDOW_MINUTES": "1"}
HANG = 600  # seconds a hanging partner holds a call: longer than any run of these tests

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


@dataclasses.dataclass(frozen=True)
class Ride(Generic[T]):
    """What ``ride_out`` saw: each guild's clock after each tick, the instants the first chats
    and the streams' end were queued at, and the partner's trouble as ``trouble`` read it."""

    ticks: dict[int, list[datetime]]
    chatted_at: datetime
    offline_at: datetime
    trouble: T


async def ride_out(
    runtime: Runtime,
    first: Callable[[datetime], list[Event]],
    chats: Callable[[datetime], list[ChatMessageSent]],
    trouble: Callable[[], T | None],
) -> Ride[T]:
    """Run the pipeline. Once a tick started every guild's clock (the first, unless it passed
    some by), queue ``first(now)`` and everyone's chats (the troubled guild's are
    ``chats(now)``); after each tick, the chats again, until the guilds' clocks moved more than
    ``TICKS_WATCHED`` times since the first chats and ``trouble()`` (read in a thread after a
    tick, the pipeline running) returned what it saw of the partner's trouble, not None. Then
    every stream goes offline; once the tick after it has run in every guild, stop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_SECONDS

    def everyone(now: datetime) -> list[ChatMessageSent]:
        return [*chats(now), *others_chat(now)]

    async with pipeline_running(runtime) as gate:
        # The first tick only starts the clocks; on a busy machine it may pass some guilds by,
        # and a clock first moved after the chats would credit from that tick, not before them.
        started = await gate.tick_after(None)
        while not all(gate.clocks.get(guild_id) for guild_id in EVERYONE):
            started = await gate.tick_after(started)
        chatted_at = at = await gate.round(lambda now: [*first(now), *everyone(now)])
        seen: T | None = None

        def moved_since_chats() -> int:
            return sum(1 for t in gate.clocks.get(TROUBLED, []) if t > chatted_at)

        while True:
            await gate.tick_after(at)
            # Counted by the clocks, not the ticks: on a busy machine a tick may pass the
            # guilds by (its leases lapsed, or their clocks held past its retries); the next
            # one credits its time.
            if seen is not None and moved_since_chats() > TICKS_WATCHED:
                break
            if seen is None:
                seen = await gate.unless_stopped(asyncio.to_thread(trouble), "the trouble")
            if loop.time() > deadline:
                what = "trouble showed" if seen is None else f"{moved_since_chats()} ticks"
                raise AssertionError(f"only {what} in {HANG_SECONDS:g} s")
            # Chats every interval keep the viewers present; the ticks run meanwhile.
            at = await gate.round(everyone)
        offline_at = await gate.round(lambda now: offline(everyone(now), now))
        await gate.tick_after(offline_at)
        return Ride(gate.clocks, chatted_at, offline_at, seen)


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


def ticked_together(ride: Ride[object]) -> int:
    """Every guild was ticked at every instant the scheduler ticked (the troubled guild's too),
    none waiting on another: the same instants everywhere. The seconds the viewers earned: a
    tick counts the chats from before its instant, and a stream that ended at or after it as
    live, so from the last instant at or before the first chats to the last at or before the
    streams ended (nothing after it, nothing before it lost)."""
    instants = ride.ticks[TROUBLED]
    for guild_id in EVERYONE:
        assert ride.ticks[guild_id] == instants
    started = max(t for t in instants if t <= ride.chatted_at)  # the first tick came before
    ended = max(t for t in instants if t <= ride.offline_at)
    assert len([t for t in instants if started < t <= ended]) > TICKS_WATCHED
    return int((ended - started).total_seconds())


def assert_credited(runtime: Runtime, seconds: int, present: dict[int, set[str]]) -> None:
    """Each guild's viewers (``present``) are credited exactly ``seconds``, and nobody else."""
    totals = {
        g: {row.platform_user_id: row.seconds for row in runtime.watchtime.export(g)}
        for g in EVERYONE
    }
    assert totals == {g: dict.fromkeys(viewers, seconds) for g, viewers in present.items()}


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
    # The embedded default (SQLite); the takeover kill runs
    # (tests/test_durability_takeovers.py) run the split deployment.
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", WallClock(), **SETTINGS)
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
        twitch.hang_next("/helix/channels/vips", HANG, times=1000, method="POST")

    def stalled() -> list[tuple[str, str | None]] | None:
        """The calls, once Twitch was asked and stalled: answered 500, or holds a call."""
        outbox = outbox_of(runtime, redemption_outbox.KIND)
        if trouble == "500":
            asked = bool(twitch.requests_to("/helix/channels/vips", "POST"))
        else:
            asked = (store.PENDING, store.IN_FLIGHT) in outbox
        return outbox if asked and len(outbox) == REDEMPTIONS else None

    ride = await ride_out(
        runtime,
        lambda now: redemptions(twitch, reward_id, now),  # type: ignore[arg-type]
        twitch_chat,
        stalled,
    )

    # Each redemption's call waits: retried after a 500, or behind the one Twitch holds.
    assert {state for state, _ in ride.trouble} == {store.PENDING}
    seconds = ticked_together(ride)
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
STOPPED_WHILE_CALLING = "a worker stopped while making this call"


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(user_id=KICK_STREAMER, username="streamer") as fake:
        yield fake


@pytest.fixture
async def kick_runtime(tmp_path: Path, kick: FakeKick) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", WallClock(), **SETTINGS)
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
        kick.hang_next(CHAT, HANG, times=1000, method="POST")
    asked: list[ChatMessageSent] = []

    def first(now: datetime) -> list[ChatMessageSent]:
        asked.extend(commands(now))
        return asked

    def stalled() -> tuple[list[tuple[str, str | None]], int] | None:
        """The replies and the posts Kick answered, once every reply ended refused (each within
        a second: the sender's pace), or Kick holds the first."""
        replies = outbox_of(runtime, SAY)
        posts = len(kick.requests_to(CHAT, "POST"))
        if trouble == "500":
            shows = _all_final(replies, len(COMMANDERS))
        else:
            held = (store.PENDING, store.IN_FLIGHT)
            shows = len(replies) == len(COMMANDERS) and replies[0] == held
        return (replies, posts) if shows else None

    ride = await ride_out(runtime, first, kick_chat, stalled)
    replies, posts = ride.trouble

    seconds = ticked_together(ride)
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
        # The guild's lines go in order: the first was being posted (Kick holding it: the
        # fake records a request once it answers), the others waiting behind it.
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
    # A hung line may have been posted (Kick got it; no answer came back): it ends uncertain,
    # never posted again, whether the sender gave up on it or the worker stopped while posting.
    # The first hung; each line the sender gave up on (after its 15 s) let the next one be
    # posted into the same hang while the ticks ran: how many depends on the machine's speed.
    hung = len(list(takewhile(lambda call: call[0] == store.UNCERTAIN, ended)))
    assert hung >= 1
    for _, reason in ended[:hung]:
        assert reason is not None
        assert reason.startswith("no_answer: ") or reason == STOPPED_WHILE_CALLING
    assert ended[hung:] == [(store.DONE, "said")] * (len(COMMANDERS) - hung)
    hung_ids = {e.event_id for e in asked[:hung]}
    answered = [m for m in kick.chat_messages if m.reply_to_message_id not in hung_ids]
    assert [m.reply_to_message_id for m in answered] == [e.event_id for e in asked[hung:]]
    # Every line said was the bot's; none, on a machine so busy that every line hung.
    assert {m.type for m in answered} <= {"bot"}
    posted = [r.json["reply_to_message_id"] for r in kick.requests_to(CHAT, "POST")]
    assert [p for p in posted if p not in hung_ids] == [e.event_id for e in asked[hung:]]
    for hung_id in hung_ids:  # Kick never answered a hung post, and none was posted again
        assert posted.count(hung_id) == 0


def _chat_worker(runtime: Runtime) -> OutboxWorker:
    [worker] = [w for w in runtime.outbox_workers if w.service == service_of(Platform.KICK)]
    return worker


def _all_final(calls: list[tuple[str, str | None]], count: int) -> bool:
    return len(calls) == count and all(state in store.FINAL for state, _ in calls)


# Discord is unreachable (the bot cannot log in, and keeps trying): slot call posts and what
# follows account links wait

SLOT_CHANNEL = 5001
CALLERS = [str(9100 + n) for n in range(3)]


@pytest.fixture
async def discord_runtime(tmp_path: Path, kick: FakeKick) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", WallClock(), **SETTINGS)
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

    ride = await ride_out(runtime, slot_calls, kick_chat, lambda: tried_calls(runtime))
    waiting = ride.trouble

    seconds = ticked_together(ride)
    assert_credited(runtime, seconds, {TROUBLED: {"8999", *CALLERS}, **others_present()})
    # The guild's first call was tried and waits for Discord, with why; the others wait behind
    # it, untried (a guild's calls go out in order); the calls were stored meanwhile.
    assert sorted(kind for kind, _, _ in waiting) == ["linking.linked"] * 3 + [POST] * 3
    first, *behind = waiting
    assert first[1:] == (store.PENDING, "the Discord bot is not connected yet")
    assert {(state, result) for _, state, result in behind} == {(store.PENDING, None)}
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


def tried_calls(runtime: Runtime) -> list[tuple[str, str, str | None]] | None:
    """The troubled guild's 6 calls to Discord, oldest first, once all are stored and the
    first was tried, read when it is not being retried (the worker keeps retrying it, and a
    retry holds the call "being made" for the moment it takes to fail); None until then."""
    calls = discord_calls(runtime)
    tried = bool(calls) and calls[0][2] not in (None, store.IN_FLIGHT)
    return calls if len(calls) == 2 * len(CALLERS) and tried else None


def discord_calls(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    """The troubled guild's calls to Discord, oldest first: (kind, state, result). (Its
    replies in Kick's chat are the kick-chat worker's, and the streamer has not connected
    Kick.)"""
    with runtime.engine.connect() as conn:
        stored = store.of_guild(conn, TROUBLED)
    return [(row.kind, row.state, row.result) for row in reversed(stored) if row.kind != SAY]
