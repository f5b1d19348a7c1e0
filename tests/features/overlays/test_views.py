"""What the heist and raffle overlays show, and the ticket milestone alerts, from the database."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from core.events import Platform, Viewer
from core.features.heist import repository as heist_repository
from core.features.heist.repository import Outcome
from core.features.overlays.service import Overlay
from core.features.raffle import awards_repository
from core.features.raffle.awards_repository import TicketAward
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.repository import Winner
from core.features.viewers.repository import remember_viewers
from tests.features.overlays.conftest import GUILD_A, GUILD_B, NOW
from tests.features.raffle.test_ledger import open_period


def open_heist(
    engine, guild_id: int, crew: list[tuple[str, str, int, str, bool]], platform=Platform.KICK
) -> int:
    with engine.begin() as conn:
        heist_id = heist_repository.open_heist(
            conn, guild_id, platform, "123", NOW, NOW + timedelta(seconds=60)
        )
        heist = heist_repository.heist_by_id(conn, heist_id)
        for user_id, name, stake, risk, sub in crew:
            heist_repository.add_participant(conn, heist, user_id, name, stake, risk, NOW, sub)
    return heist_id


def test_no_heist_is_idle(overlays):
    assert overlays.state(Overlay(GUILD_A, "heist")) == {"state": "idle"}


def test_an_open_heist_shows_its_crew_and_close_time_to_its_guild_only(engine, overlays):
    open_heist(engine, GUILD_A, [("1", "alice", 200, "high", True), ("2", "bob", 50, "low", False)])
    view = overlays.state(Overlay(GUILD_A, "heist"))
    assert view["state"] == "open"
    assert view["closes_at"] == (NOW + timedelta(seconds=60)).isoformat()
    assert view["staked"] == 250
    assert [(m["name"], m["stake"], m["risk"], m["badge"]) for m in view["crew"]] == [
        ("alice", 200, "high", "Sub"),
        ("bob", 50, "low", None),
    ]
    assert overlays.state(Overlay(GUILD_B, "heist")) == {"state": "idle"}


def test_names_on_the_heist_and_raffle_overlays_cannot_turn_or_stretch_them(engine, overlays):
    """A stored name with a direction override, zero-width or control characters, or far
    longer than any platform's, is shown cleaned and bounded (as in the alerts)."""
    sneaky = "\u202ebob\u200b\x07" + "o" * 90
    open_heist(engine, GUILD_A, [("1", sneaky, 200, "high", False)])
    name = overlays.state(Overlay(GUILD_A, "heist"))["crew"][0]["name"]
    assert name == ("bob" + "o" * 90)[:50]
    period_id = open_period(engine, GUILD_A)
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer("1", "\u2066alice\u2069")], NOW)
        awards_repository.award_many(conn, [award(period_id, "1", 30, "a")])
    assert overlays.state(Overlay(GUILD_A, "raffle"))["top"][0]["name"] == "alice"


def test_a_zalgo_name_on_the_heist_overlay_keeps_two_marks_a_letter(engine, overlays):
    """As in the alerts: a tower of combining marks would be drawn over the rows around it."""
    open_heist(engine, GUILD_A, [("1", "Z" + "\u0300\u0301\u0302" * 20 + "ed", 200, "high", False)])
    name = overlays.state(Overlay(GUILD_A, "heist"))["crew"][0]["name"]
    assert name == "Z\u0300\u0301ed"


def test_a_resolved_heist_shows_its_payouts_then_goes_idle(engine, clock, overlays):
    heist_id = open_heist(engine, GUILD_A, [("1", "alice", 200, "high", True)])
    with engine.begin() as conn:
        assert heist_repository.finish(conn, heist_id, heist_repository.RESOLVED, NOW)
        (member,) = heist_repository.crew_of(conn, heist_id)
        heist_repository.record_outcomes(conn, [Outcome(member.id, "2", 130, 40, 250, True, 650)])
    view = overlays.state(Overlay(GUILD_A, "heist"))
    assert view["state"] == "resolved"
    assert (view["paid"], view["winners"]) == (650, 1)
    assert view["crew"][0]["badge"] == "Tier 2"
    clock.advance(seconds=121)
    assert overlays.state(Overlay(GUILD_A, "heist")) == {"state": "idle"}


