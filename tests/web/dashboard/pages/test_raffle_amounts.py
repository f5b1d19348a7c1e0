"""The raffle page reads its numbers as ``!raffle give`` and the page's own refusals write them:
``1,500`` is fifteen hundred; a comma that could be read two ways is refused in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.features.directory.repository import Member
from core.features.directory.service import DirectoryService
from tests.features.raffle.proof_scenario import built
from tests.features.raffle.support import GUILD
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import assert_refused_here, pages_for

REF = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def month(sqlite_engine):  # type: ignore[no-untyped-def]
    raffle, _period_id = built(sqlite_engine)
    return raffle


@pytest.fixture
def pages(month, discord, sqlite_engine):  # type: ignore[no-untyped-def]
    directory = DirectoryService(sqlite_engine, Clock(datetime(2026, 4, 2, tzinfo=UTC)))
    directory.record_members(GUILD, [Member(103, "member 103")])
    channels = {GUILD: frozenset({424242424242424242})}
    return pages_for(
        discord, GUILD, raffle=month, directory=directory, guild_channel_ids=channels.get
    )


def test_tickets_typed_with_thousands_commas_are_given_as_typed(pages, month):
    """The form refused "1,500" with "Tickets takes a whole number from 1 to 1,000,000.", a
    number written the same way, while ``!raffle give`` takes it."""
    form = {"viewer": "103", "amount": "1,500", "action": "give", "reason": "", "reference": REF}

    answer = pages.post("raffle", "tickets", form)

    assert answer.status_code == 303
    assert month.views.board(GUILD).entries[0].tickets == 1500


def test_a_comma_that_reads_two_ways_is_refused_in_words(pages, month):
    form = {"viewer": "103", "amount": "1,5", "action": "give", "reason": "", "reference": REF}

    answer = pages.post("raffle", "tickets", form)

    assert_refused_here(answer, "can be read two ways")
    assert month.views.board(GUILD).entries == []
