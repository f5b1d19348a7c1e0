"""The overlays page: each overlay's full URL and preview for this guild only, rotating (the old
URL stops), a test alert, the settings with refusals by field (400, nothing saved), another
guild's page refused, a POST without the CSRF token refused, and no page without login."""

from __future__ import annotations

import pytest

from core.web.dashboard.security import CSRF_FIELD
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD, post

PAGE = f"/dashboard/{GUILD}/overlays/"


def path_of(site, kind: str, guild: int = GUILD) -> str:
    return site.runtime.overlays.link(guild, kind).path


def test_page_lists_the_three_overlays_of_this_guild_only(site):
    page = site.client().get(PAGE)
    assert page.status_code == 200
    for kind in ("heist", "raffle", "alerts"):
        assert f'value="http://dash.test{path_of(site, kind)}"' in page.text
        assert f'<iframe src="{path_of(site, kind)}"' in page.text
    for kind in ("heist", "raffle", "alerts"):
        assert path_of(site, kind, OTHER_GUILD) not in page.text
    assert f'href="/dashboard/{GUILD}/overlays/"' in page.text  # in the guild navigation
    assert "data-confirm=" in page.text  # rotating asks first


def test_rotating_gives_a_new_url_and_the_old_one_stops(site):
    old = path_of(site, "raffle")
    client = site.client()
    answer = post(client, f"{PAGE}rotate/raffle", follow_redirects=True)
    assert answer.status_code == 200
    assert "new URL" in answer.text
    new = path_of(site, "raffle")
    assert new != old
    assert new in answer.text
    assert site.app.test_client().get(old).status_code == 404
    assert site.app.test_client().get(new).status_code == 200
    assert path_of(site, "heist") in answer.text  # the others kept


def test_rotating_an_unknown_kind_is_refused(site):
    answer = post(site.client(), f"{PAGE}rotate/chat")
    assert answer.status_code == 400
    assert "no such overlay" in answer.text


def test_a_test_alert_goes_to_this_guilds_feed(site):
    answer = post(site.client(), f"{PAGE}test-alert", follow_redirects=True)
    assert "Test alert #1 sent" in answer.text
    assert [a.kind for a in site.runtime.overlays.alerts_after(GUILD, 0)] == ["test"]
    assert site.runtime.overlays.alerts_after(OTHER_GUILD, 0) == []


GOOD = {
    "alert_vip": "on",
    "alert_gifts": "off",
    "alert_milestones": "on",
    "milestones": "50, 250",
    "alert_seconds": "10",
    "accent_colour": "#00AA55",
    "text_colour": "#101010",
}


def test_a_switch_left_out_of_the_form_is_off(site):
    form = {name: value for name, value in GOOD.items() if name != "alert_vip"}
    answer = post(site.client(), f"{PAGE}settings", follow_redirects=True, **form)
    assert "Overlay settings saved" in answer.text
    assert site.runtime.overlays.settings(GUILD).alert_vip is False


def test_settings_are_saved(site):
    answer = post(site.client(), f"{PAGE}settings", follow_redirects=True, **GOOD)
    assert "Overlay settings saved" in answer.text
    saved = site.runtime.overlays.settings(GUILD)
    assert (saved.alert_gifts, saved.milestones, saved.accent_colour) == (
        False,
        (50, 250),
        "#00aa55",
    )
    assert site.runtime.overlays.settings(OTHER_GUILD).alert_gifts is True
    overlay = site.app.test_client().get(path_of(site, "alerts"))
    assert 'data-accent="#00aa55"' in overlay.text
    assert 'data-alert-seconds="10"' in overlay.text


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("accent_colour", "javascript:alert(1)", "six hex digits"),
        ("text_colour", '"><script>', "six hex digits"),
        ("alert_seconds", "9999", "between 2 and 60"),
        ("milestones", "lots", "not a whole number"),
        ("alert_vip", "yes", "Choose on or off."),  # a hand-made form: not saved as "off"
        ("alert_gifts", "ON", "Choose on or off."),
    ],
)
def test_bad_settings_are_shown_by_their_field_and_nothing_is_saved(site, field, value, words):
    answer = post(site.client(), f"{PAGE}settings", **(GOOD | {field: value}))
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.text
    assert words in answer.text
    assert "<script>" not in answer.text.split("<main", 1)[1]
    assert site.runtime.overlays.settings(GUILD).alert_seconds == 6


def test_another_guilds_overlays_page_is_refused(site):
    answer = site.client().get(f"/dashboard/{OTHER_GUILD}/overlays/")
    assert answer.status_code == 403
    assert path_of(site, "alerts", OTHER_GUILD) not in answer.text
    rotated = post(site.client(), f"/dashboard/{OTHER_GUILD}/overlays/rotate/alerts")
    assert rotated.status_code == 403


def test_without_login_or_csrf_nothing_happens(site):
    anonymous = site.app.test_client()
    assert anonymous.get(PAGE).status_code == 302
    before = path_of(site, "alerts")
    forged = site.client().post(f"{PAGE}rotate/alerts", data={CSRF_FIELD: "wrong"})
    assert forged.status_code == 403
    assert path_of(site, "alerts") == before


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sent=5", "?since=4"),
        ("?sent=abc", ""),
        ("?sent=", ""),
        ("?sent=%D9%A3", ""),
        ("?sent=" + "9" * 5000, ""),
        ("?sent=0", ""),
    ],
)
def test_after_a_test_alert_the_preview_starts_just_before_it(site, query, expected):
    page = site.client().get(PAGE + query)
    assert page.status_code == 200
    assert f'<iframe src="{path_of(site, "alerts")}{expected}"' in page.text
    assert f'<iframe src="{path_of(site, "heist")}"' in page.text


def test_a_milestone_typed_with_a_thousands_comma_is_not_split_in_two(site):
    """The field is "comma separated", so "1,500" (fifteen hundred, as every number field here
    reads it) was saved as two milestones, 1 and 500, without a word; and the page showed
    milestones as "100,500", which reads as one number."""
    client = site.client()
    answer = post(client, f"{PAGE}settings", **(GOOD | {"milestones": "100, 1,500"}))
    assert answer.status_code == 400
    assert 'id="milestones-error"' in answer.text
    assert "can be read two ways" in answer.text.replace("&#39;", "'")
    assert site.runtime.overlays.settings(GUILD).milestones != (1, 100, 500)

    assert post(client, f"{PAGE}settings", **(GOOD | {"milestones": "100 500"})).status_code == 302
    page = client.get(PAGE).text
    assert 'value="100, 500"' in page
    again = post(client, f"{PAGE}settings", **(GOOD | {"milestones": "100, 500"}))
    assert again.status_code == 302  # what the page shows is saved as it was
    assert site.runtime.overlays.settings(GUILD).milestones == (100, 500)
