"""The durability runs' model of the rules (``Experiment`` in tests/test_durability.py), checked
on a script small enough to work out by hand: a chat counts from the first tick after it was
sent; one whose delivery was answered after the next instant may count from either tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.test_durability import INTERVAL, Experiment, Sent

START = 1_800_000_000  # an instant: a multiple of INTERVAL
TICKS = [datetime.fromtimestamp(START + n * INTERVAL, UTC) for n in range(4)]


def experiment(*chats: tuple[str, float, float]) -> Experiment:
    """Ticks at the four instants from START; each chat (viewer, sent, answered) said as sent."""
    run = Experiment(env={}, url="", private_key=None, tmp=Path(), ticks=list(TICKS))
    for n, (viewer, sent, answered) in enumerate(chats):
        said = datetime.fromtimestamp(START + sent, UTC).replace(microsecond=0)
        run.chats.append(Sent(viewer, f"chat-{n}", said, f"m{n}", START + sent, START + answered))
    return run


def test_a_chat_counts_from_the_first_tick_after_it_was_sent() -> None:
    run = experiment(("a", 0.5, 0.7), ("b", 2.5, 2.6))
    assert run.expected_seconds() == {"a": 3 * INTERVAL, "b": 2 * INTERVAL}
    assert run.differences({"a": 3 * INTERVAL, "b": 2 * INTERVAL}) == {}


def test_a_second_more_or_less_is_reported_with_what_was_allowed() -> None:
    run = experiment(("a", 0.5, 0.7))
    assert run.differences({"a": 2 * INTERVAL}) == {"a": ([3 * INTERVAL], 2 * INTERVAL)}
    assert run.differences({"a": 3 * INTERVAL, "z": 2}) == {"z": ([0], 2)}
    assert run.differences({}) == {"a": ([3 * INTERVAL], 0)}


def test_a_delivery_answered_after_the_next_instant_may_count_from_either_tick() -> None:
    run = experiment(("a", 1.9, 2.3))
    assert run.chats[0].straddles_an_instant
    assert run.differences({"a": 3 * INTERVAL}) == {}
    assert run.differences({"a": 2 * INTERVAL}) == {}
    assert run.differences({"a": INTERVAL}) == {"a": ([2 * INTERVAL, 3 * INTERVAL], INTERVAL)}


def test_only_the_slow_chat_is_uncertain_not_the_viewers_other_chats() -> None:
    # b chatted in time before; a slow later chat changes nothing: b counts from the first tick.
    run = experiment(("b", 0.5, 0.6), ("b", 1.9, 2.3))
    assert run.differences({"b": 2 * INTERVAL}) == {"b": ([3 * INTERVAL], 2 * INTERVAL)}


def test_a_chat_sent_after_the_last_tick_counts_nothing() -> None:
    last = (len(TICKS) - 1) * INTERVAL
    run = experiment(("a", last + 0.5, last + 0.6))
    assert run.differences({}) == {}
    assert run.differences({"a": INTERVAL}) == {"a": ([0], INTERVAL)}


def test_seconds_stop_at_the_active_window() -> None:
    run = experiment(("a", 0.5, 0.6))
    run.ticks = [TICKS[0], TICKS[1], TICKS[1] + timedelta(seconds=3600)]
    assert run.expected_seconds() == {"a": INTERVAL}  # the last tick: the chat is an hour old
