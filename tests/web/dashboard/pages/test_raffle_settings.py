"""The raffle settings page on a real raffle month (tests/features/raffle/proof_scenario.py):
period 1 closed and drawn (draw 1, rerolled as draw 2), period 2 open. Each write is the call
the raffle command makes; each refusal is the form again with the message by its field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.discord_bot.raffle import render as render_raffle
from core.features.directory.repository import Channel, Member, Server
from core.features.directory.service import DirectoryService, Snapshot
from core.features.raffle.tables import raffle_ledger
from tests.features.raffle.proof_scenario import built
from tests.features.raffle.support import GUILD, add_viewer
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import (
    ADMIN_ID,
    OTHER_GUILD,
    assert_refused_here,
    pages_for,
)

REF = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def month(sqlite_engine):  # type: ignore[no-untyped-def]
    raffle, _period_id = built(sqlite_engine)
    return raffle


UNLINKED = 555555555555555555  # a member of the server with no Kick or Twitch account linked
OUTSIDER = 777777777777777777  # linked, but a member of another server only


@pytest.fixture
def pages(month, discord, sqlite_engine):  # type: ignore[no-untyped-def]
    directory = DirectoryService(sqlite_engine, Clock(datetime(2026, 3, 1, tzinfo=UTC)))
    directory.record_members(GUILD, [Member(m, f"member {m}") for m in (*range(100, 112), 200)])
    directory.record_members(GUILD, [Member(UNLINKED, "lurker")])
    directory.record_members(OTHER_GUILD, [Member(OUTSIDER, "outsider")])
    add_viewer(sqlite_engine, "outsider", "outsider", discord_id=OUTSIDER)
    channels = {GUILD: frozenset({424242424242424242})}
    return pages_for(
        discord, GUILD, raffle=month, directory=directory, guild_channel_ids=channels.get
    )


def test_every_raffleset_setting_has_a_field():
    from core.features.raffle.rates import SETTINGS
    from core.web.dashboard.pages.raffle import LABELS

    assert set(LABELS) == set(SETTINGS)


def test_the_page_shows_settings_periods_proofs_and_standings(pages, month):
    month.admin.give(GUILD, actor_id=1, member_id=103, tickets=9, reason="", reference="t")
    page = pages.get("raffle")
    assert page.status_code == 200
    assert 'name="watch_hour" type="number" value="10"' in page.text  # the rate the scenario set
    assert 'href="/raffle/1"' in page.text  # the closed, drawn period's public proof
    assert 'href="/raffle/1/proof.json"' in page.text
    assert 'href="/raffle/2"' not in page.text  # open: its seed is still secret
    assert "viewer3" in page.text  # the standings of the open period
    assert '<option value="2">' in page.text  # draw 2 can be rerolled
    for label in ('for="watch_hour"', 'for="viewer"', 'for="winners"', 'for="reroll_reason"'):
        assert label in page.text


def test_a_setting_changed_here_is_what_raffleinfo_shows(pages, month):
    answer = pages.post("raffle", "settings", {"watch_hour": "7", "linked_only": "off"})
    assert answer.status_code == 303
    embed = render_raffle.info_embed(month.views.info(GUILD))
    shown = "\n".join(str(field.value) for field in embed.fields)
    assert "7 per hour watched" in shown
    assert "anyone can win" in shown
    shown = pages.client.get(answer.headers["Location"]).text
    assert "Saved: Tickets per hour watched, Only linked accounts can win." in shown


def test_a_live_part_read_with_the_older_cookie_keeps_the_saved_notice(pages):
    """The page's live standings may be fetched while the form is saved. The browser keeps
    whichever cookie answers last, so that read must not send the older cookie back over the
    one carrying "Saved: ..." (a session is written only when it changes)."""
    older = pages.client.get_cookie("sk_session").value
    answer = pages.post("raffle", "settings", {"watch_hour": "7"})
    assert answer.status_code == 303
    standings = pages.client.application.test_client()
    standings.set_cookie("sk_session", older)
    part = standings.get(pages.url("raffle", "standings"))
    assert part.status_code == 200
    assert "Set-Cookie" not in part.headers
    shown = pages.client.get(answer.headers["Location"]).text
    assert "Saved: Tickets per hour watched." in shown


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("watch_hour", "lots", "Tickets per hour watched takes a whole number from 0 to 100000."),
        ("hold_minutes", "100001", "Hold gifted subs' tickets for (minutes) takes a whole number"),
        ("auto_draw", "maybe", "Draw automatically when a period ends takes on or off."),
        ("time_zone", "Mars/Olympus", "Mars/Olympus"),
        ("channel", "#general", "The announcement channel takes a Discord id: 17 to 20 digits"),
        ("channel", "123456789012345678", "That channel is not in this server."),
    ],
)
def test_a_refused_setting_is_shown_by_its_field(pages, month, field, value, message):
    before = month.periods.rates(GUILD)
    answer = pages.post("raffle", "settings", {field: value, "gifted_sub": "3"})
    assert_refused_here(answer, message)
    assert f'id="{field}-error"' in answer.text
    assert month.periods.rates(GUILD).gifted_sub_tickets == 3  # the good field was saved
    assert "Saved: Tickets per gifted sub." in answer.text  # and the page says so
    assert month.periods.rates(GUILD).time_zone == before.time_zone


def test_a_channel_of_this_server_is_taken_and_an_unknown_one_refused_without_a_bot(discord, month):
    with_bot = pages_for(
        discord, GUILD, raffle=month, guild_channel_ids=lambda g: frozenset({424242424242424242})
    )
    assert with_bot.post("raffle", "settings", {"channel": "424242424242424242"}).status_code == 303
    assert month.periods.rates(GUILD).announcement_channel_id == 424242424242424242
    assert with_bot.post("raffle", "settings", {"channel": ""}).status_code == 303
    # No channel means none, not RAFFLE_ANNOUNCEMENT_CHANNEL_ID (2002) again.
    assert month.periods.rates(GUILD).announcement_channel_id is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("424242424242424242", "I cannot check that channel now"),
        ("<# 424242424242424242 >", "The announcement channel takes a Discord id"),
    ],
)
def test_no_bot_here_means_a_channel_cannot_be_checked(discord, month, typed, message):
    pages = pages_for(discord, GUILD, raffle=month)  # guild_channel_ids: unknown
    answer = pages.post("raffle", "settings", {"channel": typed})
    assert_refused_here(answer, message)
    assert month.periods.rates(GUILD).announcement_channel_id == 2002  # as it was


OURS = 424242424242424242  # this server's text channel
VOICE = 454545454545454545  # this server's voice channel: announcements there would be lost
THEIRS = 434343434343434343  # a text channel of the other server the bot serves


@pytest.fixture
def described(month, discord, sqlite_engine):  # type: ignore[no-untyped-def]
    """The page with both servers' channels as the bot described them."""
    directory = DirectoryService(sqlite_engine, Clock(datetime(2026, 3, 1, tzinfo=UTC)))
    ours = (Channel(OURS, "general", "text", 0, True), Channel(VOICE, "Lounge", "voice", 1))
    directory.record_server(Snapshot(Server(GUILD, "Managed", None, True), (), ours))
    theirs = (Channel(THEIRS, "their-news", "text", 0, True),)
    directory.record_server(Snapshot(Server(OTHER_GUILD, "Other", None, True), (), theirs))
    channels = {GUILD: frozenset({OURS, VOICE}), OTHER_GUILD: frozenset({THEIRS})}
    return pages_for(
        discord, GUILD, raffle=month, directory=directory, guild_channel_ids=channels.get
    )


