"""The raffle page says how the Shuffle wager poll is doing, as ``!shuffle status`` does: a
moderator on the dashboard sees that Shuffle fails (and when it is tried again) without asking
in Discord."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.features.raffle.wagers import repository as wager_repository
from core.features.raffle.wagers.service import WagerService
from core.platforms.shuffle.api import ShuffleClient
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.shuffle_server import FakeShuffle, connect_guild
from tests.features.raffle.proof_scenario import built
from tests.features.raffle.support import GUILD
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep
from tests.web.dashboard.pages.conftest import pages_for


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def wagers(sqlite_engine, shuffle: FakeShuffle) -> WagerService:  # type: ignore[no-untyped-def]
    return WagerService(
        sqlite_engine,
        TokenCipher(TEST_FERNET_KEY),
        make_client=lambda: ShuffleClient(sleep=RecordingSleep(), jitter=lambda: 0.5),
        clock=Clock(datetime(2026, 3, 20, 12, 0, tzinfo=UTC)),
        allowed_hosts=(shuffle.host,),
    )


@pytest.fixture
def pages(discord, sqlite_engine, wagers):  # type: ignore[no-untyped-def]
    raffle, _period_id = built(sqlite_engine)
    return pages_for(discord, GUILD, raffle=raffle, wagers=wagers)


def test_the_page_shows_a_failing_shuffle_poll_and_its_next_try(pages, wagers, shuffle) -> None:
    connect_guild(wagers, GUILD, shuffle)
    shuffle.fail_next("500", times=3)
    asyncio.run(wagers.poll_guild(GUILD))

    page = pages.get("raffle").text

    assert 'id="shuffle"' in page
    assert "Last problem: answered 500" in page
    assert "Next try: 2026-03-20 12:10 UTC" in page
    assert "Last successful poll: —" in page
    assert shuffle.key not in page  # the link holds the affiliate key: shown masked


def test_the_page_shows_a_good_poll_and_who_waits_for_an_admin(pages, wagers, shuffle) -> None:
    connect_guild(wagers, GUILD, shuffle)
    shuffle.set_wagered("alice", "10")
    asyncio.run(wagers.poll_guild(GUILD))
    wagers.request_link(GUILD, 4321, "alice")

    page = pages.get("raffle").text

    assert "Last successful poll: 2026-03-20 12:00 UTC" in page
    assert "Last problem" not in page
    assert "1 waiting for an admin" in page


def test_without_shuffle_set_up_the_page_says_how(pages) -> None:
    page = pages.get("raffle").text
    assert "!shuffle url" in page


def test_the_page_shows_a_problem_found_by_the_last_successful_poll(
    pages, wagers, shuffle, sqlite_engine
) -> None:
    """An account left out by a poll that was taken: its problem is dated as the success."""
    connect_guild(wagers, GUILD, shuffle)
    at = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    with sqlite_engine.begin() as conn:
        wager_repository.record_poll_success(conn, GUILD, at)
        problem = "whale: more tickets due at once than the ledger holds"
        wager_repository.update_settings(conn, GUILD, at, last_problem=problem, last_problem_at=at)

    page = pages.get("raffle").text

    assert "Last problem: whale: more tickets due at once than the ledger holds" in page
