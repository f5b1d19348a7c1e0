"""Tickets written while a period's close runs (PostgreSQL: the close and the writers are
separate transactions; SQLite runs one writer at a time). The close holds the period's row
while it freezes the ledger; a gift, a Shuffle poll or an admin's give that arrives meanwhile
waits for it and then counts in the next period, or is refused in words: never "done" with
nothing written, never in no period at all."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Viewer
from core.features.raffle import ledger_repository
from core.features.raffle.draws import frozen_ranges
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.tables import raffle_ledger, raffle_periods
from core.features.raffle.wagers.service import WagerService
from core.platforms.shuffle.payloads import WagerRow
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.features.raffle.support import GUILD, add_viewer, gift, make_service
from tests.support.clock import Clock

MARCH = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AFTER_MARCH = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
CODE = "streamer"
WAIT = 60.0  # the longest the close waits for the writer to queue behind it


def someone_waits_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
        return conn.exec_driver_sql(waiting).scalar_one() > 0


@contextmanager
def a_close_under_way(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, close: object
) -> Iterator[None]:
    """``close()`` runs in a thread; once it holds the period's row and is about to freeze the
    ledger, it waits until another transaction waits on a lock (the write under test, made in
    the ``with`` block) or ``WAIT`` seconds, then goes on."""
    freeze = frozen_ranges.freeze
    freezing = threading.Event()

    def freeze_once_a_writer_waits(*args, **kwargs):  # type: ignore[no-untyped-def]
        freezing.set()
        deadline = time.monotonic() + WAIT
        while not someone_waits_on_a_lock(engine) and time.monotonic() < deadline:
            time.sleep(0.02)
        return freeze(*args, **kwargs)

    monkeypatch.setattr(frozen_ranges, "freeze", freeze_once_a_writer_waits)
    closer = threading.Thread(target=close)  # type: ignore[arg-type]
    closer.start()
    try:
        assert freezing.wait(WAIT), "the close never reached its freeze"
        yield
    finally:
        closer.join(WAIT)
    assert not closer.is_alive()


def periods(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        query = sa.select(raffle_periods.c.id, raffle_periods.c.status).order_by("id")
        return [(row.id, row.status) for row in conn.execute(query)]


def ledger(engine: Engine) -> list[tuple[int, str, int]]:
    with engine.connect() as conn:
        query = sa.select(
            raffle_ledger.c.period_id, raffle_ledger.c.source, raffle_ledger.c.amount
        ).order_by(raffle_ledger.c.id)
        return [tuple(row) for row in conn.execute(query)]


def test_a_gift_handled_during_the_month_end_close_counts_in_the_next_period(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    clock = Clock(MARCH)
    raffle = make_service(postgres_engine, clock)
    add_viewer(postgres_engine, "7", "gifter", discord_id=70)
    march = raffle.periods.start(GUILD)
    clock.now = AFTER_MARCH

    with a_close_under_way(postgres_engine, monkeypatch, raffle.run_scheduled):
        # Made at 23:59:58 on March 31st; handled while March closes.
        made = datetime(2026, 3, 31, 23, 59, 58, tzinfo=UTC)
        raffle.record_gift(GUILD, gift("g-1", Viewer("7", "gifter"), ("a", "b"), made))

    (_, closed), (april, status) = periods(postgres_engine)
    assert (closed, status) == ("closed", "open")
    assert ledger(postgres_engine) == [(april, "gift", 2 * 15)]  # in no period before
    assert march.id != april


def test_a_shuffle_poll_during_the_month_end_close_counts_its_wagers_in_the_next_period(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    clock = Clock(MARCH)
    raffle = make_service(postgres_engine, clock)
    add_viewer(postgres_engine, "7", "alice", discord_id=70)
    wagers = WagerService(
        postgres_engine, TokenCipher(TEST_FERNET_KEY), clock=clock,
        tickets_per_thousand=lambda guild_id: 20,
    )  # fmt: skip
    wagers.request_link(GUILD, 70, "Alice")
    wagers.verify(GUILD, admin_id=1, discord_user_id=70, name="Alice")
    raffle.periods.start(GUILD)

    def poll(cents: int) -> None:
        wagers.apply_rows(GUILD, [WagerRow("Alice", CODE, cents)], [CODE], clock())

    poll(0)  # March's baseline
    clock.now = datetime(2026, 3, 31, 23, 55, tzinfo=UTC)
    poll(10_000_00)  # $10,000: 200 tickets in March
    clock.now = AFTER_MARCH
    with a_close_under_way(postgres_engine, monkeypatch, raffle.run_scheduled):
        poll(15_000_00)  # $5,000 more, seen while March closes
    for minutes in (5, 10):
        clock.now = datetime(2026, 4, 1, 0, minutes, tzinfo=UTC)
        poll(15_000_00)

    (march, _), (april, _) = periods(postgres_engine)
    assert ledger(postgres_engine) == [(march, "wager", 200), (april, "wager", 100)]


def test_an_admin_give_during_the_close_is_refused_in_words(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    clock = Clock(MARCH)
    raffle = make_service(postgres_engine, clock)
    add_viewer(postgres_engine, "7", "ana", discord_id=70)
    raffle.periods.start(GUILD)

    with (
        a_close_under_way(postgres_engine, monkeypatch, lambda: raffle.periods.end(GUILD)),
        pytest.raises(RaffleRefused, match="closed a moment ago"),
    ):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=70, tickets=50, reason="prize", reference="discord:1"
        )
    assert ledger(postgres_engine) == []
    # Given again once it has closed: the usual answer.
    with pytest.raises(RaffleRefused, match="No raffle period is open"):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=70, tickets=50, reason="prize", reference="discord:2"
        )


def test_a_held_gift_released_while_the_period_closes_is_granted_once_without_a_deadlock(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    """The gift's hold ends as an admin's `!raffleend` closes the period: the release and the
    close both grant pending gifts. The release takes the period before the gift (as the close
    does), so one waits for the other; taken the other way round they deadlocked, and
    PostgreSQL cancelled one of them."""
    clock = Clock(MARCH)
    raffle = make_service(postgres_engine, clock)
    add_viewer(postgres_engine, "7", "gifter", discord_id=70)
    raffle.periods.start(GUILD)
    raffle.periods.configure(GUILD, "hold_minutes", "5")
    raffle.record_gift(GUILD, gift("g-1", Viewer("7", "gifter"), ("a", "b"), MARCH))
    clock.now = MARCH + timedelta(minutes=6)
    add = ledger_repository.add_ledger_entry
    granting, failures = threading.Event(), []

    def add_once_the_close_waits(conn, **entry):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "release":
            granting.set()  # the release holds what it took so far; the close starts now
            deadline = time.monotonic() + WAIT
            while not someone_waits_on_a_lock(postgres_engine) and time.monotonic() < deadline:
                time.sleep(0.02)
        return add(conn, **entry)

    monkeypatch.setattr(ledger_repository, "add_ledger_entry", add_once_the_close_waits)

    def run(work) -> None:  # type: ignore[no-untyped-def]
        try:
            work()
        except Exception as exc:  # what the test reports
            failures.append(exc)

    release = threading.Thread(target=run, args=(raffle.release_gifts,), name="release")
    release.start()
    assert granting.wait(WAIT)
    run(lambda: raffle.periods.end(GUILD))
    release.join(WAIT)

    assert failures == []
    assert [status for _, status in periods(postgres_engine)] == ["closed"]
    assert ledger(postgres_engine) == [(periods(postgres_engine)[0][0], "gift", 2 * 15)]


def _three_viewers_with_tickets(engine: Engine, raffle) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n in range(3):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=10 + n, reason="", reference=f"m{n}"
        )


def _drawn_proof_verifies(raffle, clock: Clock) -> list[str]:  # type: ignore[no-untyped-def]
    """Draw the closed period and check its export as anyone would; the ledger's viewers."""
    from core.features.raffle.draws.verification import verify

    clock.advance(minutes=1)
    raffle.draws.request(GUILD, actor_id=1, winners=2)  # no beacon here: it waits, then is forced
    raffle.draws.force(GUILD, actor_id=1)
    with raffle.engine.connect() as conn:
        closed = conn.execute(
            sa.select(sa.func.max(raffle_periods.c.id)).where(raffle_periods.c.status == "closed")
        ).scalar_one()
    proof = raffle.views.export(closed)
    result = verify(proof.document, proof.ledger)
    assert result.matches, result.problems
    return sorted({entry["platform_user_id"] for entry in proof.ledger["entries"]})