NOT_AN_ID = "The announcement channel takes a Discord id"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (str(THEIRS), "That channel is not in this server."),
        (f"<#{THEIRS}>", "That channel is not in this server."),
        (f"<#{VOICE}>", "I can't post in #Lounge"),
        # Spaces inside the mention: not read as the id, so not saved as it either.
        (f"<# {THEIRS} >", NOT_AN_ID),
        (f"<#{THEIRS} >", NOT_AN_ID),
        (f"<#\t{THEIRS}>", NOT_AN_ID),
        (f"<# {VOICE}>", NOT_AN_ID),
        (f"<# {OURS}>", NOT_AN_ID),
    ],
)
def test_a_channel_is_checked_however_it_is_typed(described, month, typed, message):
    answer = described.post("raffle", "settings", {"channel": typed})
    assert_refused_here(answer, message)
    assert 'id="channel-error"' in answer.text
    assert month.periods.rates(GUILD).announcement_channel_id == 2002  # as it was


@pytest.mark.parametrize("typed", [f"<#{OURS}>", f" {OURS} "])
def test_this_servers_channel_is_taken_as_a_mention_or_an_id(described, month, typed):
    answer = described.post("raffle", "settings", {"channel": typed})
    assert answer.status_code == 303
    assert month.periods.rates(GUILD).announcement_channel_id == OURS


