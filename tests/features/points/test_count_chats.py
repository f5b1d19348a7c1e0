"""Counting chat messages in a batch gives what the rules give one message at a time: the same
answers, counters and points, on both backends, for any mix of viewers, platforms, repeats,
redeliveries, late messages and hours (hypothesis), in a few statements whatever its length."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.features.points import accrual
from core.features.points.accrual import Chat
from core.features.points.tables import points_accrual

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
_guilds = itertools.count(500_000_000_000_000_000)

chats = st.lists(
    st.builds(
        Chat,
        platform=st.sampled_from(["kick", "twitch"]),
        user_id=st.sampled_from(["1", "2", "3"]),
        # Equal, earlier and later times; two hours, so caps start again.
        at=st.integers(0, 7200).map(lambda s: T0 + timedelta(seconds=s)),
        digest=st.sampled_from(["a", "b", "c"]),
    ),
    max_size=30,
)


def _counters(conn, guild_id: int) -> list[sa.Row]:
    a = points_accrual.c
    return conn.execute(
        sa.select(
            a.platform, a.platform_user_id, a.window_start, a.chat_points, a.chat_hour,
            a.chat_count, a.last_chat_at, a.last_chat_digest,
        )
        .where(a.guild_id == guild_id)
        .order_by(a.platform, a.platform_user_id)
    ).all()  # fmt: skip


def _count(conn, guild_id: int, batch: list[Chat], points: int, cap: int) -> list[bool]:
    return accrual.count_chats(conn, guild_id, batch, points=points, cap=cap, window_minutes=30)


class Rules:
    """The chat rules, message by message, in plain Python: a message counts when it is after
    the viewer's last one seen, its text differs from that one's, the viewer's count in its hour
    is under the cap and a message earns something; a message not after the last one seen
    changes nothing."""

    def __init__(self, points: int, cap: int) -> None:
        self.points, self.cap = points, cap
        self.viewers: dict[tuple[str, str], dict] = {}

    def count(self, chat: Chat) -> bool:
        viewer = self.viewers.setdefault(
            (chat.platform, chat.user_id),
            {"points": 0, "hour": None, "count": 0, "last_at": None, "digest": None},
        )
        if viewer["last_at"] is not None and chat.at <= viewer["last_at"]:
            return False
        hour = chat.at.replace(minute=0, second=0)
        so_far = viewer["count"] if viewer["hour"] == hour else 0
        counts = chat.digest != viewer["digest"] and so_far < self.cap and self.points > 0
        if counts:
            viewer.update(points=viewer["points"] + self.points, hour=hour, count=so_far + 1)
        viewer.update(last_at=chat.at, digest=chat.digest)
        return counts

    def rows(self) -> list[tuple]:
        return [
            (platform, user_id, v["points"], v["hour"], v["count"], v["last_at"], v["digest"])
            for (platform, user_id), v in sorted(self.viewers.items())
        ]


def _as_rules_rows(rows: list[sa.Row]) -> list[tuple]:
    def aware(moment):
        return None if moment is None else moment.replace(tzinfo=UTC)

    return [
        (r.platform, r.platform_user_id, r.chat_points, aware(r.chat_hour), r.chat_count,
         aware(r.last_chat_at), r.last_chat_digest)
        for r in rows
    ]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(earlier=chats, later=chats, points=st.integers(0, 3), cap=st.integers(0, 3))
def test_a_batch_counts_what_the_rules_count_one_message_at_a_time(
    engine, earlier, later, points, cap
):
    rules = Rules(points, cap)
    for chat in earlier:
        rules.count(chat)
    expected = [rules.count(chat) for chat in later]
    batched, single = next(_guilds), next(_guilds)
    with engine.begin() as conn:
        # What the viewers did before (so their rows exist), then the batch under test.
        _count(conn, batched, earlier, points, cap)
        assert _count(conn, batched, later, points, cap) == expected
        for chat in earlier:
            _count(conn, single, [chat], points, cap)
        assert [_count(conn, single, [chat], points, cap)[0] for chat in later] == expected
        assert _as_rules_rows(_counters(conn, batched)) == rules.rows()
        assert _as_rules_rows(_counters(conn, single)) == rules.rows()


def test_a_batch_counts_repeats_caps_and_redeliveries_exactly(engine):
    guild = next(_guilds)
    hi, again = Chat("kick", "1", T0, "hi"), Chat("kick", "1", T0 + timedelta(seconds=1), "hi")
    batch = [
        hi,
        hi,  # delivered twice
        again,  # the same text as the last: seen, not counted
        Chat("kick", "1", T0 - timedelta(seconds=1), "late"),  # older than the last seen
        Chat("kick", "1", T0 + timedelta(seconds=2), "two"),
        Chat("kick", "1", T0 + timedelta(seconds=3), "three"),  # over the cap of 2
        Chat("kick", "1", T0 + timedelta(hours=1), "next hour"),  # the cap starts again
        Chat("twitch", "1", T0, "hi"),  # the same id on another platform is another viewer
    ]
    with engine.begin() as conn:
        answers = accrual.count_chats(conn, guild, batch, points=5, cap=2, window_minutes=30)
        rows = {row[:2]: row for row in _counters(conn, guild)}
    assert answers == [True, False, False, False, True, False, True, True]
    kick, twitch = rows["kick", "1"], rows["twitch", "1"]
    assert (kick.chat_points, kick.chat_count, kick.last_chat_digest) == (15, 1, "next hour")
    assert (twitch.chat_points, twitch.chat_count) == (5, 1)
    assert kick.window_start.replace(tzinfo=UTC) == T0  # the window of the viewer's first message


@pytest.mark.parametrize(("viewers", "statements"), [(1, 3), (600, 5)])
def test_a_batch_of_any_length_costs_two_statements_per_500_viewers_and_one_write(
    engine, viewers, statements
):
    guild = next(_guilds)
    batch = [
        Chat("kick", str(n % viewers), T0 + timedelta(seconds=n), f"m{n}") for n in range(1200)
    ]
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:
            answers = accrual.count_chats(conn, guild, batch, points=1, cap=9999, window_minutes=30)
            rows = _counters(conn, guild)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert all(answers)
    assert len(rows) == viewers
    assert sum(row.chat_points for row in rows) == 1200
    chunks = -(-viewers // 500)
    assert seen.count("INSERT") == seen.count("SELECT") - 1 == chunks  # and _counters' SELECT
    assert seen.count("UPDATE") == 1
    assert len([s for s in seen if s in ("INSERT", "SELECT", "UPDATE")]) == statements + 1
