"""Fuzz: what StreamElements' loyalty points API answers (core/platforms/streamelements/api.py):
a viewer's balance (``GET /points/{channel}/{user}``), a change's new balance (``PUT``) and a
leaderboard page (``GET /points/{channel}/top``), each as streamelements.md gives it, with
fields removed, retyped or replaced, arbitrary JSON, JSON Python reads but JSON forbids
(``NaN``, ``1e999``), numbers of 400 digits, and bytes; under any status.

Properties: a balance is a whole number a BIGINT column holds (or None for a viewer
StreamElements never saw: 404), a page is a total and ``(login, points)`` entries of valid logins
and such numbers, or the call raises :class:`StreamElementsError`, never another exception, and
no message holds the JWT.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.platforms.lenient import INT_MAX, INT_MIN
from core.platforms.streamelements.api import (
    USERNAME,
    StreamElementsError,
    StreamElementsPoints,
    StreamElementsUncertain,
)
from tests.fuzz.conftest import record
from tests.fuzz.replies import answered, any_bodies, body_of, edits_of, no_sleep

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJjaGFubmVsIjoiNWI1ZTAwMDAwMDAwMDAwMDAwMDAwMDAwIn0.c2lnbg"
CHANNEL = "5b5e00000000000000000000"
BALANCE = {
    "channel": CHANNEL,
    "username": "viewer_one",
    "points": 12_345,
    "pointsAlltime": 40_000,
    "watchtime": 3_600,
    "rank": 3,
}
CHANGED = {
    "channel": CHANNEL,
    "username": "viewer_one",
    "amount": 500,
    "newAmount": 12_845,
    "message": "Updated user points",
}
TOP = {
    "_total": 2,
    "users": [
        {"username": "viewer_one", "points": 12_845},
        {"username": "Viewer_Two", "points": 9},
    ],
}
CALLS: dict[str, tuple[Any, dict[str, Any]]] = {
    "balance": (lambda se: se.balance(CHANNEL, JWT, "viewer_one"), BALANCE),
    "add": (lambda se: se.add(CHANNEL, JWT, "viewer_one", 500), CHANGED),
    "leaderboard_page": (
        lambda se: se.leaderboard_page(CHANNEL, JWT, limit=1000, offset=0),
        TOP,
    ),
}
statuses = st.sampled_from([200, 200, 200, 200, 201, 204, 400, 401, 404, 429, 500, 503])


def _client(http: httpx.AsyncClient) -> StreamElementsPoints:
    return StreamElementsPoints(http=http, max_retries=0, sleep=no_sleep)


def _assert_refusal(error: StreamElementsError, name: str, status: int) -> None:
    """In words, without the JWT; a change that may have been applied (a 5xx to a PUT, or a
    success whose reply is not the new balance) is said to be uncertain, and nothing else is."""
    assert error.message
    assert JWT not in str(error)
    may_be_applied = status >= 500 or 200 <= status < 300
    assert isinstance(error, StreamElementsUncertain) == (name == "add" and may_be_applied)


def _assert_points(points: Any) -> None:
    assert type(points) is int
    assert INT_MIN <= points <= INT_MAX


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_streamelements_reply_is_whole_points_or_a_streamelements_error(name: str) -> None:
    call, documented = CALLS[name]

    @given(statuses, any_bodies(documented) | edits_of(documented))
    @example(200, body_of(documented))
    @example(200, body_of({**documented, "points": 10**400, "newAmount": 10**400}))
    @example(200, b'{"points": 1e999, "newAmount": NaN, "_total": Infinity, "users": []}')
    @example(200, body_of({**documented, "_total": "9" * 400, "users": [{"username": "\ud800"}]}))
    def check(status: int, body: bytes) -> None:
        try:
            result = answered(status, body, lambda http: call(_client(http)))
        except StreamElementsError as exc:
            _assert_refusal(exc, name, status)
            record(f"se-{name}", type(exc).__name__)
            return
        is_change_made = name == "add" and 200 <= status < 300  # its new balance read
        assert status == 200 or is_change_made or (name == "balance" and status == 404)
        if name == "leaderboard_page":
            total, entries = result
            _assert_points(total)
            for login, points in entries:
                assert USERNAME.fullmatch(login)
                _assert_points(points)
            record(f"se-{name}", f"{min(len(entries), 2)} entries")
            return
        if result is None:
            assert (name, status) == ("balance", 404)
        else:
            _assert_points(result)
        record(f"se-{name}", "points" if result is not None else "never seen")

    check()