def test_a_heist_called_off_in_the_other_chat_does_not_hide_the_open_one(engine, overlays):
    """The Kick chat's crew is gathering; a Twitch heist opened after it is cancelled by a
    moderator. The overlay read only the guild's latest heist and went idle."""
    open_heist(engine, GUILD_A, [("1", "alice", 200, "high", False)])
    twitch = open_heist(engine, GUILD_A, [("2", "bob", 50, "low", False)], Platform.TWITCH)
    with engine.begin() as conn:
        assert heist_repository.finish(conn, twitch, heist_repository.CANCELLED, NOW)
    view = overlays.state(Overlay(GUILD_A, "heist"))
    assert view["state"] == "open"
    assert [member["name"] for member in view["crew"]] == ["alice"]


def test_a_resolved_heist_stays_shown_when_the_other_chats_is_called_off(engine, clock, overlays):
    kick = open_heist(engine, GUILD_A, [("1", "alice", 200, "high", False)])
    twitch = open_heist(engine, GUILD_A, [("2", "bob", 50, "low", False)], Platform.TWITCH)
    with engine.begin() as conn:
        assert heist_repository.finish(conn, kick, heist_repository.RESOLVED, NOW)
        assert heist_repository.finish(conn, twitch, heist_repository.CANCELLED, NOW)
    view = overlays.state(Overlay(GUILD_A, "heist"))
    assert (view["state"], view["heist_id"]) == ("resolved", kick)
    clock.advance(seconds=121)
    assert overlays.state(Overlay(GUILD_A, "heist")) == {"state": "idle"}


def award(period_id: int, user: str, amount: int, ref: str, guild_id: int = GUILD_A):
    return TicketAward(guild_id, period_id, Platform.KICK, user, amount, "gift", ref, None, "", NOW)


def test_the_raffles_top_viewers_with_as_many_tickets_share_a_place(engine, overlays):
    """The overlay numbered them one after the other, where !raffleboard says "=2" for both;
    a tie with the first one past the overlay's top shows on its last line too."""
    period_id = open_period(engine, GUILD_A)
    names = ["ann", "ben", "cat", "dan", "eve", "fay"]
    tickets = [50, 20, 20, 9, 7, 7]
    with engine.begin() as conn:
        viewers = [Viewer(str(n), name) for n, name in enumerate(names, start=1)]
        remember_viewers(conn, Platform.KICK, viewers, NOW)
        awards_repository.award_many(
            conn,
            [award(period_id, str(n), t, f"r{n}") for n, t in enumerate(tickets, start=1)],
        )
    view = overlays.state(Overlay(GUILD_A, "raffle"))
    assert [(row["place"], row["tickets"]) for row in view["top"]] == [
        ("#1", 50),
        ("=2", 20),
        ("=2", 20),
        ("#4", 9),
        ("=5", 7),
    ]


def test_the_raffle_shows_the_top_viewers_total_and_last_draw(engine, overlays):
    period_id = open_period(engine, GUILD_A)
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer("1", "alice"), Viewer("2", "bob")], NOW)
        awards_repository.award_many(
            conn, [award(period_id, "1", 30, "a"), award(period_id, "2", 10, "b")]
        )
        draw_id = draws_repository.create_draw(
            conn,
            guild_id=GUILD_A,
            period_id=period_id,
            winners_wanted=1,
            prize="A mug",
            requested_by=None,
            now=NOW,
        )
        waiting = draws_repository.get_draw(conn, draw_id)
        draws_repository.complete_draw(
            conn,
            dataclasses.replace(
                waiting,
                status="done",
                drawn_at=NOW,
                forced=True,
                first_counter=0,
                winners=(Winner(1, Platform.KICK, "1", 3, 0),),
            ),
        )
    view = overlays.state(Overlay(GUILD_A, "raffle"))
    assert view["top"] == [
        {"name": "alice", "tickets": 30, "place": "#1"},
        {"name": "bob", "tickets": 10, "place": "#2"},
    ]
    assert view["total"] == 40
    assert view["draw"]["winners"] == ["alice"]
    assert view["draw"]["proof_path"] == f"/raffle/{period_id}"
    other = overlays.state(Overlay(GUILD_B, "raffle"))
    assert (other["top"], other["total"], other["draw"]) == ([], 0, None)


