"""A chat message counted while its guild's window is being posted, on PostgreSQL: the posting
resets the rows of the closed window after it posted them, so a row another transaction made in
between, in that window, would be reset unposted. The count waits for the posting instead
(SQLite's writers are serial anyway). The wait is seen in PostgreSQL's own lock table, so
nothing here depends on timing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from core.features.points import accrual_batch
from tests.features.points.test_earning import ALICE, BOB, GUILD, T0, World, chat
from tests.support.locks import WAIT_LIMIT_SECONDS, waits_for_a_lock


def test_a_chat_counted_while_its_window_is_posted_is_not_reset_unposted(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(postgres_engine)
    world.tick()
    world.minutes(59, ALICE)  # 20:59
    world.watchtime.record_chat(GUILD, chat(ALICE, world.clock()))
    world.clock.advance(60)
    world.watchtime.tick(GUILD, world.clock())  # 21:00: its earning posts the 20:30 window
    counting: list[threading.Thread] = []
    post = accrual_batch._post

    def post_then_count_a_chat(conn, currents):  # type: ignore[no-untyped-def]
        posted = post(conn, currents)
        typed = chat(BOB, T0 + timedelta(minutes=59, seconds=59), "gg")  # BOB has no row
        counting.append(threading.Thread(target=world.earning.record_chat, args=(GUILD, typed)))
        counting[0].start()
        waits_for_a_lock(counting[0], postgres_engine)  # or finished
        return posted

    monkeypatch.setattr(accrual_batch, "_post", post_then_count_a_chat)
    world.earning.earn_all()
    monkeypatch.undo()
    counting[0].join(WAIT_LIMIT_SECONDS)
    world.minutes(30, ALICE)  # 21:30: the window 21:00-21:30 is posted
    assert world.balance(BOB) == 1
