"""The slot calls page: settings through the same setters as !slotcalls (refusals next to the
field, 400), the queue, the pick of !pickslot (recorded with the dashboard user), the blacklist;
another guild is 403 and a POST without the CSRF token is refused."""

from __future__ import annotations

from core.features.directory.repository import Channel, Server
from core.features.directory.service import Snapshot
from core.features.slot_calls.service import Verdict
from tests.features.chat_commands.doubles import webhook_chat
from tests.web.dashboard.conftest import ADMIN, GUILD, OTHER_GUILD, post

PAGE = f"/dashboard/{GUILD}/slot-calls/"
GENERAL = 555000000000000001  # a channel of GUILD
ELSEWHERE = 555000000000000009  # a channel of OTHER_GUILD


def _call(site, slot: str, sender_id: int, username: str, guild_id: int = GUILD) -> None:
    calls = site.runtime.slot_calls
    calls.set_enabled(guild_id, True)
    calls.set_cooldown(guild_id, 0)
    event = webhook_chat(f"!call {slot}", sender_id=sender_id, username=username, badges=[])
    assert calls.request(guild_id, event, slot).verdict is Verdict.ACCEPTED


def test_page_shows_settings_queue_and_blacklist(site):
    _call(site, "Gates of Olympus", 1, "viewer_one")
    _call(site, "Sweet Bonanza", 2, "viewer_two", guild_id=OTHER_GUILD)
    site.runtime.slot_calls.blacklist.add(GUILD, "troll", added_by=ADMIN, reason="spam")
    page = site.client().get(PAGE)
    assert page.status_code == 200
    assert "Gates of Olympus" in page.text
    assert "viewer_one" in page.text
    assert "Sweet Bonanza" not in page.text  # the other guild's queue
    assert "troll" in page.text
    assert "spam" in page.text
    assert 'for="f-cooldown"' in page.text  # labelled fields


def test_settings_change_through_the_service(site):
    client = site.client()
    answer = post(client, PAGE + "settings", enabled="on", cooldown="45", limit="3")
    assert answer.status_code == 302
    status = site.runtime.slot_calls.status(GUILD)
    assert status.settings.enabled is True
    assert status.settings.cooldown_seconds == 45
    assert status.settings.max_open_per_user == 3
    assert status.settings.require_link is False
    assert "Slot call settings saved." in client.get(PAGE).text
    post(client, PAGE + "settings", cooldown="45", limit="")
    status = site.runtime.slot_calls.status(GUILD)
    assert status.settings.enabled is False
    assert status.settings.max_open_per_user is None
    assert site.runtime.slot_calls.status(OTHER_GUILD).settings.cooldown_seconds == 30


def test_sr_is_a_slot_call_until_its_box_is_unticked(site):
    client = site.client()
    page = client.get(PAGE).text
    assert "with <code>!call</code> or <code>!sr</code>." in page
    assert 'name="answer_sr" type="checkbox" value="on" checked' in page
    post(client, PAGE + "settings", enabled="on", cooldown="30", limit="")
    assert site.runtime.slot_calls.status(GUILD).settings.answer_sr is False
    page = client.get(PAGE).text
    assert "with <code>!call</code>." in page
    post(client, PAGE + "settings", enabled="on", cooldown="30", limit="", answer_sr="on")
    assert site.runtime.slot_calls.status(GUILD).settings.answer_sr is True
    assert site.runtime.slot_calls.status(OTHER_GUILD).settings.answer_sr is True


def test_refused_settings_are_shown_next_to_the_field_and_change_nothing(site):
    client = site.client()
    for form, field, message in (
        ({"cooldown": "99999", "limit": ""}, "cooldown", "The cooldown is 0 to 3600 seconds."),
        ({"cooldown": "-1", "limit": ""}, "cooldown", "whole number of seconds"),
        ({"cooldown": "10", "limit": "500"}, "limit", "The limit is 1 to 100 open calls"),
        ({"cooldown": "10", "limit": "lots"}, "limit", "or empty for no limit"),
    ):
        answer = post(client, PAGE + "settings", enabled="on", **form)
        assert answer.status_code == 400, form
        assert f'id="e-{field}"' in answer.text
        assert message in answer.text
    settings = site.runtime.slot_calls.status(GUILD).settings
    assert (settings.enabled, settings.cooldown_seconds) == (False, 30)


def test_pick_is_the_service_pick_recorded_with_the_dashboard_user(site):
    _call(site, "Gates of Olympus", 1, "viewer_one")
    client = site.client()
    answer = post(client, PAGE + "pick")
    assert answer.status_code == 200
    assert "Gates of Olympus" in answer.text
    assert site.runtime.slot_calls.count_open(GUILD) == 0
    from core.features.slot_calls import repository

    with site.runtime.engine.connect() as conn:
        call = repository.get_call(conn, GUILD, 1)
    assert call is not None
    assert call.closed_by == ADMIN
    assert call.status == "picked"
    empty = post(client, PAGE + "pick")
    assert empty.status_code == 302
    assert "There is no open slot call to pick." in client.get(PAGE).text


