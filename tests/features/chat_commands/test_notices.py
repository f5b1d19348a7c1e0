"""What the bot says on its own, through the chat outbox (SQLite and PostgreSQL): "online" once
per coming online of a channel, whoever and however often it is told (a webhook and Pusher, a
redelivery, two processes), and nothing where the bot cannot talk."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform, StreamEnded, StreamStarted
from core.features.chat_commands.answering import AnsweringGuilds
from core.features.chat_commands.notices import ChatNotices, online_text, vip_text
from core.features.chat_commands.queued import QueuedChat
from core.features.guilds.service import GuildService
from core.features.watchtime.service import WatchtimeService, WatchtimeSettings
from core.storage.tables import outbox
from tests.features.chat_commands.doubles import T0, RecordingSender
from tests.features.chat_commands.test_commands import connect_streamer
from tests.features.chat_commands.test_queued import GUILD, chat_worker, outcomes
from tests.support.clock import Clock

COMMANDS = ["call", "heist", "join", "sr", "tickets", "tier", "watchtime", "wt"]


def started(event_id: str, at=T0, platform: Platform = Platform.KICK) -> StreamStarted:  # type: ignore[no-untyped-def]
    return StreamStarted(
        platform=platform, event_id=event_id, broadcaster_user_id="42", occurred_at=at
    )


def notices(engine: Engine, *, can_talk: bool = True) -> ChatNotices:
    return ChatNotices(engine, Clock(T0), lambda platform: can_talk, lambda: COMMANDS)


async def test_the_bot_says_once_that_it_is_online_when_the_channel_goes_live(engine: Engine):
    kick = RecordingSender()
    first, second = notices(engine), notices(engine)  # two bot processes
    first.handle_stream_started(GUILD, started("webhook-1"))
    first.handle_stream_started(GUILD, started("webhook-1"))  # a redelivery
    second.handle_stream_started(GUILD, started("pusher-abc"))  # Pusher told the same start

    await chat_worker(QueuedChat(engine, Clock(T0), lambda _: kick)).run_once()

    assert kick.texts == [
        "StreamKeeper is online for this stream. Try !watchtime, !tickets, !call, !join, "
        "!heist, !tier."
    ]
    assert kick.sent[0].broadcaster_user_id == "42"
    assert outcomes(engine) == [("done", "said")]


async def test_the_next_coming_online_is_said_again(engine: Engine):
    kick = RecordingSender()
    bot = notices(engine)
    bot.handle_stream_started(GUILD, started("s1"))
    bot.handle_stream_started(GUILD, started("s2", T0 + timedelta(hours=5)))
    await chat_worker(QueuedChat(engine, Clock(T0), lambda _: kick)).run_once()
    assert len(kick.texts) == 2


async def test_an_old_streams_late_start_says_nothing(engine: Engine):
    """Twitch delivered stream 1's stream.online after stream 2 began, and another copy after
    stream 1's own stream.offline: the chat hears "online" for stream 2 only."""
    kick = RecordingSender()
    bot = notices(engine)
    watchtime = WatchtimeService(engine, WatchtimeSettings(), Clock(T0))
    first, second = started("s1"), started("s2", T0 + timedelta(hours=3))
    ended = StreamEnded(
        platform=Platform.KICK,
        event_id="e1",
        broadcaster_user_id="42",
        occurred_at=T0 + timedelta(hours=2),
    )
    watchtime.record_stream_state(GUILD, ended)  # stream 1's end came first
    bot.handle_stream_started(GUILD, first)  # its start, late
    for event in (second, first):  # stream 2, then stream 1's start once more
        watchtime.record_stream_state(GUILD, event)
        bot.handle_stream_started(GUILD, event)

    await chat_worker(QueuedChat(engine, Clock(T0), lambda _: kick)).run_once()
    assert len(kick.texts) == 1
    with engine.connect() as conn:
        [key] = conn.execute(sa.select(outbox.c.effect_key)).scalars().all()
    assert key.endswith(second.occurred_at.strftime(":%Y%m%dT%H%M%S"))  # stream 2's


MAIN_SERVER, SECOND_SERVER = 111, 222  # two Discord servers following the same channel


def chat_lines(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.guild_id, outbox.c.service)).all()
    return [(row.guild_id, row.service) for row in rows]


async def test_a_channel_two_servers_follow_hears_online_once_per_stream(engine: Engine):
    kick = RecordingSender()
    event = started("webhook-1")
    notices(engine).handle_streams_started([(MAIN_SERVER, event), (SECOND_SERVER, event)])
    notices(engine).handle_stream_started(SECOND_SERVER, started("pusher-abc"))  # lane by lane

    await chat_worker(QueuedChat(engine, Clock(T0), lambda _: kick)).run_once()
    assert [line.broadcaster_user_id for line in kick.sent] == ["42"]


def test_online_is_queued_by_the_server_whose_streamer_connection_is_the_channel(
    engine: Engine,
):
    """The Kick sender talks with the guild's streamer connection: the notice is that
    guild's line, whichever guild's copy of the stream start comes first."""
    guilds = GuildService(engine, Clock(T0))
    for guild_id in (MAIN_SERVER, SECOND_SERVER):
        guilds.set_kick_channel(guild_id, "slotfans", "42")
    connect_streamer(engine, SECOND_SERVER, "42", "connected")
    answering = AnsweringGuilds(engine, guilds.guilds_tracking)
    bot = ChatNotices(engine, Clock(T0), lambda platform: True, lambda: COMMANDS, answering)

    bot.handle_stream_started(MAIN_SERVER, started("webhook-1"))
    assert chat_lines(engine) == []  # not the server that speaks in this chat
    bot.handle_streams_started([(MAIN_SERVER, started("w")), (SECOND_SERVER, started("w"))])
    assert chat_lines(engine) == [(SECOND_SERVER, "kick-chat")]


def test_where_the_bot_cannot_talk_nothing_is_queued(engine: Engine):
    notices(engine, can_talk=False).handle_stream_started(GUILD, started("s1"))
    assert outcomes(engine) == []


def test_the_texts_fit_one_message_and_never_start_a_command():
    assert online_text([]) == "StreamKeeper is online for this stream."
    assert vip_text(True, "!VIP for a day") == (
        "VIP redemptions are paused for now: VIP for a day cannot be redeemed."
    )
    assert vip_text(False, None) == (
        "VIP redemptions are back on: redeem the VIP reward for a while as VIP."
    )
