"""The heist when the stream ends: a heist still gathering its crew is called off, every stake
given back once (whichever source tells of the end, however often), with one line in chat; a
heist whose crew is already on the job resolves as usual."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from core.events import Platform, StreamEnded
from core.features.heist.export import export_heists
from core.features.heist.rules import HeistRules
from core.features.heist.service import HeistService
from core.features.heist.stream_end import HeistStreamEnd, end_queued
from core.outbox import store
from tests.features.heist.conftest import GUILD, KICK_BROADCASTER, TWITCH_BROADCASTER, give
from tests.features.heist.test_service import join, ledger_rows

WIN = 0.0


def ended(clock, event_id="webhook-end", *, platform=Platform.KICK, ago=0) -> StreamEnded:
    broadcaster = KICK_BROADCASTER if platform == Platform.KICK else TWITCH_BROADCASTER
    return StreamEnded(
        platform=platform,
        event_id=event_id,
        broadcaster_user_id=broadcaster,
        occurred_at=clock.now - timedelta(seconds=ago),
    )


@pytest.fixture
def stream_end(service) -> HeistStreamEnd:
    return HeistStreamEnd(service, can_talk=lambda platform: True)


def balances(points, *users):
    return [points.balance(GUILD, Platform.KICK, user) for user in users]


async def test_a_heist_gathering_its_crew_is_called_off_when_the_stream_ends(
    service, points, clock, engine, stream_end, say_queued, sender
):
    for user in ("1", "2"):
        give(points, user, 1000)
    join(service, "1", "100 low")
    join(service, "2", "250 high")
    clock.advance(30)  # the window is still open
    stream_end.handle_stream_ended(GUILD, ended(clock))

    assert balances(points, "1", "2") == [1000, 1000]
    assert service.status(GUILD, Platform.KICK) is None
    await say_queued()
    assert [line.text for line in sender.sent] == [
        "The stream ended, so the heist is called off. Every stake went back: 350 points "
        "to 2 viewers."
    ]
    clock.advance(300)
    assert service.resolve_due() == []  # nothing left to draw
    assert export_heists(engine, GUILD) == []
    assert join(service, "1", "100").opened  # the next stream's heist starts afresh


async def test_the_end_heard_from_two_sources_and_replayed_gives_each_stake_back_once(
    service, points, clock, engine, stream_end, say_queued, sender
):
    give(points, "1", 1000)
    join(service, "1", "100 low")
    clock.advance(10)
    webhook = ended(clock, "webhook-end")
    clock.advance(3)  # Pusher's copy is stamped when it arrives
    for event in (webhook, ended(clock, "pusher-end"), webhook):
        stream_end.handle_stream_ended(GUILD, event)

    assert balances(points, "1") == [1000]
    assert sorted(row.amount for row in ledger_rows(engine, "1")) == [-100, 100]
    await say_queued()
    assert len(sender.sent) == 1


def test_a_heist_whose_crew_is_already_on_the_job_still_resolves(
    service, points, clock, draws, stream_end
):
    give(points, "1", 1000)
    join(service, "1", "100 low")
    clock.advance(120)  # the window closed; the resolver has not run yet
    stream_end.handle_stream_ended(GUILD, ended(clock))
    draws.push(WIN)
    [result] = service.resolve_due()
    assert [member.payout for member in result.crew] == [150]
    assert balances(points, "1") == [1050]


def test_an_end_from_before_the_heist_opened_leaves_it_open(service, points, clock, stream_end):
    """The last stream's end told late (or replayed after a restart) is not this heist's."""
    give(points, "1", 1000)
    join(service, "1", "100 low")
    clock.advance(20)
    stream_end.handle_stream_ended(GUILD, ended(clock, ago=60))
    assert service.status(GUILD, Platform.KICK) is not None
    assert balances(points, "1") == [900]


def test_the_end_of_the_other_platforms_stream_leaves_this_chats_heist(
    service, points, clock, stream_end
):
    give(points, "1", 1000)
    join(service, "1", "100 low")
    stream_end.handle_stream_ended(GUILD, ended(clock, platform=Platform.TWITCH))
    assert service.status(GUILD, Platform.KICK) is not None


def test_where_the_bot_cannot_talk_the_stakes_go_back_and_the_log_says_so(
    service, points, clock, engine, caplog
):
    stream_end = HeistStreamEnd(service, can_talk=lambda platform: False)
    give(points, "1", 1000)
    join(service, "1", "100 low")
    with caplog.at_level(logging.INFO, logger="core.features.heist.stream_end"):
        stream_end.handle_stream_ended(GUILD, ended(clock))
    assert balances(points, "1") == [1000]
    with engine.connect() as conn:
        assert store.of_guild(conn, GUILD) == []
    assert "called off" in caplog.text


@pytest.mark.parametrize("bus_says", ["the end", "too many", "down"])
def test_the_resolver_waits_only_for_a_queued_end_it_can_see(
    engine, clock, points, draws, bus_says
):
    end = {"the end": [], "too many": None}

    def unhandled(before):
        if bus_says == "down":
            raise ConnectionError("the bus is down")
        return end.get(bus_says, [])

    service = HeistService(
        engine, clock, points, HeistRules(), draw=draws, held=end_queued(unhandled)
    )
    give(points, "1", 1000)
    join(service, "1", "100 low")
    end["the end"] = [ended(clock, ago=-10)]  # the end, stamped in the window, not handled yet
    clock.advance(120)
    draws.push(WIN)
    resolved = service.resolve_due()
    if bus_says == "the end":
        assert resolved == []
        assert service.status(GUILD, Platform.KICK) is not None
    else:  # the bus cannot say: the heist is played out, as before
        assert [result.crew[0].payout for result in resolved] == [150]
