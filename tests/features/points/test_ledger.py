"""The points ledger: credits, spends and crowds, exact and never below zero, on both backends."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.points import repository
from core.features.points.repository import NotEnough, PointsEntry
from core.features.points.service import NotEnoughPoints, PointsRefused, PointsService
from core.features.points.tables import points_balances, points_ledger
from core.storage.db import create_engine
from tests.support.clock import Clock

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
GUILD = 1001
OTHER_GUILD = 2002


def entry(amount: int, ref: str, user: str = "u1", *, guild: int = GUILD, source: str = "test"):
    return PointsEntry(GUILD if guild is None else guild, Platform.KICK, user, amount, source, ref,
                       NOW)  # fmt: skip


def ledger_sum(conn, guild: int, user: str) -> int:
    l = points_ledger.c  # noqa: E741
    return conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(l.amount), 0)).where(
            l.guild_id == guild, l.platform_user_id == user
        )
    ).scalar_one()


def test_credit_then_spend_moves_the_balance_and_writes_one_row_each(engine):
    with engine.begin() as conn:
        assert repository.credit(conn, entry(500, "c1")) == 500
        assert repository.spend(conn, entry(200, "s1")) == 300
    with engine.connect() as conn:
        assert repository.balance_of(conn, GUILD, Platform.KICK, "u1") == 300
        assert ledger_sum(conn, GUILD, "u1") == 300
        assert [row.amount for row in repository.ledger_of(conn, GUILD, Platform.KICK, "u1")] == [
            -200,
            500,
        ]


def test_a_retried_credit_or_spend_changes_nothing(engine):
    with engine.begin() as conn:
        repository.credit(conn, entry(500, "c1"))
        assert repository.credit(conn, entry(500, "c1")) is None
        repository.spend(conn, entry(100, "s1"))
        assert repository.spend(conn, entry(100, "s1")) is None
    with engine.connect() as conn:
        assert repository.balance_of(conn, GUILD, Platform.KICK, "u1") == 400
        assert ledger_sum(conn, GUILD, "u1") == 400


def test_a_spend_beyond_the_balance_is_refused_and_writes_nothing(engine):
    with engine.begin() as conn:
        repository.credit(conn, entry(50, "c1"))
    with pytest.raises(NotEnough) as refused, engine.begin() as conn:
        repository.spend(conn, entry(51, "s1"))
    assert (refused.value.balance, refused.value.needed) == (50, 51)
    with pytest.raises(NotEnough) as nobody, engine.begin() as conn:
        repository.spend(conn, entry(1, "s2", user="never-earned"))
    assert nobody.value.balance == 0
    with engine.connect() as conn:
        assert repository.balance_of(conn, GUILD, Platform.KICK, "u1") == 50
        assert conn.execute(sa.select(sa.func.count()).select_from(points_ledger)).scalar() == 1


def test_the_database_itself_refuses_a_negative_balance(engine):
    with engine.begin() as conn:
        repository.credit(conn, entry(5, "c1"))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.update(points_balances).values(points=-1))


def test_guilds_do_not_share_balances_or_references(engine):
    with engine.begin() as conn:
        repository.credit(conn, entry(10, "same-ref"))
        assert repository.credit(conn, entry(20, "same-ref", guild=OTHER_GUILD)) == 20
    with engine.connect() as conn:
        assert repository.balance_of(conn, GUILD, Platform.KICK, "u1") == 10
        assert repository.balance_of(conn, OTHER_GUILD, Platform.KICK, "u1") == 20
        assert repository.balance_of(conn, GUILD, Platform.TWITCH, "u1") == 0


def test_a_crowd_is_credited_once_per_key_even_with_repeats(engine):
    crowd = [entry(10, f"r{n}", user=f"u{n % 3}") for n in range(9)]
    crowd.append(entry(999, "r0", user="u0"))  # a repeat of a key earlier in the batch
    with engine.begin() as conn:
        written = repository.credit_many(conn, crowd)
    assert written == {(GUILD, "test", f"r{n}") for n in range(9)}
    with engine.begin() as conn:  # the same crowd again: a retry
        assert repository.credit_many(conn, crowd) == set()
    with engine.connect() as conn:
        found = repository.balances_of(conn, GUILD, Platform.KICK, ["u0", "u1", "u2", "u9"])
        assert found == {"u0": 30, "u1": 30, "u2": 30}
        for user in ("u0", "u1", "u2"):
            assert ledger_sum(conn, GUILD, user) == found[user]


def test_service_admin_grants_and_removals(engine):
    points = PointsService(engine, Clock(NOW))
    assert points.give(GUILD, Platform.KICK, "u1", 300, actor_id=42, reason="  welcome ") == 300
    assert points.remove(GUILD, Platform.KICK, "u1", 100, actor="cli") == 200
    with pytest.raises(NotEnoughPoints, match="only 200 points"):
        points.remove(GUILD, Platform.KICK, "u1", 201, actor_id=42)
    for bad in (0, -5, 1_000_000_001):
        with pytest.raises(PointsRefused, match="whole number"):
            points.give(GUILD, Platform.KICK, "u1", bad, actor_id=42)
    assert points.balance(GUILD, Platform.KICK, "u1") == 200
    with engine.connect() as conn:
        rows = repository.ledger_of(conn, GUILD, Platform.KICK, "u1")
    assert [(r.amount, r.source, r.actor_id, r.actor, r.reason) for r in rows] == [
        (-100, "admin", None, "cli", ""),
        (300, "admin", 42, None, "welcome"),
    ]


def test_a_reference_used_for_another_change_is_refused_not_taken_for_it(engine):
    """An admin request's reference names one change: the same request again says the balance;
    the reference sent with another change (a removal, another amount or viewer) is refused in
    words, and nothing moves."""
    points = PointsService(engine, Clock(NOW))
    assert points.give(GUILD, Platform.KICK, "u1", 500, actor="test", ref="form:1") == 500
    assert points.give(GUILD, Platform.KICK, "u1", 500, actor="test", ref="form:1") == 500
    other_changes = [
        (points.remove, "u1", 500),
        (points.give, "u1", 400),
        (points.give, "u2", 500),
        (points.remove, "u2", 1),
    ]
    for change, user, amount in other_changes:
        with pytest.raises(PointsRefused, match="This form was used already; reload the page"):
            change(GUILD, Platform.KICK, user, amount, actor="test", ref="form:1")
    assert points.remove(GUILD, Platform.KICK, "u1", 200, actor="test", ref="form:2") == 300
    assert points.remove(GUILD, Platform.KICK, "u1", 200, actor="test", ref="form:2") == 300
    with pytest.raises(PointsRefused, match="This form was used already"):
        points.give(GUILD, Platform.KICK, "u1", 200, actor="test", ref="form:2")
    assert points.balance(GUILD, Platform.KICK, "u1") == 300
    assert points.balance(GUILD, Platform.KICK, "u2") == 0


def test_an_admin_reason_past_200_characters_is_refused_not_cut(engine):
    points = PointsService(engine, Clock(NOW))
    points.give(GUILD, Platform.KICK, "u1", 50)
    for change in (points.give, points.remove):
        with pytest.raises(PointsRefused, match="Keep the reason under 200 characters"):
            change(GUILD, Platform.KICK, "u1", 5, actor_id=42, reason="r" * 201)
    assert points.give(GUILD, Platform.KICK, "u1", 5, reason=f" {'w' * 200} ") == 55
    with engine.connect() as conn:
        rows = repository.ledger_of(conn, GUILD, Platform.KICK, "u1")
    assert [r.reason for r in rows] == ["w" * 200, ""]


def test_service_names_the_currency_per_guild(engine):
    points = PointsService(engine, Clock(NOW))
    assert points.name(GUILD) == "points"
    assert points.set_name(GUILD, "  Pixel   Coins ") == "Pixel Coins"
    assert points.name(GUILD) == "Pixel Coins"
    assert points.name(OTHER_GUILD) == "points"
    for bad in ("", "   ", "x" * 33, "@everyone", "<@123>"):
        with pytest.raises(PointsRefused):
            points.set_name(GUILD, bad)
    assert points.name(GUILD) == "Pixel Coins"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Pixels\u200b", "Pixels"),  # a zero-width space copied along with the name
        ("\u202eslexiP", "slexiP"),  # a direction override turned every line after it around
        ("Pix\u0000els", "Pixels"),
        ("\uff30ixels", "Pixels"),  # full-width letters fold to plain ones
    ],
)
def test_a_currency_name_keeps_no_invisible_characters(engine, typed, kept):
    points = PointsService(engine, Clock(NOW))
    assert points.set_name(GUILD, typed) == kept
    assert points.name(GUILD) == kept


@pytest.mark.parametrize("bad", ["\uff20everyone", "\u200b", "<\u200b@123>"])
def test_a_currency_name_that_is_a_mention_once_cleaned_is_refused(engine, bad):
    points = PointsService(engine, Clock(NOW))
    with pytest.raises(PointsRefused):
        points.set_name(GUILD, bad)
    assert points.name(GUILD) == "points"


def test_eight_concurrent_spends_of_one_viewer_never_overspend_on_postgres(postgres_engine):
    with postgres_engine.begin() as conn:
        repository.credit(conn, entry(250, "c1"))
    results: list[object] = []
    start = threading.Barrier(8)

    def spender(n: int) -> None:
        start.wait()
        try:
            with postgres_engine.begin() as conn:
                results.append(repository.spend(conn, entry(100, f"s{n}")))
        except NotEnough:
            results.append("refused")

    threads = [threading.Thread(target=spender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r for r in results if r != "refused") == [50, 150]
    assert results.count("refused") == 6
    with postgres_engine.connect() as conn:
        assert repository.balance_of(conn, GUILD, Platform.KICK, "u1") == 50
        assert ledger_sum(conn, GUILD, "u1") == 50


def _someone_waits_for_a_lock(engine, within: float = 30.0) -> bool:
    """True once a backend of this database waits for a row lock (bounded: False after
    ``within`` seconds, which only a broken run takes)."""
    deadline = time.monotonic() + within
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return True
        threading.Event().wait(0.02)
    return False


def test_a_removal_double_clicked_is_not_refused_for_what_its_twin_took(postgres_engine):
    """Take away 1,000 of 1,500, the form sent twice at once (one reference). The second request
    looks for the reference before the first commits, then waits on the balance row; once the
    first commits 500 is left, and the second must answer the balance, not "They have only 500
    points; cannot remove 1,000." for a removal that was made."""
    points = PointsService(postgres_engine, Clock(NOW))
    points.give(GUILD, Platform.KICK, "u1", 1500, actor="test")
    ref = "dashboard:remove:" + "a" * 32
    first = postgres_engine.connect()
    first_tx = first.begin()
    # The first request's transaction (PointsService.remove) up to its commit.
    twin = PointsEntry(GUILD, Platform.KICK, "u1", 1000, "admin", ref, NOW, actor="dashboard")
    assert repository.written_change(first, twin) is None
    assert repository.spend(first, twin) == 500
    outcome: list[object] = []

    def second() -> None:
        try:
            outcome.append(points.remove(GUILD, Platform.KICK, "u1", 1000, actor="dashboard",
                                         ref=ref))  # fmt: skip
        except PointsRefused as refused:
            outcome.append(refused)

    worker = threading.Thread(target=second)
    worker.start()
    try:
        assert _someone_waits_for_a_lock(postgres_engine)
    finally:
        first_tx.commit()
        first.close()
        worker.join(30)
    assert not worker.is_alive()
    assert outcome == [500], outcome
    assert points.balance(GUILD, Platform.KICK, "u1") == 500


def _spend_in_process(url: str, n: int, barrier, out) -> None:
    engine = create_engine(url)
    barrier.wait()
    try:
        with engine.begin() as conn:
            out.put(repository.spend(conn, entry(100, f"p{n}")))
    except NotEnough:
        out.put("refused")
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_spending_at_once_never_overspend(backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
        engine = create_engine(url)
        from core.features.schema import migrate

        migrate(engine)
    else:
        engine = request.getfixturevalue("postgres_engine")
        url = engine.url.render_as_string(hide_password=False)
    try:
        _spend_at_once(engine, url)
    finally:
        if backend == "sqlite":
            engine.dispose()  # the fixture disposes PostgreSQL's


def _spend_at_once(engine, url: str) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        repository.credit(conn, entry(150, "c1"))
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(4), context.Queue()
    workers = [
        context.Process(target=_spend_in_process, args=(url, n, barrier, out)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    outcomes = sorted(str(out.get(timeout=5)) for _ in workers)
    assert outcomes == ["50", "refused", "refused", "refused"]
    with engine.connect() as conn:
        assert repository.balance_of(conn, GUILD, Platform.KICK, "u1") == 50
