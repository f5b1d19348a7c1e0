"""A post made outside the outbox's workers (a heist result, a raffle announcement) that Discord
refused for good, written as a refused call on SQLite and PostgreSQL: listed with the calls the
bot could not do, once however often it is written, and never made by a worker."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from core.outbox import DISCORD, store
from core.outbox.refused_elsewhere import record_refused
from core.outbox.store import Effect
from core.outbox.undone import UndoneCalls
from core.outbox.worker import OutboxWorker
from tests.support.clock import Clock

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILD = 111
WORDS = "not posted: I may not post in the heist channel; give me Send Messages there"


async def test_a_refusal_written_twice_is_one_refused_call_no_worker_makes(engine: Engine):
    clock = Clock(T0)
    effect = Effect(DISCORD, "heist-result", GUILD, "heist:7:discord-result", {}, "post heist #7")
    with engine.begin() as conn:
        assert record_refused(conn, effect, WORDS, clock()) is True
    clock.advance(60)
    with engine.begin() as conn:
        assert record_refused(conn, effect, WORDS, clock()) is False

    [call] = UndoneCalls(engine, clock).recent(GUILD).calls
    assert (call.partner, call.what, call.failed, call.answer, call.times) == (
        "Discord", "post heist #7", False, WORDS, 1
    )  # fmt: skip
    assert call.finished_at == T0

    async def make(*args: object) -> None:
        raise AssertionError("a refused post is never made again")

    worker = OutboxWorker(engine, DISCORD, {"heist-result": make}, clock)
    assert not await worker.run_once()
    with engine.connect() as conn:
        [stored] = store.of_guild(conn, GUILD)
    assert (stored.state, stored.attempts) == ("refused", 1)
