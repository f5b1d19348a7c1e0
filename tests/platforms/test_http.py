"""The machinery the outbound HTTP clients share; each client's tests cover it end to end
against its fake server, these pin the edges. Waits go to a recording sleep."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from core.outbox import deadline, sending
from core.platforms.http import (
    LONGEST_RETRY_AFTER_SECONDS,
    Backoff,
    HttpClient,
    Retry,
    retry_after,
    tls_context,
)
from tests.support.waiting import RecordingSleep


class Refused(Exception):
    pass


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("", None),
        ("inf", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        # An absurd wait is read as a day (a poll or a call put off for decades, or past the
        # year 9999, where no date can say when); a long one as it is.
        ("5000", 5000.0),
        ("1e9", LONGEST_RETRY_AFTER_SECONDS),
        ("1e12", LONGEST_RETRY_AFTER_SECONDS),
    ],
)
def test_retry_after_reads_seconds_and_ignores_anything_else(
    header: str, seconds: float | None
) -> None:
    response = httpx.Response(429, headers={"Retry-After": header})

    assert retry_after(response) == seconds


async def test_backoff_doubles_with_jitter_then_raises_the_last_error() -> None:
    sleep = RecordingSleep()
    backoff = Backoff(2, 1.0, 60.0, sleep, lambda: 0.5)
    retries: list[tuple[str, int, float]] = []
    attempts = 0

    async def attempt() -> str:
        nonlocal attempts
        attempts += 1
        raise Retry(Refused(f"attempt {attempts}"), f"failed {attempts}")

    with pytest.raises(Refused, match="attempt 3"):
        await backoff.run(
            attempt, lambda retry, n, delay: retries.append((retry.problem, n, delay))
        )

    assert sleep.delays == [0.5, 1.0]
    assert retries == [("failed 1", 1, 0.5), ("failed 2", 2, 1.0)]


async def test_backoff_waits_retry_after_but_not_longer_than_its_cap() -> None:
    sleep = RecordingSleep()
    backoff = Backoff(5, 1.0, 10.0, sleep, lambda: 0.5)
    waits = iter([7.0, 11.0])

    async def attempt() -> str:
        raise Retry(Refused("slow down"), "answered 429", next(waits))

    with pytest.raises(Refused):
        await backoff.run(attempt, lambda *_: None)

    assert sleep.delays == [7.0]


async def test_backoff_returns_the_first_success_and_lets_other_errors_through() -> None:
    sleep = RecordingSleep()
    backoff = Backoff(3, 1.0, 10.0, sleep, lambda: 1.0)
    outcomes: list[Exception | str] = [Retry(Refused(), "once"), "done"]

    async def succeeds_second() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def refuses() -> str:
        raise Refused("no")

    assert await backoff.run(succeeds_second, lambda *_: None) == "done"
    with pytest.raises(Refused, match="no"):
        await backoff.run(refuses, lambda *_: None)
    assert sleep.delays == [1.0]


async def test_backoff_retries_only_while_the_wait_and_an_attempt_fit_its_budget() -> None:
    """Budget 24 s, attempts of up to 20 s: after an attempt that took 1 s, a wait of 3 s fits
    (1 + 3 + 20 = 24); after that wait and a second attempt (5 s spent), it no longer does."""
    sleep = RecordingSleep()
    now = [0.0]
    backoff = Backoff(5, 1.0, 60.0, sleep, lambda: 0.5, budget_seconds=24.0,
                      attempt_seconds=20.0, clock=lambda: now[0])  # fmt: skip
    attempts = 0

    async def attempt() -> str:
        nonlocal attempts
        attempts += 1
        now[0] += 1.0 + (sleep.delays[-1] if sleep.delays else 0.0)
        raise Retry(Refused(f"attempt {attempts}"), "answered 429", 3.0)

    with pytest.raises(Refused, match="attempt 2"):
        await backoff.run(attempt, lambda *_: None)

    assert sleep.delays == [3.0]


async def test_backoff_makes_no_wait_an_outbox_call_has_no_time_for() -> None:
    """Inside an outbox call with 100 s left, attempts of up to 5 s: a wait of 3 s fits, one
    of 300 s (a long Retry-After) does not, and the error is handed back at once."""
    sleep = RecordingSleep()
    backoff = Backoff(5, 1.0, 60.0, sleep, lambda: 0.5, attempt_seconds=5.0)
    waits = iter([3.0, 300.0])
    attempts = 0

    async def attempt() -> str:
        nonlocal attempts
        attempts += 1
        raise Retry(Refused(f"attempt {attempts}"), "answered 429", next(waits))

    with deadline.within(100), pytest.raises(Refused, match="attempt 2"):
        await backoff.run(attempt, lambda *_: None)

    assert sleep.delays == [3.0]


def test_a_negative_retry_count_means_no_retries() -> None:
    assert Backoff(-1, 1.0, 10.0).max_retries == 0


async def test_a_borrowed_client_stays_open_and_an_own_client_is_closed() -> None:
    async with httpx.AsyncClient(verify=tls_context()) as borrowed:
        async with HttpClient(borrowed, total_timeout_seconds=1.0) as client:
            pass
        assert client._http is borrowed
        assert not borrowed.is_closed

    async with HttpClient(None, total_timeout_seconds=1.0) as own:
        made = own._http  # what a request makes
    assert made.is_closed


async def test_an_own_client_is_made_at_the_first_request_and_not_after_closing() -> None:
    async with HttpClient(None, total_timeout_seconds=1.0) as idle:
        assert idle._client is None  # nothing made (no TLS context) until it is needed
    assert idle._client is None
    with pytest.raises(RuntimeError, match="closed"):
        idle._http  # noqa: B018 - a request after aclose() fails as httpx's own would


def test_every_client_verifies_certificates_with_one_shared_context() -> None:
    context = tls_context()
    assert context is tls_context()  # built once per process
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


async def test_a_request_that_may_change_something_tells_the_outbox_call_first() -> None:
    """Within an outbox call that watches (``core/outbox/sending.py``), a read leaves
    unremarked; a change marks the call in flight before it leaves, and one the call may not
    make (it passed to another worker) never leaves."""
    arrived: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        arrived.append(request.method)
        return httpx.Response(200, json={})

    marks: list[str] = []
    ours = [True]

    async def mark() -> bool:
        marks.append(f"before {len(arrived)} request(s)")
        return ours[0]

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = HttpClient(http, total_timeout_seconds=5.0)
        watch = sending.Watch(mark)
        with sending.watched(watch):
            await client._send("GET", "https://partner.test/points")
            assert not watch.went_out
            await client._send("PUT", "https://partner.test/points/5")
            await client._send("POST", "https://partner.test/chat")
        assert watch.went_out
        assert marks == ["before 1 request(s)"]  # once, before the first change left

        ours[0] = False
        with sending.watched(sending.Watch(mark)), pytest.raises(sending.NotSent):
            await client._send("POST", "https://partner.test/chat")
        await client._send("POST", "https://partner.test/chat")  # outside a call: as ever

        # A task a call started inherits its context, and may send after the call ended.
        with sending.watched(sending.Watch(mark)):
            later = asyncio.get_running_loop().create_future()

            async def sends_later() -> None:
                await later
                await client._send("POST", "https://partner.test/chat")

            task = asyncio.create_task(sends_later())
        later.set_result(None)
        await task  # not the call's request: it leaves, unmarked
    assert arrived == ["GET", "PUT", "POST", "POST", "POST"]
    assert len(marks) == 2