@pytest.mark.parametrize(
    ("typed", "saved"), [("none", None), ("OFF", None), ("", None), ("default", 2002)]
)
def test_the_words_that_clear_the_channel_still_do(described, month, typed, saved):
    assert described.post("raffle", "settings", {"channel": str(OURS)}).status_code == 303
    assert described.post("raffle", "settings", {"channel": typed}).status_code == 303
    assert month.periods.rates(GUILD).announcement_channel_id == saved


def _ledger(month, reference):  # type: ignore[no-untyped-def]
    with month.engine.connect() as conn:
        query = sa.select(raffle_ledger).where(raffle_ledger.c.source_ref == reference)
        return conn.execute(query).all()


def test_tickets_given_by_member_or_kick_name_once_per_form(pages, month):
    form = {"viewer": "103", "amount": "12", "action": "give", "reason": "quiz", "reference": REF}
    answer = pages.post("raffle", "tickets", form)
    assert answer.status_code == 303
    # The member's account is named: a member's tickets go to their Kick account first.
    assert (
        "Gave 12 tickets (Kick account viewer3); they now have 12."
        in pages.client.get(answer.headers["Location"]).text
    )
    assert pages.post("raffle", "tickets", form).status_code == 303  # sent twice: counted once
    (row,) = _ledger(month, f"dashboard:{REF}")
    assert (row.amount, row.actor_id, row.reason, row.source) == (12, ADMIN_ID, "quiz", "admin")
    by_name = {
        **form,
        "viewer": "viewer3",
        "action": "remove",
        "amount": "5",
        "reference": "f" * 32,
    }
    answer = pages.post("raffle", "tickets", by_name)
    assert (
        "Took 5 tickets (Kick account viewer3); they now have 7."
        in pages.client.get(answer.headers["Location"]).text
    )
    assert month.views.board(GUILD).entries[0].tickets == 7


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"viewer": ""}, "viewer", "Say whose tickets"),
        (
            {"viewer": "nobody-by-that-name"},
            "viewer",
            "I don't know a Kick or Twitch viewer by that name.",
        ),
        (
            {"viewer": "twitch:viewer3"},
            "viewer",
            "I don't know a Kick or Twitch viewer by that name.",
        ),  # viewer3 is on Kick
        ({"viewer": str(UNLINKED)}, "viewer", "has not linked a Kick or Twitch account"),
        ({"viewer": str(OUTSIDER)}, "viewer", "There is no member with that id in this server."),
        ({"viewer": f"<@{OUTSIDER}>"}, "viewer", "There is no member with that id in this"),
        ({"viewer": "9" * 5000}, "viewer", "A member id takes a whole number"),
        ({"viewer": "99999999999999999999999"}, "viewer", "A member id takes a whole number"),
        ({"amount": "0"}, "amount", "Tickets takes a whole number from 1 to 1,000,000."),
        ({"amount": "-3"}, "amount", "Tickets takes a whole number"),
        ({"action": "remove"}, "viewer", "They have only 0 tickets."),
        ({"action": "steal"}, "action", "Choose give or remove."),
        ({"reference": "x"}, "tickets", "reload the page"),
        # The raffle keeps 200 characters of a reason: a longer one was saved cut off.
        ({"reason": "r" * 201}, "reason", "under 200 characters"),
    ],
)
def test_a_refused_ticket_change_is_shown_and_changes_nothing(pages, month, change, field, message):
    form = {"viewer": "103", "amount": "4", "action": "give", "reason": "", "reference": REF}
    answer = pages.post("raffle", "tickets", {**form, **change})
    assert_refused_here(answer, message)
    assert f'id="{field}-error"' in answer.text
    assert month.views.board(GUILD).entries == []


def test_draw_and_reroll_record_the_dashboard_user(pages, month):
    answer = pages.post("raffle", "draw", {"winners": "2", "prize": "a mug"})
    assert answer.status_code == 303
    draw = month.views.info(GUILD).last_draw
    assert (draw.id, draw.status, draw.prize, draw.requested_by) == (3, "done", "a mug", ADMIN_ID)
    assert len(draw.winners) == 2
    answer = pages.post("raffle", "reroll", {"draw_id": "3", "reroll_reason": "no answer"})
    assert answer.status_code == 303
    again = month.views.info(GUILD).last_draw
    assert (again.reroll_of, again.reason, again.requested_by) == (3, "no answer", ADMIN_ID)


