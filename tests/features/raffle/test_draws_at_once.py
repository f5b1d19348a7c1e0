"""Two draw requests of one period at once (PostgreSQL: two admins, or an admin beside the
scheduler's draw at the close): one draw waits for the beacon, and the other is refused in
words. Before, both passed the "already waiting" check and two draws waited with the same first
counter; completed out of order, the later one ignored the earlier one's winners and the proof
no longer verified."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.tables import raffle_draws
from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.features.raffle.test_writes_during_a_close import WAIT, someone_waits_on_a_lock
from tests.support.clock import Clock


def test_two_draw_requests_at_once_make_one_waiting_draw(postgres_engine: Engine, monkeypatch):
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    raffle = make_service(postgres_engine, clock)
    for n in range(3):
        add_viewer(postgres_engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n in range(3):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=5, reason="", reference=f"m{n}"
        )
    raffle.periods.end(GUILD)  # no beacon here: its draw would wait; none is asked for yet
    with postgres_engine.begin() as conn:
        conn.execute(sa.delete(raffle_draws))

    checked, arrived = draws_repository.has_waiting_draw, []

    def check_once_both_are_here(*args, **kwargs):  # type: ignore[no-untyped-def]
        # Each request checks, then waits until the other has checked too, or is held waiting
        # on a lock before its check (then it is not coming until this one commits).
        found = checked(*args, **kwargs)
        arrived.append(threading.get_ident())  # one append: atomic under the GIL
        deadline = time.monotonic() + WAIT
        while len(arrived) < 2 and not someone_waits_on_a_lock(postgres_engine):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return found

    monkeypatch.setattr(draws_repository, "has_waiting_draw", check_once_both_are_here)
    answers: list[object] = []

    def ask(actor_id: int) -> None:
        try:
            answers.append(raffle.draws.request(GUILD, actor_id=actor_id, try_now=False))
        except RaffleRefused as refused:
            answers.append(refused)

    asking = [threading.Thread(target=ask, args=(actor,)) for actor in (1, 2)]
    for thread in asking:
        thread.start()
    for thread in asking:
        thread.join(2 * WAIT)
    assert not any(thread.is_alive() for thread in asking)

    refused = [a for a in answers if isinstance(a, RaffleRefused)]
    assert len(refused) == 1, answers
    assert "already waiting for the beacon" in str(refused[0])
    with postgres_engine.connect() as conn:
        waiting = conn.execute(
            sa.select(sa.func.count()).where(raffle_draws.c.status == "waiting")
        ).scalar_one()
    assert waiting == 1
