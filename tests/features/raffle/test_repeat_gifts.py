"""Issue 46: a repeat gift counts again. The same gifter gifting the same viewers twice, days
apart (each delivery with its own message id), earns tickets twice; the copies of one gift (a
second source, a redelivery, minutes apart, across a window's edge) still count once."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from core.events import Viewer
from core.features.raffle.earning.service import GIFT_WINDOW, MOST_GIFTED_AT_ONCE
from tests.features.raffle.support import GUILD, add_viewer, gift, tickets_of
from tests.features.raffle.test_service import clock, raffle

__all__ = ["clock", "raffle"]


def test_the_same_gift_again_days_later_earns_again_and_its_copies_do_not(engine, raffle, clock):
    add_viewer(engine, "g1", "Gifter", discord_id=11)
    raffle.periods.start(GUILD)
    gifter = Viewer("g1", "Gifter")
    first = clock.now
    raffle.record_gift(GUILD, gift("kick-msg-1", gifter, ("ann",), first))
    raffle.record_gift(  # Pusher's copy, minutes later, by name only
        GUILD, gift("pusher-1", Viewer(None, "gifter"), ("ann",), first + timedelta(minutes=4),
                    with_ids=False),
    )  # fmt: skip
    assert tickets_of(raffle, 11).by_source == {"gift": 15}

    # Three days on, a minute before a window's edge; its late copy a few minutes after it.
    window = GIFT_WINDOW.total_seconds()
    days_on = first + timedelta(days=3)
    again = days_on + timedelta(seconds=window - days_on.timestamp() % window - 60)
    clock.advance(again - clock.now)  # handled as it happens
    raffle.record_gift(GUILD, gift("kick-msg-2", gifter, ("ann",), again))
    assert tickets_of(raffle, 11).by_source == {"gift": 30}
    raffle.record_gift(GUILD, gift("kick-msg-2", gifter, ("ann",), again))  # redelivered
    late = again + timedelta(minutes=5)
    clock.advance(minutes=5)
    raffle.record_gift(
        GUILD, gift("pusher-2", Viewer(None, "gifter"), ("ann",), late, with_ids=False)
    )
    assert tickets_of(raffle, 11).by_source == {"gift": 30}

    clock.advance(days=10)
    raffle.record_gift(GUILD, gift("kick-msg-3", gifter, ("ann",), clock.now))
    assert tickets_of(raffle, 11).by_source == {"gift": 45}


@pytest.mark.parametrize("count", [MOST_GIFTED_AT_ONCE + 1, 2**62, 2**63 - 1])
def test_a_gift_count_past_any_real_gift_earns_nothing_and_breaks_nothing(
    engine, raffle, clock, count
):
    """A Twitch total is signed and read up to 2**63 - 1; times the tickets per gift it would
    overflow the ledger, and the gift's event would fail at every delivery."""
    add_viewer(engine, "g1", "Gifter", discord_id=11)
    raffle.periods.start(GUILD)
    gifter = Viewer("g1", "Gifter")
    huge = dataclasses.replace(gift("kick-msg-1", gifter, ("ann",), clock.now), count=count)
    raffle.record_gift(GUILD, huge)
    raffle.record_gift(GUILD, gift("kick-msg-2", gifter, ("ann",), clock.now))
    assert tickets_of(raffle, 11).by_source == {"gift": 15}


def test_the_biggest_gift_counted_earns_its_tickets(engine, raffle, clock):
    add_viewer(engine, "g1", "Gifter", discord_id=11)
    raffle.periods.start(GUILD)
    gifter = Viewer("g1", "Gifter")
    biggest = gift("kick-msg-1", gifter, ("ann",), clock.now)
    raffle.record_gift(GUILD, dataclasses.replace(biggest, count=MOST_GIFTED_AT_ONCE))
    assert tickets_of(raffle, 11).by_source == {"gift": 15 * MOST_GIFTED_AT_ONCE}
