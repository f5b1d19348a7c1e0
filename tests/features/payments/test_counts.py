"""Calls in doubt in the running app: ``streamkeeper_outbox_uncertain`` by service in /metrics,
read at each scrape, and the health line "N payment(s) in doubt in M server(s)", information
that never fails the report; the calls each service's worker made by outcome, those waiting,
and how late the most overdue one is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.features.points.se_payments import PAY, queue_payment
from core.metrics import Metrics
from core.outbox import store
from core.outbox.worker import Done, Kind, Refused, Retry
from tests.support.clock import Clock
from tests.test_metrics import sample

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
GAUGE = "streamkeeper_outbox_uncertain"


def _uncertain_payments(engine, *guild_ids: int) -> list[int]:
    with engine.begin() as conn:
        for n, guild_id in enumerate(guild_ids):
            queue_payment(conn, guild_id, "ann", 5, "heist", f"{n}:kick:1:payout", T0)
        calls = store.claim(conn, "streamelements", "w", T0, T0.replace(hour=9), 10)
        for call in calls:
            store.finish(conn, call.id, "w", store.UNCERTAIN, "answered 500", T0)
    return [call.id for call in calls]


def test_metrics_and_health_count_the_payments_in_doubt_until_settled(make_runtime):
    runtime = make_runtime()
    text = runtime.metrics.render().decode()
    assert sample(text, GAUGE, service="streamelements") == 0
    assert "ok   payments: 0 payment(s) in doubt in 0 server(s)" in runtime.health().lines()

    first, _second, _third = _uncertain_payments(runtime.engine, 111, 111, 222)
    text = runtime.metrics.render().decode()
    assert sample(text, GAUGE, service="streamelements") == 3
    report = runtime.health()
    assert report.ok
    assert (
        "WARN payments: 3 payment(s) in doubt in 2 server(s): settle them with !payments or "
        "the dashboard"
    ) in report.lines()
    assert (report.ok, report.status) == (True, "degraded")

    runtime.payment_doubts.settle(111, first, "paid", actor="cli")
    text = runtime.metrics.render().decode()
    assert sample(text, GAUGE, service="streamelements") == 2
    assert sample(text, GAUGE, service="discord") == 0  # every service with a worker


def test_a_gauge_that_cannot_be_read_is_left_out_of_the_scrape_not_failing_it():
    metrics = Metrics()

    def broken() -> dict[str, float]:
        raise RuntimeError("database unreachable")

    metrics.gauge_at_scrape("streamkeeper_broken", "A gauge that fails.", "service", broken)
    text = metrics.render().decode()
    assert "streamkeeper_broken" not in text
    assert "process_cpu_seconds_total" in text


async def test_metrics_count_each_services_calls_by_outcome_and_those_waiting(make_runtime):
    runtime = make_runtime()
    worker = next(w for w in runtime.outbox_workers if w.service == "streamelements")
    text = runtime.metrics.render().decode()
    assert sample(text, "streamkeeper_outbox_pending", service="streamelements") == 0
    assert sample(text, "streamkeeper_outbox_pending", service="discord") == 0
    with runtime.engine.begin() as conn:
        for n in range(3):
            queue_payment(conn, 111, "ann", 5, "heist", f"{n}:kick:1:payout", T0)
    text = runtime.metrics.render().decode()
    assert sample(text, "streamkeeper_outbox_pending", service="streamelements") == 3

    answers = iter([Done("paid"), Refused("no such user"), Retry("503")])

    async def pay(guild_id: int, payload: dict[str, object]):  # type: ignore[no-untyped-def]
        return next(answers)

    worker.kinds = {PAY: Kind(pay)}
    worker.max_attempts = 5
    assert await worker.run_once() == 3

    text = runtime.metrics.render().decode()
    calls = "streamkeeper_outbox_calls_total"
    assert sample(text, calls, service="streamelements", outcome="done") == 1
    assert sample(text, calls, service="streamelements", outcome="refused") == 1
    assert sample(text, calls, service="streamelements", outcome="retry") == 1
    assert sample(text, "streamkeeper_outbox_pending", service="streamelements") == 1


async def test_the_overdue_gauge_is_how_late_each_services_oldest_due_call_is(make_runtime):
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    worker = next(w for w in runtime.outbox_workers if w.service == "streamelements")

    def overdue(service: str = "streamelements") -> float:
        text = runtime.metrics.render().decode()
        return sample(text, "streamkeeper_outbox_overdue_seconds", service=service)

    assert overdue() == 0
    with runtime.engine.begin() as conn:
        queue_payment(conn, 111, "ann", 5, "heist", "1:kick:1:payout", T0)
        queue_payment(conn, 222, "bob", 5, "heist", "2:kick:2:payout", T0 + timedelta(seconds=30))
    clock.advance(90)
    assert overdue() == 90  # the older one, whichever server it is for
    assert overdue("discord") == 0  # every service with a worker

    answers = iter([Retry("503"), Retry("503"), Done("paid"), Done("paid")])

    async def pay(guild_id: int, payload: dict[str, object]):  # type: ignore[no-untyped-def]
        return next(answers)

    worker.kinds = {PAY: Kind(pay)}
    worker.max_attempts = 5
    assert await worker.run_once() == 2
    assert overdue() == 0  # both wait for their next try: not late yet

    clock.advance(hours=1)
    assert 0 < overdue() < 3600  # due again, and not made: late by the time since
    assert await worker.run_once() == 2
    assert overdue() == 0
