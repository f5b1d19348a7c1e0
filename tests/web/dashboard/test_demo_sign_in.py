"""The demo's sign-in (core/web/demo.py): absent from a normal app, refused on an address that is
not loopback, answering only requests made on this machine, and signing in as the demo admin of
the seeded servers with the page's CSRF token."""

from __future__ import annotations

import re

import pytest

from core.web.app import create_app
from core.web.demo import NotLoopback, install_demo, is_loopback_host
from tests.web.dashboard.conftest import GUILD

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}


def test_a_normal_app_has_no_demo_sign_in(site):
    client = site.app.test_client()
    assert client.post("/demo/sign-in", environ_base=LOCAL).status_code == 404
    assert "demo-banner" not in client.get("/", environ_base=LOCAL).text


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org", ""])  # noqa: S104
def test_the_demo_refuses_an_address_beyond_this_machine(site, host):
    assert not is_loopback_host(host)
    with pytest.raises(NotLoopback, match="this computer only"):
        install_demo(create_app(site.runtime.web_services()), host, {GUILD: "Managed"})


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]"])
def test_loopback_addresses_are_loopback(host):
    assert is_loopback_host(host)


def _demo_app(site):  # type: ignore[no-untyped-def]
    app = create_app(site.runtime.web_services())
    install_demo(app, "127.0.0.1", {GUILD: "Managed"})
    return app


def test_the_demo_signs_in_without_discord_and_marks_every_page(site):
    client = _demo_app(site).test_client()
    landing = client.get("/", environ_base=LOCAL)
    assert 'id="demo-banner"' in landing.text
    assert 'id="login"' not in landing.text  # no "Log in with Discord"
    assert client.post("/demo/sign-in", environ_base=LOCAL).status_code == 403  # no CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', landing.text)[1]  # type: ignore[index]
    signed = client.post("/demo/sign-in", data={"csrf_token": token}, environ_base=LOCAL)
    assert signed.status_code == 302
    for path in ("/dashboard/", f"/dashboard/{GUILD}/alerts/", f"/dashboard/{GUILD}/overlays/"):
        page = client.get(path, environ_base=LOCAL)
        assert page.status_code == 200, path
        assert 'id="demo-banner"' in page.text
    assert client.get("/dashboard/222222222222222222/", environ_base=LOCAL).status_code == 403


@pytest.mark.parametrize(
    ("address", "headers"),
    [("203.0.113.5", {}), ("127.0.0.1", {"X-Forwarded-For": "203.0.113.5"})],
)
def test_the_demo_answers_only_this_machine(site, address, headers):
    client = _demo_app(site).test_client()
    answer = client.get("/", environ_base={"REMOTE_ADDR": address}, headers=headers)
    assert answer.status_code == 403
    assert "only on the computer it runs on" in answer.text
