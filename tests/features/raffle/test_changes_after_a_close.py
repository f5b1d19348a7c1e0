"""What changes after a period closed: exclusions, inclusions and forgets leave its draws with
who could win as its close froze them (the proof checks that list), so its standings, a
viewer's tickets and the draw's announcement count those participants, the admin is told that
an exclusion does not reach that period's draws, and a winner forgotten since is announced
without their id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.events import Platform
from core.features.raffle.draws import verification
from tests.features.raffle.support import (
    GUILD,
    RecordingAnnouncer,
    add_viewer,
    make_service,
    tickets_of,
)
from tests.features.viewers.guild_support import chatted_in
from tests.support.clock import Clock

ANA, BOB = 11, 12  # linked members


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def raffle(engine, clock):
    announcer = RecordingAnnouncer()
    return make_service(engine, clock, announcer=announcer)


def _give(raffle, tickets: int, *, member: int | None = None, name: str | None = None) -> None:
    raffle.admin.give(
        GUILD,
        actor_id=99,
        member_id=member,
        username=name,
        tickets=tickets,
        reason="",
        reference=f"r-{member}-{name}",
    )


@pytest.fixture
def closed(engine, raffle):
    """A period closed with ana (10 tickets) and bob (30) linked, and cat (500) not linked, so
    out of the draw; the raffle stopped (``!raffleend``), so the views show this period."""
    add_viewer(engine, "1", "ana", ANA)
    add_viewer(engine, "2", "bob", BOB)
    add_viewer(engine, "3", "cat")
    chatted_in(engine, GUILD, Platform.KICK, "3")  # given by name below: this guild's viewer
    raffle.periods.start(GUILD)
    _give(raffle, 10, member=ANA)
    _give(raffle, 30, member=BOB)
    _give(raffle, 500, name="cat")
    return raffle.periods.end(GUILD).period


def test_an_exclusion_after_the_close_leaves_that_periods_draw_and_standings_as_frozen(
    raffle, closed
):
    change = raffle.admin.exclude(GUILD, actor_id=99, member_id=BOB, username=None)
    assert change.names == ["bob"]
    assert change.closed_period == closed.id  # the admin is told it does not reach that draw

    bob = tickets_of(raffle, BOB)
    assert (bob.is_excluded, bob.rank, bob.total_tickets) == (False, 1, 40)
    board = raffle.views.board(GUILD)
    assert [(e.username, e.tickets) for e in board.entries] == [("bob", 30), ("ana", 10)]
    assert board.total_tickets == 40
    assert raffle.views.stats(GUILD).participants == 2

    raffle.draws.request(GUILD, actor_id=99, winners=2)
    drawn = raffle.draws.force(GUILD, actor_id=99)
    assert sorted(w.platform_user_id for w in drawn.winners) == ["1", "2"]
    asyncio.run(raffle.announce_pending())
    [(_, announced)] = raffle.announcer.draws
    assert {(w.username, w.tickets) for w in announced.winners} == {("bob", 30), ("ana", 10)}
    # Of the 40 tickets in the draw: not 510 (cat's cannot win), bob's counted though excluded
    # since.
    assert announced.total_tickets == 40
    proof = raffle.views.export(closed.id)
    assert verification.verify(proof.document, proof.ledger).matches


def test_an_inclusion_after_the_close_leaves_them_out_of_that_periods_draw(engine, clock):
    raffle = make_service(engine, clock)
    add_viewer(engine, "1", "ana", ANA)
    add_viewer(engine, "2", "bob", BOB)
    raffle.periods.start(GUILD)
    _give(raffle, 10, member=ANA)
    _give(raffle, 30, member=BOB)
    raffle.admin.exclude(GUILD, actor_id=99, member_id=BOB, username=None)
    closed = raffle.periods.end(GUILD).period

    change = raffle.admin.include(GUILD, member_id=BOB, username=None)
    assert (change.names, change.closed_period) == (["bob"], closed.id)
    bob = tickets_of(raffle, BOB)
    assert (bob.is_excluded, bob.rank, bob.total_tickets) == (True, None, 10)
    assert [e.username for e in raffle.views.board(GUILD).entries] == ["ana"]
    raffle.draws.request(GUILD, actor_id=99, winners=2)
    drawn = raffle.draws.force(GUILD, actor_id=99)
    assert [w.platform_user_id for w in drawn.winners] == ["1"]


def test_changes_that_do_not_touch_a_closed_draw_say_nothing_of_one(engine, clock, raffle):
    add_viewer(engine, "1", "ana", ANA)
    add_viewer(engine, "2", "bob", BOB)
    raffle.periods.start(GUILD)
    _give(raffle, 10, member=ANA)
    # No period closed yet.
    assert (
        raffle.admin.exclude(GUILD, actor_id=99, member_id=ANA, username=None).closed_period is None
    )
    raffle.admin.include(GUILD, member_id=ANA, username=None)
    clock.now = datetime(2026, 4, 1, 0, 0, 30, tzinfo=UTC)
    raffle.run_scheduled()  # March closes, April opens
    # bob held no tickets in March; ana, excluded and included again, is in its draw.
    assert (
        raffle.admin.exclude(GUILD, actor_id=99, member_id=BOB, username=None).closed_period is None
    )
    assert raffle.admin.include(GUILD, member_id=BOB, username=None).closed_period is None
    march = raffle.admin.exclude(GUILD, actor_id=99, member_id=ANA, username=None).closed_period
    assert march is not None
    # April's standings count today's exclusions, as an open period's always do.
    _give(raffle, 5, member=ANA)
    assert tickets_of(raffle, ANA).is_excluded


def test_a_winner_forgotten_after_the_close_is_announced_without_their_id(engine, raffle, closed):
    """A viewer forgotten at their request (``privacy forget``) after the close stays in its
    draw (the proof needs the frozen ledger); their name and link are gone. The announcement
    and the overlay named them by their Kick user id instead."""
    from core.features.overlays.service import Overlay, OverlayService
    from core.features.person_data import find_person
    from core.features.person_forget import forget
    from core.security.secrets import TokenCipher
    from tests.conftest import TEST_FERNET_KEY

    with engine.begin() as conn:
        forget(conn, find_person(conn, BOB), raffle.clock(), delete=True)
    raffle.draws.request(GUILD, actor_id=99, winners=2)
    raffle.draws.force(GUILD, actor_id=99)
    asyncio.run(raffle.announce_pending())
    [(_, announced)] = raffle.announcer.draws
    assert {(w.username, w.discord_user_id) for w in announced.winners} == {
        ("ana", ANA),
        (None, None),
    }
    assert {w.platform for w in announced.winners} == {"kick"}  # "a Kick viewer"
    overlays = OverlayService(engine, raffle.clock, TokenCipher(TEST_FERNET_KEY))
    shown = overlays.state(Overlay(GUILD, "raffle"))["draw"]["winners"]
    assert sorted(shown) == ["a Kick viewer", "ana"]
