"""The heist & points page: every !heistset setting through HeistService.set_setting, recent
heists with crews and payouts, the points' name and rates, balances (top and by name), giving and
taking points with a reason and the dashboard user as actor; refusals next to their field (400),
another guild 403, no CSRF token 403."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from core.events import Platform, Viewer
from core.features.directory.repository import Channel, Server
from core.features.directory.service import Snapshot
from core.features.heist.rules import SETTINGS
from core.features.points.tables import points_ledger
from core.web.dashboard.pages.heist_settings import GROUPS
from tests.support.viewers import chatted_in
from tests.web.dashboard.conftest import ADMIN, GUILD, OTHER_GUILD, post

PAGE = f"/dashboard/{GUILD}/heist/"
HEISTS = 444000000000000001  # a channel of GUILD


def _viewer(site, user_id: str, name: str, points: int = 0, guild_id: int = GUILD) -> None:
    with site.runtime.engine.begin() as conn:
        chatted_in(conn, guild_id, Platform.KICK, [Viewer(user_id, name)], datetime.now(UTC))
    if points:
        site.runtime.points.give(guild_id, Platform.KICK, user_id, points, actor="test")


def test_page_lists_every_heist_setting_rates_and_balances(site):
    _viewer(site, "1", "rich_viewer", 5000)
    _viewer(site, "2", "elsewhere", 7000, guild_id=OTHER_GUILD)
    page = site.client().get(PAGE)
    assert page.status_code == 200
    for name in SETTINGS:
        assert f'for="f-heist-{name}"' in page.text
    for rate in ("watch", "sub", "chat", "chatcap", "window"):
        assert f'for="f-rate-{rate}"' in page.text
    assert "rich_viewer" in page.text
    assert "5,000" in page.text
    assert "elsewhere" not in page.text  # another guild's balance


def test_search_by_name(site):
    _viewer(site, "1", "rich_viewer", 5000)
    client = site.client()
    found = client.get(PAGE, query_string={"q": "Rich_Viewer"})
    assert 'class="found"' in found.text
    assert "5,000" in found.text
    missing = client.get(PAGE, query_string={"q": "nobody"})
    assert 'id="not-found"' in missing.text
    long = client.get(PAGE, query_string={"q": "x" * 100})
    assert long.status_code == 200
    assert "Name a viewer" in long.text


def test_every_heist_setting_is_in_exactly_one_group_with_words():
    named = [field.name for group in GROUPS for field in group.fields]
    assert sorted(named) == sorted(SETTINGS)  # a new setting must be given a place and words
    assert all(field.label and "_" not in field.label for group in GROUPS for field in group.fields)


def test_a_groups_save_changes_its_settings_through_set_setting(site):
    client = site.client()
    form = {"low_multiplier": "1.8", "medium_multiplier": "x2.2", "high_multiplier": "3.5"}
    assert post(client, PAGE + "settings/payouts", **form).status_code == 302
    rules = site.runtime.heist.rules(GUILD)
    assert (rules.low_multiplier, rules.medium_multiplier) == (180, 220)
    assert "What a win pays: Low risk." in client.get(PAGE).text  # what changed, in words
    assert site.runtime.heist.rules(OTHER_GUILD).low_multiplier == 150
    # Switches: an unticked box is off.
    bonus = {"sub_bonus_on": "on", "tier_prime_on": "on", "tier_1_on": "on", "tier_3_on": "on"}
    assert post(client, PAGE + "settings/bonus", **bonus).status_code == 302
    rules = site.runtime.heist.rules(GUILD)
    assert (rules.tier_2_on, rules.tier_1_on) == (False, True)


def test_one_switch_for_the_whole_subscriber_bonus(site):
    client = site.client()
    assert 'for="f-heist-sub_bonus_on"' in client.get(PAGE).text
    tiers_on = {"tier_prime_on": "on", "tier_1_on": "on", "tier_2_on": "on", "tier_3_on": "on"}
    assert post(client, PAGE + "settings/bonus", **tiers_on).status_code == 302
    rules = site.runtime.heist.rules(GUILD)
    assert not rules.sub_bonus_on
    assert [rules.tier_multiplier(tier) for tier in ("prime", "1", "2", "3")] == [100] * 4


def test_refused_heist_settings_are_shown_next_to_their_field(site):
    client = site.client()
    refused = post(client, PAGE + "settings/odds", low_chance="150", medium_chance="45")
    assert refused.status_code == 400
    assert 'id="e-heist-low_chance"' in refused.text
    assert "Low risk is a whole number from 1 to 99." in refused.text
    rules = site.runtime.heist.rules(GUILD)
    assert (rules.low_chance, rules.medium_chance) == (70, 45)  # the other field was saved
    assert "Chance to come back: saved Medium risk." in refused.text  # and the page says so
    crossed = post(client, PAGE + "settings/crew", min_bet="20000")
    assert crossed.status_code == 400
    assert "cannot be above Largest stake" in crossed.text
    assert post(client, PAGE + "settings/nonsense", low_chance="1").status_code == 404


def test_raising_both_the_smallest_and_the_largest_stake_in_one_save_saves_both(site):
    """Defaults 10..10,000; the streamer types 20,000 and 50,000 in the same form (a valid
    pair). Saved field by field against the stored values, the smallest stake was refused as
    "above max_bet (10,000)" while the form said 50,000, and only the largest was saved."""
    client = site.client()
    crew = {"join_window_seconds": "120", "cooldown_seconds": "300", "default_risk": "medium"}
    raised = post(client, PAGE + "settings/crew", min_bet="20,000", max_bet="50000", **crew)
    rules = site.runtime.heist.rules(GUILD)
    assert (rules.min_bet, rules.max_bet) == (20_000, 50_000)
    assert raised.status_code == 302
    crossed = post(client, PAGE + "settings/crew", min_bet="900", max_bet="800", **crew)
    assert crossed.status_code == 400
    assert 'id="e-heist-min_bet"' in crossed.text
    assert 'id="e-heist-max_bet"' in crossed.text
    assert "Smallest stake (900) cannot be above Largest stake (800)." in crossed.text
    rules = site.runtime.heist.rules(GUILD)
    assert (rules.min_bet, rules.max_bet) == (20_000, 50_000)  # neither limit saved


def test_crossed_stake_limits_are_refused_in_the_pages_words_not_heistset_names(site):
    """Only the field's own name was put in the page's words: the refusal by each stake field
    still named the other limit as !heistset types it (max_bet, min_bet), which the page never
    shows."""
    crossed = post(site.client(), PAGE + "settings/crew", min_bet="20000")
    assert crossed.status_code == 400
    assert "Smallest stake (20,000) cannot be above Largest stake (10,000)." in crossed.text
    assert "max_bet (" not in crossed.text
    both = post(site.client(), PAGE + "settings/crew", min_bet="900", max_bet="800")
    assert "min_bet (" not in both.text
    assert "max_bet (" not in both.text


def test_the_results_channel_must_be_this_servers(site):
    directory = site.runtime.directory
    heists = Channel(HEISTS, "heists", "text", 0, can_post=True)
    directory.record_server(Snapshot(Server(GUILD, "Managed", None, True), (), (heists,)))
    client = site.client()
    assert f'<option value="{HEISTS}">#heists</option>' in client.get(PAGE).text
    assert post(client, PAGE + "settings/results", channel=str(HEISTS)).status_code == 302
    assert site.runtime.heist.rules(GUILD).channel_id == HEISTS
    refused = post(client, PAGE + "settings/results", channel="123456789012345678")
    assert refused.status_code == 400
    assert "That channel is not in this server." in refused.text
    assert post(client, PAGE + "settings/results", channel="").status_code == 302
    assert site.runtime.heist.rules(GUILD).channel_id is None


def test_a_results_channel_the_picker_cannot_offer_stays_kept_through_a_save(site):
    """Set by !heistset while the bot could post there, now hidden from it: the picker shows it
    kept (not "Nowhere"), and saving the group as it is neither refuses nor erases it."""
    directory = site.runtime.directory
    heists = Channel(HEISTS, "heists", "text", 0, can_post=True)
    hidden = Channel(HEISTS + 1, "mods-only", "text", 1, can_post=False)
    directory.record_server(Snapshot(Server(GUILD, "Managed", None, True), (), (heists, hidden)))
    site.runtime.heist.set_setting(GUILD, "channel", str(HEISTS + 1))
    client = site.client()
    page = client.get(PAGE).text
    assert f'<option value="{HEISTS + 1}" selected>' in page
    assert post(client, PAGE + "settings/results", channel=str(HEISTS + 1)).status_code == 302
    assert site.runtime.heist.rules(GUILD).channel_id == HEISTS + 1


def test_points_name_and_rates(site):
    client = site.client()
    assert post(client, PAGE + "points/name", currency="Coins").status_code == 302
    assert site.runtime.points.name(GUILD) == "Coins"
    refused = post(client, PAGE + "points/name", currency="<@everyone>")
    assert refused.status_code == 400
    assert 'id="e-currency"' in refused.text
    assert post(client, PAGE + "points/rate", rate="watch", value="5").status_code == 302
    assert site.runtime.points.rates(GUILD).watch_rate == 5
    refused = post(client, PAGE + "points/rate", rate="window", value="0")
    assert refused.status_code == 400
    assert 'id="e-rate-window"' in refused.text
    assert "Posting interval is a whole number from 1 to 1440." in refused.text
    assert site.runtime.points.rates(GUILD).post_minutes == 30


def _ledger(site):
    l = points_ledger.c  # noqa: E741
    with site.runtime.engine.connect() as conn:
        return conn.execute(
            sa.select(l.guild_id, l.amount, l.actor_id, l.actor, l.reason)
            .where(l.source == "admin", l.actor == "dashboard")
            .order_by(l.id)
        ).all()


def test_give_and_remove_points_with_reason_and_actor(site):
    _viewer(site, "1", "viewer_one")
    client = site.client()
    given = post(client, PAGE + "points/give", viewer="viewer_one", amount="1,500", reason="won",
                 reference="a" * 32)  # fmt: skip
    assert given.status_code == 302
    assert "they have 1,500" in client.get(PAGE).text
    taken = post(client, PAGE + "points/remove", viewer="kick:viewer_one", amount="500",
                 reason="oops", reference="b" * 32)  # fmt: skip
    assert taken.status_code == 302
    assert site.runtime.points.balance(GUILD, Platform.KICK, "1") == 1000
    assert _ledger(site) == [(GUILD, 1500, ADMIN, "dashboard", "won"),
                             (GUILD, -500, ADMIN, "dashboard", "oops")]  # fmt: skip


def test_an_amount_with_a_comma_that_reads_two_ways_is_refused_saying_how_to_type_it(site):
    """ "1,5" (fifteen, or one and a half?) was refused as "The amount is a whole number from 1
    to 1,000,000,000.", where !pointsgive and the page's other numbers say how to type it."""
    _viewer(site, "1", "viewer_one")
    form = {"viewer": "viewer_one", "amount": "1,5", "reason": "", "reference": "e" * 32}
    refused = post(site.client(), PAGE + "points/give", **form)
    assert refused.status_code == 400
    assert "can be read two ways: type it without commas, like 1500" in refused.text
    assert site.runtime.points.balance(GUILD, Platform.KICK, "1") == 0


