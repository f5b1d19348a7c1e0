"""A batch of guilds per call; a batch that fails done again guild by guild, each guild's
failure logged and its own."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

import pytest

from core.features.guild_batches import work_in_batches

log = logging.getLogger("test_guild_batches")


def _work(
    guild_ids: Sequence[int],
    *,
    failing_batch: Collection[int] = (),
    failing_guilds: Collection[int] = (),
    calls: list[tuple[str, object]] | None = None,
) -> list[str]:
    calls = [] if calls is None else calls

    def batch(ids: list[int]) -> list[str]:
        calls.append(("batch", ids))
        if set(ids) & set(failing_batch):
            raise RuntimeError("a batch that fails")
        return [f"batch:{guild_id}" for guild_id in ids]

    def guild(guild_id: int) -> str:
        calls.append(("guild", guild_id))
        if guild_id in failing_guilds:
            raise RuntimeError("a guild that fails")
        return f"alone:{guild_id}"

    return work_in_batches(
        guild_ids,
        3,
        batch,
        guild,
        log=log,
        batch_failed="a batch of %d failed",
        guild_failed="guild %s failed",
    )


def test_guilds_go_in_batches_of_the_size_given_in_order():
    calls: list[tuple[str, object]] = []
    results = _work(range(1, 8), calls=calls)
    assert calls == [("batch", [1, 2, 3]), ("batch", [4, 5, 6]), ("batch", [7])]
    assert results == [f"batch:{n}" for n in range(1, 8)]


def test_no_guilds_no_calls():
    calls: list[tuple[str, object]] = []
    assert _work([], calls=calls) == []
    assert calls == []


def test_a_failed_batch_is_done_guild_by_guild_and_a_failing_guild_is_left_out(
    caplog: pytest.LogCaptureFixture,
):
    with caplog.at_level(logging.WARNING, logger=log.name):
        results = _work([1, 2, 3, 4, 5], failing_batch=[5], failing_guilds=[5])
    assert results == ["batch:1", "batch:2", "batch:3", "alone:4"]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "a batch of 2 failed"),
        ("ERROR", "guild 5 failed"),
    ]
    assert all(r.exc_info is not None for r in caplog.records)