def test_a_forget_under_way_when_the_period_closes_is_waited_for(postgres_engine: Engine):
    """The operator's `privacy forget` has deleted a viewer's tickets of the open period and
    not committed yet when the month-end close runs: the close waits for it, then freezes and
    hashes the ledger without them. Before, the close hashed them and the forget deleted them
    from the closed period afterwards: the genuine proof no longer verified."""
    from core.features.person_data import find_person
    from core.features.person_forget import forget

    clock = Clock(MARCH)
    raffle = make_service(postgres_engine, clock)
    _three_viewers_with_tickets(postgres_engine, raffle)
    with postgres_engine.connect() as forgetting, forgetting.begin():
        report = forget(forgetting, find_person(forgetting, 100), clock(), delete=True)
        assert report.deleted["raffle_ledger"] == 1
        clock.now = AFTER_MARCH
        closer = threading.Thread(target=raffle.run_scheduled)
        closer.start()
        deadline = time.monotonic() + WAIT
        while not someone_waits_on_a_lock(postgres_engine) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert someone_waits_on_a_lock(postgres_engine), "the close did not wait"
    closer.join(WAIT)
    assert not closer.is_alive()

    assert _drawn_proof_verifies(raffle, clock) == ["u1", "u2"]


def test_a_forget_that_comes_during_the_close_leaves_the_closed_ledger_as_frozen(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    """The other way round: the forget waits for the close, then finds the period closed and
    keeps the viewer's line there, as the evidence of its draw."""
    from core.features.person_data import find_person
    from core.features.person_forget import forget

    clock = Clock(MARCH)
    raffle = make_service(postgres_engine, clock)
    _three_viewers_with_tickets(postgres_engine, raffle)
    clock.now = AFTER_MARCH
    with (
        a_close_under_way(postgres_engine, monkeypatch, raffle.run_scheduled),
        postgres_engine.begin() as forgetting,
    ):
        report = forget(forgetting, find_person(forgetting, 100), clock(), delete=True)
    assert "raffle_ledger" not in report.deleted
    assert report.kept["raffle_ledger"][0] == 1

    assert _drawn_proof_verifies(raffle, clock) == ["u0", "u1", "u2"]