def test_a_give_or_take_sent_twice_changes_the_balance_once(site):
    """A double click (or a resent form) carries the form's one reference: the second answer
    is the same balance, and a second removal is not refused for what the first took."""
    _viewer(site, "1", "viewer_one")
    client = site.client()
    give = {"viewer": "viewer_one", "amount": "1,500", "reason": "won", "reference": "c" * 32}
    take = {"viewer": "viewer_one", "amount": "1,000", "reason": "oops", "reference": "d" * 32}
    for form in (give, give, take, take):
        action = "give" if form is give else "remove"
        answer = post(client, PAGE + f"points/{action}", follow_redirects=True, **form)
        assert answer.status_code == 200
    assert "Took 1,000 points from viewer_one (kick); they have 500." in answer.text
    assert site.runtime.points.balance(GUILD, Platform.KICK, "1") == 500
    assert _ledger(site) == [(GUILD, 1500, ADMIN, "dashboard", "won"),
                             (GUILD, -1000, ADMIN, "dashboard", "oops")]  # fmt: skip
    missing = post(client, PAGE + "points/give", viewer="viewer_one", amount="5", reason="")
    assert missing.status_code == 400
    assert "missing its reference" in missing.text


def test_take_away_on_a_form_whose_give_went_through_takes_it_away(site):
    """Give and Take away are two buttons of one form with one reference: a Take away sent
    with the reference a Give used (the form resent after the give's answer was lost, then the
    other button) is a change of its own, made, not "Took 500" for nothing taken."""
    _viewer(site, "1", "viewer_one")
    client = site.client()
    form = {"viewer": "viewer_one", "amount": "500", "reason": "", "reference": "9" * 32}
    assert post(client, PAGE + "points/give", **form).status_code == 302
    answer = post(client, PAGE + "points/remove", follow_redirects=True, **form)
    assert site.runtime.points.balance(GUILD, Platform.KICK, "1") == 0
    assert "Took 500 points from viewer_one (kick); they have 0." in answer.text
    again = post(client, PAGE + "points/remove", follow_redirects=True, **form)
    assert "Took 500 points from viewer_one (kick); they have 0." in again.text
    assert _ledger(site) == [(GUILD, 500, ADMIN, "dashboard", ""),
                             (GUILD, -500, ADMIN, "dashboard", "")]  # fmt: skip