@pytest.mark.parametrize(
    ("path", "form", "field", "message"),
    [
        ("draw", {"winners": "0"}, "winners", "Winners takes a whole number from 1 to 25."),
        ("draw", {"winners": "26"}, "winners", "Winners takes a whole number from 1 to 25."),
        ("draw", {"winners": "1", "prize": "p" * 201}, "prize", "under 200 characters"),
        ("reroll", {"draw_id": "2", "reroll_reason": " "}, "reroll_reason", "Say why you reroll"),
        ("reroll", {"draw_id": "2", "reroll_reason": "\u200b"}, "reroll_reason", "Say why you"),
        ("reroll", {"draw_id": "2", "reroll_reason": "r" * 250}, "reroll_reason", "under 200"),
        ("reroll", {"draw_id": "99", "reroll_reason": "x"}, "draw_id", "There is no draw #99"),
        ("reroll", {"draw_id": "", "reroll_reason": "x"}, "draw_id", "Draw takes a whole number"),
    ],
)
def test_a_refused_draw_is_shown_and_draws_nothing(pages, month, path, form, field, message):
    answer = pages.post("raffle", path, form)
    assert_refused_here(answer, message)
    assert f'id="{field}-error"' in answer.text
    assert month.views.info(GUILD).last_draw.id == 2


def test_a_draw_refused_by_the_service_while_no_period_closed(discord, sqlite_engine):
    from datetime import UTC, datetime

    from tests.features.raffle.support import make_service
    from tests.support.clock import Clock

    raffle = make_service(sqlite_engine, Clock(datetime(2026, 3, 10, tzinfo=UTC)))
    raffle.periods.start(GUILD)
    pages = pages_for(discord, GUILD, raffle=raffle)
    answer = pages.post("raffle", "draw", {"winners": "1"})
    assert_refused_here(answer, "The raffle period is still open")


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("settings", {"watch_hour": "9"}),
        ("tickets", {"viewer": "103", "amount": "1", "action": "give", "reference": REF}),
        ("draw", {"winners": "1"}),
        ("reroll", {"draw_id": "2", "reroll_reason": "x"}),
    ],
)
def test_writes_need_the_csrf_token_and_a_guild_the_user_manages(pages, month, path, form):
    assert pages.post("raffle", path, form, csrf=False).status_code == 403
    token = pages.csrf("raffle")
    other = pages.client.post(
        pages.url("raffle", path, OTHER_GUILD), data={**form, "csrf_token": token}
    )
    assert other.status_code == 403
    assert month.periods.rates(GUILD).watch_hour_tickets == 10  # as the scenario set it
    assert month.views.info(GUILD).last_draw.id == 2
    assert _ledger(month, f"dashboard:{REF}") == []


def test_another_guilds_page_is_403(pages):
    assert pages.get("raffle", guild_id=OTHER_GUILD).status_code == 403
    assert pages.get("raffle", guild_id=123456789012345678).status_code == 403


def test_without_the_raffle_the_page_says_so(discord):
    pages = pages_for(discord, GUILD)
    answer = pages.get("raffle")
    assert answer.status_code == 404
    assert "Raffle is not running in this StreamKeeper." in answer.text


def test_ending_and_starting_a_period_here_is_what_the_commands_do(pages, month):
    page = pages.get("raffle").text
    assert 'id="end-period"' in page  # period 2 is open
    assert 'id="start-period"' not in page
    answer = pages.post("raffle", "end", {})
    assert answer.status_code == 303
    ended = pages.get("raffle").text
    assert "Raffle period #2 is closed; its tickets are frozen." in ended
    closed = month.views.info(GUILD)
    assert closed.current is None  # and no new one opened (as after !raffleend)
    assert 'id="start-period"' in ended

    refused = pages.post("raffle", "end", {})
    assert_refused_here(refused, "No raffle period is open.")

    assert pages.post("raffle", "start", {}).status_code == 303
    started = pages.get("raffle").text
    current = month.views.info(GUILD).current
    assert current is not None
    assert f"Raffle period #{current.id} is open until" in started


def test_period_actions_need_the_csrf_token_and_the_guild(pages, month):
    assert pages.post("raffle", "end", {}, csrf=False).status_code == 403
    other = pages.post("raffle", "end", {}, guild_id=OTHER_GUILD)
    assert other.status_code == 403
    assert month.views.info(GUILD).current is not None


def test_tickets_by_source_are_charted_with_their_numbers(pages, month):
    month.admin.give(GUILD, actor_id=1, member_id=103, tickets=9, reason="", reference="t")
    totals = month.views.stats(GUILD).totals_by_source
    assert totals.get("admin", 0) >= 9
    page = pages.get("raffle").text
    chart = page.split('id="by-source"')[1].split("</figure>")[0]
    admin = totals["admin"]
    assert f'<th scope="row">Given by admins</th><td data-value="{admin}">{admin:,}</td>' in chart
    assert chart.count('<tr><th scope="row">') == sum(1 for t in totals.values() if t)
    assert "<canvas" in chart
