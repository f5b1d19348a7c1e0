"""A chat line Kick rate-limits for longer than the sender waits, through the chat outbox, on
SQLite and PostgreSQL: the real Kick sender against a loopback Kick. Nothing went out, so the
line waits what Kick asked (``Retry-After``) and is said then, once; it does not knock again
every few seconds of the worker's backoff (each knock a 429, each an attempt used up)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.chat_commands.queued import SAY, TIMEOUT_SECONDS, QueuedChat, service_of
from core.outbox.worker import OutboxWorker
from core.platforms.kick.api import KickApi
from core.platforms.kick.chat import KickChatSender
from core.ratelimits import MemoryWindows
from core.storage.tables import outbox
from tests.fakes.kick_server import FakeKick
from tests.features.chat_commands.doubles import T0
from tests.support.clock import Clock

GUILD = 111
CHAT = "/public/v1/chat"


def the_line(engine: Engine) -> tuple[str, object, str]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(outbox.c.state, outbox.c.next_attempt_at, outbox.c.result))
        state, due, result = row.one()
    return state, due, result


async def test_a_line_kick_rate_limits_for_long_waits_what_kick_asked_and_is_said_once(
    engine: Engine,
) -> None:
    with FakeKick(user_id=1001, username="streamer") as fake:
        token = fake.issue_user_token(1001)

        async def as_streamer(guild_id: int, call):  # type: ignore[no-untyped-def]
            return await call(token)

        fake.fail_next(CHAT, 429, retry_after=120)
        async with KickApi(fake.url) as api:
            kick = KickChatSender(
                api, streamer_call=as_streamer, bot_user_token=None, windows=MemoryWindows()
            )
            clock = Clock(T0)
            queued = QueuedChat(engine, clock, lambda _: kick)
            queued.queue(Platform.KICK, GUILD, "1001", "The heist starts now!", None)
            kinds = {SAY: queued.kind(Platform.KICK)}
            worker = OutboxWorker(
                engine, service_of(Platform.KICK), kinds, clock, timeout_seconds=TIMEOUT_SECONDS
            )

            await worker.run_once()
            state, due, result = the_line(engine)
            assert (state, due) == ("pending", T0 + timedelta(seconds=120))
            assert "429" in result
            for _ in range(5):  # the worker's backoff would have knocked again by now
                clock.advance(23)
                assert await worker.run_once() == 0
            clock.advance(5)
            await worker.run_once()
            await kick.close()

    assert the_line(engine)[0] == "done"
    assert [m.content for m in fake.chat_messages] == ["The heist starts now!"]
    assert [r.status for r in fake.requests if r.path == CHAT] == [429, 200]