def test_blacklist_add_and_remove(site):
    client = site.client()
    assert post(client, PAGE + "blacklist/add", name="@Troll", reason="spam").status_code == 302
    entries = site.runtime.slot_calls.blacklist.entries(GUILD)  # nobody called so has chatted: both
    assert sorted((str(e.platform), e.username, e.reason, e.added_by) for e in entries) == [
        ("kick", "Troll", "spam", ADMIN),
        ("twitch", "Troll", "spam", ADMIN),
    ]
    page = client.get(PAGE).text
    assert (
        '<td class="name" data-label="Viewer">Troll</td><td data-label="Platform">Twitch</td>'
        '<td data-label="Reason">spam</td>' in page
    )
    assert 'name="name" value="twitch:Troll"' in page  # each row's Remove names its platform
    refused = post(client, PAGE + "blacklist/add", name="  ")
    assert refused.status_code == 400
    assert "Name the viewer to blacklist: a Kick or Twitch name" in refused.text
    assert post(client, PAGE + "blacklist/remove", name="twitch:Troll").status_code == 302
    assert [str(e.platform) for e in site.runtime.slot_calls.blacklist.entries(GUILD)] == ["kick"]
    assert post(client, PAGE + "blacklist/remove", name="troll").status_code == 302
    assert site.runtime.slot_calls.blacklist.entries(GUILD) == []
    assert "troll was not blacklisted." in (
        post(client, PAGE + "blacklist/remove", name="troll", follow_redirects=True).text
    )
    blank = post(client, PAGE + "blacklist/remove", name="\u200b", follow_redirects=True)
    assert "Name the viewer to take off the blacklist: a Kick or Twitch name" in blank.text


def test_another_guild_is_403_and_changes_nothing(site):
    client = site.client()
    other = f"/dashboard/{OTHER_GUILD}/slot-calls/"
    assert client.get(other).status_code == 403
    assert post(client, other + "blacklist/add", name="troll").status_code == 403
    assert site.runtime.slot_calls.blacklist.entries(OTHER_GUILD) == []


def test_post_without_csrf_is_refused(site):
    client = site.client()
    answer = client.post(PAGE + "blacklist/add", data={"name": "troll"})
    assert answer.status_code == 403
    assert site.runtime.slot_calls.blacklist.entries(GUILD) == []


def test_the_channel_is_picked_by_name_and_must_be_this_servers(site):
    general = Channel(GENERAL, "slot-calls", "text", 0, can_post=True)
    voice = Channel(GENERAL + 1, "Lounge", "voice", 1)
    directory = site.runtime.directory
    directory.record_server(Snapshot(Server(GUILD, "Managed", None, True), (), (general, voice)))
    elsewhere = Channel(ELSEWHERE, "theirs", "text", 0, can_post=True)
    directory.record_server(Snapshot(Server(OTHER_GUILD, "Other", None, True), (), (elsewhere,)))
    client = site.client()
    page = client.get(PAGE).text
    assert f'<option value="{GENERAL}">#slot-calls</option>' in page
    assert "Lounge" not in page  # nowhere to post a call
    assert "theirs" not in page

    answer = post(client, PAGE + "settings", cooldown="30", limit="", channel=str(GENERAL))
    assert answer.status_code == 302
    assert site.runtime.slot_calls.status(GUILD).settings.channel_id == GENERAL

    refused = post(client, PAGE + "settings", cooldown="30", limit="", channel=str(ELSEWHERE))
    assert refused.status_code == 400
    assert "That channel is not in this server." in refused.text
    assert site.runtime.slot_calls.status(GUILD).settings.channel_id == GENERAL

    # The voice channel, posted by hand: refused, and nothing else on the form is saved.
    refused = post(
        client, PAGE + "settings", cooldown="99", limit="4", channel=str(voice.channel_id)
    )
    assert refused.status_code == 400
    assert "post in #Lounge; pick a text channel or thread I can post in." in refused.text
    settings = site.runtime.slot_calls.status(GUILD).settings
    assert (settings.channel_id, settings.cooldown_seconds, settings.max_open_per_user) == (
        GENERAL,
        30,
        None,
    )

    post(client, PAGE + "settings", cooldown="30", limit="", channel="")
    assert site.runtime.slot_calls.status(GUILD).settings.channel_id is None


def test_a_blacklist_reason_past_200_characters_is_refused_beside_its_field_not_cut(site):
    client = site.client()
    assert 'name="reason" type="text" value="" maxlength="200"' in client.get(PAGE).text
    refused = post(client, PAGE + "blacklist/add", name="troll", reason="r" * 201)
    assert refused.status_code == 400
    assert 'id="e-reason"' in refused.text
    assert "Keep the reason under 200 characters." in refused.text
    assert site.runtime.slot_calls.blacklist.entries(GUILD) == []
    assert post(client, PAGE + "blacklist/add", name="troll", reason="w" * 200).status_code == 302
    assert {e.reason for e in site.runtime.slot_calls.blacklist.entries(GUILD)} == {"w" * 200}


def test_a_calls_time_is_on_the_readers_clock_as_the_event_log_s_is(site):
    """The queue gave its times in UTC next to an event log in the streamer's own zone; each is
    now marked for local-time.js (UTC, said, without JavaScript)."""
    _call(site, "Gates of Olympus", 1, "viewer_one")
    [call] = site.runtime.slot_calls.open_calls(GUILD, 10)
    page = site.client().get(PAGE).text
    shown = call.called_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f'data-local="minutes">{shown}</time>' in page


def test_blacklisting_from_the_page_closes_the_viewers_open_calls(site):
    _call(site, "Rude Slot", 66, "troll")
    _call(site, "Gates of Olympus", 1, "viewer_one")

    added = post(
        client := site.client(), PAGE + "blacklist/add", name="troll", follow_redirects=True
    )

    assert "troll is blacklisted. Their 1 open slot call was closed, so none can be picked." in (
        added.text
    )
    assert [call.slot_name for call in site.runtime.slot_calls.open_calls(GUILD, 10)] == [
        "Gates of Olympus"
    ]
    assert "Rude Slot" not in client.get(PAGE).text
