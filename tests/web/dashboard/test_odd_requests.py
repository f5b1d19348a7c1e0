"""Requests no page makes but a hand-made one can (found by an audit: each was a 500 or a bad
value saved quietly): every one is a 4xx with words, or a refusal by its field, and changes
nothing."""

from __future__ import annotations

import pytest

from tests.web.dashboard.conftest import GUILD, post

PAGE = f"/dashboard/{GUILD}"


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (f"{PAGE}/heist/points/name", {"currency": "a\x00b"}),
        (f"{PAGE}/alerts/goal", {"title": "a\x00b"}),
        (f"{PAGE}/raffle/tickets", {"viewer": "a\x00b", "amount": "5"}),
        (f"{PAGE}/vip/revoke", {"login": "a\x00b"}),
    ],
)
def test_a_nul_in_a_form_is_a_400_and_saves_nothing(site, path, form):
    client = site.client()
    before = site.runtime.points.name(GUILD)
    answer = post(client, path, **form)
    assert answer.status_code == 400
    assert "no text can (NUL)" in answer.text
    assert site.runtime.points.name(GUILD) == before


@pytest.mark.parametrize(
    "path",
    [f"{PAGE}/heist/?q=%00", f"{PAGE}/watchtime/?q=a%00", f"{PAGE}/vip/?viewer=%00"],
)
def test_a_nul_in_a_search_is_a_400(site, path):
    assert site.client().get(path).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"{PAGE}/payments/99999999999999999999999999/paid",
        f"{PAGE}/vip/rules/99999999999999999999999999/change",
        f"{PAGE}/vip/rules/99999999999999999999999999/remove",
    ],
)
def test_a_record_number_no_database_row_can_have_is_a_404(site, path):
    assert post(site.client(), path, hours="5").status_code == 404


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01x", "2026-02-30"])
def test_a_day_no_filter_can_end_is_refused_by_the_filter(site, day):
    answer = site.client().get(f"{PAGE}/vip/", query_string={"on": day})
    assert answer.status_code in (200, 400)
    assert "The date is a day like 2026-03-01." in answer.text


@pytest.mark.parametrize(
    "sub", ["d:99999999999999999999:raffle", "d:9223372036854775808:vip", "d:0:vip"]
)
def test_a_live_stream_of_a_server_no_id_can_name_follows_nothing(site, sub):
    answer = site.app.test_client().get("/live", query_string={"s": sub})
    assert answer.status_code == 404
    assert answer.text == "Nothing to follow.\n"
