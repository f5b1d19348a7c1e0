"""HTTP errors as a browser sees them: a page in the dashboard's look and in plain words, that
tells nothing of the request or the fault; a script or a platform keeps the JSON answer."""

from __future__ import annotations

import logging
from io import BytesIO

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from core.features.refusals import Refused
from core.web.dashboard.security import CSRF_FIELD
from tests.web.dashboard.conftest import CSRF, GUILD, post

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
REMOTE = {"REMOTE_ADDR": "203.0.113.9"}
WERKZEUG_WORDS = ("requested URL", "The method is not allowed", "exceeds the capacity")


def assert_page(answer, status: int, words: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status
    assert answer.mimetype == "text/html"
    assert words in answer.text
    assert not any(said in answer.text for said in WERKZEUG_WORDS)
    assert answer.headers["Cache-Control"] == "no-store"
    policy = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize(
    "path",
    ["/no-such-page", "/dashboard/nope", f"/dashboard/{GUILD}/nope", "/me/nope", "/static/x.css"],
)
def test_an_unknown_address_is_a_page_for_a_browser_and_json_for_a_script(site, path):
    client = site.app.test_client()
    answer = client.get(path, headers=BROWSER)
    assert_page(answer, 404, "There is no page at this address.")
    assert "Set-Cookie" not in answer.headers
    for accept in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        assert client.get(path, headers=accept).json["status"] == "error"


def test_a_signed_in_user_keeps_their_header_on_an_error_page(site):
    answer = site.client().get(f"/dashboard/{GUILD}/nope", headers=BROWSER)
    assert_page(answer, 404, "Page not found")
    assert 'id="logout"' in answer.text


def test_an_error_inside_the_dashboard_is_a_page_whatever_the_client_asks(site):
    answer = post(site.client(), f"/dashboard/{GUILD}/heist/settings/no-such-group")
    assert_page(answer, 404, "There is no page at this address.")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/logout", "POST"), ("GET", f"/dashboard/{GUILD}/roles/add", "POST")],
)
def test_a_wrong_method_is_a_page_that_says_what_is_allowed(site, method, path, allowed):
    answer = site.client().open(path, method=method, headers=BROWSER)
    assert_page(answer, 405, "does not take that kind of request")
    assert set(answer.headers["Allow"].split(", ")) >= {allowed}


def test_a_wrong_method_in_json_says_what_is_allowed_too(site):
    answer = site.app.test_client().get("/logout")
    assert (answer.status_code, answer.json["status"]) == (405, "error")
    assert "POST" in answer.headers["Allow"]


def test_a_form_past_the_request_limit_is_a_413_page_and_saves_nothing(site):
    answer = post(site.client(), f"/dashboard/{GUILD}/roles/add", role_id="1" * 2_000_000)
    assert_page(answer, 413, "nothing was saved")
    assert site.runtime.roles.tiers(GUILD) == []


def test_a_huge_field_of_a_plain_form_is_refused_by_its_field(site):
    answer = post(site.client(), f"/dashboard/{GUILD}/roles/add", role_id="1" * 900_000)
    assert answer.status_code == 400
    assert "Role takes a Discord id" in answer.text
    assert site.runtime.roles.tiers(GUILD) == []


def picture(size: int = 100) -> FileStorage:
    data = b"\x89PNG\r\n\x1a\n" + b"0" * size
    return FileStorage(BytesIO(data), filename="alert.png", content_type="image/png")


@pytest.mark.parametrize(
    ("size", "fields"),
    [
        (1024 * 1024, {}),  # past the request's 1 MiB
        (100, {"note": "x" * 600_000}),  # a field past what one may hold
        (100, {f"field{n}": "x" for n in range(1_100)}),  # more fields than any form has
    ],
    ids=["body", "field", "fields"],
)
def test_an_upload_too_large_is_a_413_page_and_saves_nothing(site, size, fields):
    # Encoded here, in memory: the test client would spool a large body to a file it leaves
    # open. The fields go first: a file the parser opened before it gives up is closed only by
    # the garbage collector, with a ResourceWarning the suite turns into an error.
    boundary, body = encode_multipart({CSRF_FIELD: CSRF, **fields, "file": picture(size)})
    answer = site.client().post(
        f"/dashboard/{GUILD}/alerts/media",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert_page(answer, 413, "nothing was saved. Send something smaller")
    assert site.runtime.overlays.alert_settings.media(GUILD) == []


def test_an_unexpected_fault_is_a_500_page_that_tells_nothing(site, monkeypatch, caplog):
    def broken(guild_id: int):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail: postgresql://streamkeeper:hunter2@db.internal/sk")

    monkeypatch.setattr(site.runtime.roles, "tiers", broken)
    with caplog.at_level(logging.ERROR):
        answer = site.client().get(f"/dashboard/{GUILD}/roles/")
    assert_page(answer, 500, "Something went wrong")
    assert "hunter2" not in answer.text
    assert "db.internal" not in answer.text
    assert "secret detail" in caplog.text  # the operator's log has it; the browser does not


def test_a_refusal_no_view_caught_is_a_400_page_in_its_own_words(site, monkeypatch):
    def refused(guild_id: int):  # type: ignore[no-untyped-def]
        raise Refused("The roles are being changed; try again in a moment.")

    monkeypatch.setattr(site.runtime.roles, "tiers", refused)
    answer = site.client().get(f"/dashboard/{GUILD}/roles/")
    assert_page(answer, 400, "The roles are being changed; try again in a moment.")


@pytest.mark.parametrize(
    ("path", "unknown_path"),
    [
        ("/setup", "/no-such-page"),
        ("/setup?token=wrong", "/no-such-page"),
        ("/overlay/" + "A" * 32, "/overlay/no/such/page"),
    ],
)
def test_a_page_that_hides_itself_looks_like_an_unknown_address_to_a_browser(
    site, path, unknown_path
):
    client = site.app.test_client()
    hidden = client.get(path, headers=BROWSER, environ_base=REMOTE)
    unknown = client.get(unknown_path, headers=BROWSER, environ_base=REMOTE)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_data() == unknown.get_data()
    assert sorted(hidden.headers.items()) == sorted(unknown.headers.items())


def test_a_wrong_overlay_link_in_obs_says_so_on_a_transparent_page(site):
    """OBS draws what an overlay's address answers over the stream: a wrong or rotated token
    gets a transparent page with one short note for the streamer (not raw JSON in developer
    words, not an opaque page over the stream), the same for every unknown address under
    /overlay/, so it tells nothing of which tokens exist. Its live stream and state keep the
    JSON answer for the scripts that ask for them."""
    client = site.app.test_client()
    answer = client.get("/overlay/" + "A" * 32, headers=BROWSER)
    assert (answer.status_code, answer.mimetype) == (404, "text/html")
    assert "This overlay link does not work" in answer.text
    assert "Overlays page" in answer.text
    assert "overlay.css" in answer.text
    assert "style=" not in answer.text
    assert "<script" not in answer.text
    assert "dashboard.css" not in answer.text  # not the dashboard's opaque error page
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    for path, accept in (
        ("/overlay/" + "A" * 32 + "/events", "text/event-stream"),
        ("/overlay/" + "A" * 32 + "/state", "application/json"),
        ("/overlay/" + "A" * 32, "*/*"),
    ):
        kept = client.get(path, headers={"Accept": accept})
        assert (kept.status_code, kept.mimetype) == (404, "application/json"), path