def test_give_and_remove_refusals(site):
    _viewer(site, "1", "viewer_one", 100)
    _viewer(site, "2", "twin")
    with site.runtime.engine.begin() as conn:
        chatted_in(conn, GUILD, Platform.TWITCH, [Viewer("77", "twin")], datetime.now(UTC))
    client = site.client()
    for path, form, field, message in (
        ("give", {"viewer": "viewer_one", "amount": "0"}, "amount", "from 1 to 1,000,000,000"),
        ("give", {"viewer": "viewer_one", "amount": "-5"}, "amount", "from 1 to 1,000,000,000"),
        ("give", {"viewer": "viewer_one", "amount": "9" * 30}, "amount", "whole number"),
        ("give", {"viewer": "ghost", "amount": "5"}, "viewer", "No viewer called &#39;ghost&#39;"),
        ("give", {"viewer": "", "amount": "5"}, "viewer", "Name a viewer"),
        ("give", {"viewer": "twin", "amount": "5"}, "viewer", "more than one account"),
        ("remove", {"viewer": "viewer_one", "amount": "500"}, "amount", "They have only 100"),
    ):
        answer = post(client, PAGE + f"points/{path}", reference="e" * 32, **form)
        assert answer.status_code == 400, form
        assert f'id="e-{field}"' in answer.text, form
        assert message in answer.text, form
    assert site.runtime.points.balance(GUILD, Platform.KICK, "1") == 100
    assert _ledger(site) == []


