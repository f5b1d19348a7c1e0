"""A name held by one holder at a time: across processes on PostgreSQL (two engines stand for
two processes), within the process on SQLite; given back however the holder's block ends, and
never left locked on a pooled connection."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from core.ownership.exclusive import Exclusive
from core.storage.db import create_engine

HELD_ADVISORY_LOCKS = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")


async def second_waits_for_first(first: Exclusive, second: Exclusive) -> list[str]:
    order: list[str] = []
    entered = asyncio.Event()

    async def hold_then_fail() -> None:
        async with first.held("channel 1"):
            entered.set()
            await asyncio.sleep(0.3)
            order.append("first done")
            raise RuntimeError("the holder's work failed")

    async def wait_then_hold() -> None:
        await entered.wait()
        async with second.held("channel 1"):
            order.append("second in")
        async with second.held("channel 2"):  # another name is never held up
            order.append("other name")

    results = await asyncio.gather(hold_then_fail(), wait_then_hold(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    return order


def test_on_postgresql_a_name_is_held_across_processes_and_given_back(postgres_engine):
    other_process = create_engine(str(postgres_engine.url.render_as_string(hide_password=False)))
    try:
        order = asyncio.run(
            second_waits_for_first(Exclusive(postgres_engine), Exclusive(other_process))
        )
    finally:
        other_process.dispose()

    assert order == ["first done", "second in", "other name"]
    with postgres_engine.connect() as conn:  # the pooled connections hold nothing
        assert conn.execute(HELD_ADVISORY_LOCKS).scalar_one() == 0


def test_on_sqlite_a_name_is_held_within_the_process(sqlite_engine):
    exclusive = Exclusive(sqlite_engine)

    order = asyncio.run(second_waits_for_first(exclusive, exclusive))

    assert order == ["first done", "second in", "other name"]


def test_holders_on_another_event_loop_take_turns_too(sqlite_engine):
    """The dashboard runs a sync on an event loop of its own: the lock is tied to none."""
    exclusive = Exclusive(sqlite_engine)
    asyncio.run(second_waits_for_first(exclusive, exclusive))

    order = asyncio.run(second_waits_for_first(exclusive, exclusive))

    assert order == ["first done", "second in", "other name"]