def test_passing_a_ticket_milestone_is_announced_once(engine, overlays):
    period_id = open_period(engine, GUILD_A)
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer("1", "alice")], NOW)
        awards_repository.award(conn, award(period_id, "1", 90, "a"))
        awards_repository.award(conn, award(period_id, "1", 20, "b"))  # 110: passes 100
        awards_repository.award(conn, award(period_id, "1", 20, "b"))  # a replay: nothing
        awards_repository.award(conn, award(period_id, "1", 5, "c"))  # 115: no new milestone
    assert [a.title for a in overlays.alerts_after(GUILD_A, 0)] == [
        "alice reached 100 raffle tickets"
    ]


def test_a_crowd_award_announces_every_milestone_passed(engine, overlays):
    period_id = open_period(engine, GUILD_A)
    with engine.begin() as conn:
        awards_repository.award_many(
            conn,
            [
                award(period_id, "1", 600, "a"),  # passes 100 and 500
                award(period_id, "1", 600, "a"),  # a repeat in the batch: not counted
                award(period_id, "2", 99, "b"),
            ],
        )
    titles = [a.title for a in overlays.alerts_after(GUILD_A, 0)]
    assert titles == ["1 reached 100 raffle tickets", "1 reached 500 raffle tickets"]
    assert overlays.alerts_after(GUILD_B, 0) == []


def test_milestones_turned_off_are_not_announced(engine, overlays):
    overlays.save_settings(
        GUILD_A,
        {"milestones": "100", "alert_seconds": "6", "accent_colour": "#000000",
         "text_colour": "#ffffff"},
    )  # fmt: skip
    period_id = open_period(engine, GUILD_A)
    with engine.begin() as conn:
        awards_repository.award(conn, award(period_id, "1", 150, "a"))
    assert overlays.alerts_after(GUILD_A, 0) == []


def test_a_draw_nobody_won_says_why(engine, clock, overlays):
    """A reroll after everyone who could win had won was said to be a draw where "nobody who
    held a ticket was eligible", and a draw among unlinked holders one where "nobody held a
    ticket"."""
    from tests.features.raffle.support import add_viewer, make_service
    from tests.features.viewers.guild_support import chatted_in

    raffle = make_service(engine, clock)

    def reason() -> str:
        return overlays.state(Overlay(GUILD_A, "raffle"))["draw"]["no_winner_reason"]

    def drawn(**reroll) -> object:  # type: ignore[no-untyped-def]
        if reroll:
            raffle.draws.reroll(GUILD_A, actor_id=9, reason="again", **reroll)
        else:
            raffle.draws.request(GUILD_A, actor_id=9)
        return raffle.draws.force(GUILD_A, actor_id=9)

    raffle.periods.start(GUILD_A)
    raffle.periods.end(GUILD_A)
    drawn()
    assert reason() == "Nobody held a ticket when the raffle closed."

    add_viewer(engine, "u", "unlinked")
    add_viewer(engine, "l", "linked", discord_id=5)
    chatted_in(engine, GUILD_A, Platform.KICK, "u")  # named below: this server's viewer
    raffle.periods.start(GUILD_A)
    raffle.admin.give(GUILD_A, actor_id=9, member_id=None, username="unlinked", tickets=5,
                      reason="", reference="a")  # fmt: skip
    raffle.periods.end(GUILD_A)
    drawn()
    assert reason() == "None of the tickets could win (nobody who held one was eligible)."

    raffle.periods.start(GUILD_A)
    raffle.admin.give(GUILD_A, actor_id=9, member_id=5, tickets=5, reason="", reference="b")
    raffle.periods.end(GUILD_A)
    first = drawn()
    assert overlays.state(Overlay(GUILD_A, "raffle"))["draw"]["winners"] == ["linked"]
    drawn(draw_id=first.id)
    assert reason() == "Everyone who could win has won an earlier draw."