def test_a_viewer_of_another_server_is_not_found_here(site):
    """Looked up by name across every server, bob of another server was found here: the
    search showed him, and a Give wrote him a balance in this server."""
    _viewer(site, "9", "bob", 700, guild_id=OTHER_GUILD)
    client = site.client()
    assert (
        'id="not-found">No viewer called bob has chatted here.' in client.get(PAGE + "?q=bob").text
    )
    answer = post(client, PAGE + "points/give", reference="f" * 32, viewer="bob", amount="5")
    assert answer.status_code == 400
    assert "No viewer called &#39;bob&#39; has chatted here" in answer.text
    assert site.runtime.points.balance(GUILD, Platform.KICK, "9") == 0
    assert site.runtime.points.balance(OTHER_GUILD, Platform.KICK, "9") == 700


def test_recent_heists_show_crews_and_payouts(site):
    _viewer(site, "1", "viewer_one", 1000)
    heist = site.runtime.heist
    heist.draw = type("Win", (), {"random": staticmethod(lambda: 0.0)})()
    joined = heist.join(GUILD, Platform.KICK, "123", "1", "viewer_one", "100 low")
    clock = site.runtime.clock
    from core.features.heist.tables import heists

    with site.runtime.engine.begin() as conn:  # the window closed a while ago
        conn.execute(sa.update(heists).values(closes_at=clock()))
    assert heist.resolve(joined.heist.id) is not None
    page = site.client().get(PAGE)
    assert f"Heist #{joined.heist.id}" in page.text
    assert "viewer_one" in page.text
    assert ">150<" in page.text
    assert "won" in page.text


def test_another_guild_is_403_and_csrf_is_required(site):
    client = site.client()
    other = f"/dashboard/{OTHER_GUILD}/heist/"
    assert client.get(other).status_code == 403
    assert post(client, other + "settings/crew", min_bet="5").status_code == 403
    assert client.post(PAGE + "settings/crew", data={"min_bet": "5"}).status_code == 403
    assert site.runtime.heist.rules(GUILD).min_bet == 10
    assert site.runtime.heist.rules(OTHER_GUILD).min_bet == 10


def test_a_reason_past_200_characters_is_refused_beside_its_field_not_cut(site):
    _viewer(site, "1", "viewer_one")
    client = site.client()
    assert 'name="reason" type="text" value="" maxlength="200"' in client.get(PAGE).text
    refused = post(client, PAGE + "points/give", viewer="viewer_one", amount="5",
                   reason="r" * 201)  # fmt: skip
    assert refused.status_code == 400
    assert 'id="e-reason"' in refused.text
    assert "Keep the reason under 200 characters." in refused.text
    assert _ledger(site) == []
    whole = "w" * 200
    assert post(client, PAGE + "points/give", viewer="viewer_one", amount="5",
                reason=whole, reference="f" * 32).status_code == 302  # fmt: skip
    assert _ledger(site) == [(GUILD, 5, ADMIN, "dashboard", whole)]


def test_a_length_may_be_typed_with_its_unit(site):
    """The rest between heists typed as "10 min" (as !heist settings shows lengths) was refused
    as no whole number; a plain number is still seconds."""
    crew = {"join_window_seconds": "90", "default_risk": "medium"}
    saved = post(site.client(), PAGE + "settings/crew", cooldown_seconds="10 min", **crew)
    assert saved.status_code == 302
    rules = site.runtime.heist.rules(GUILD)
    assert (rules.cooldown_seconds, rules.join_window_seconds) == (600, 90)


def test_the_points_name_keeps_its_capitals_in_the_balance_tables(site):
    """Points named "StreamCoins" headed the balances "Streamcoins" (every letter but the first
    was lowered)."""
    site.runtime.points.set_name(GUILD, "StreamCoins")
    _viewer(site, "1", "rich_viewer", 5000)
    page = site.client().get(PAGE)
    assert '<th scope="col">StreamCoins</th>' in page.text
    assert "Streamcoins" not in page.text
