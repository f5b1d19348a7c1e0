"""A guild page whose feature is not installed in this process answers a 404 page that names the
area (every area gets it from ``guild_blueprint``), for its index and for its forms, and never a
500; the other areas keep working."""

from __future__ import annotations

import dataclasses

import pytest

from core.web.app import create_app
from tests.web.dashboard.conftest import GUILD, Site, post

# area slug -> (the dashboard's service fields it needs, the area's label, a form of it)
AREAS = {
    "raffle": (("raffle",), "Raffle", "settings"),
    "roles": (("roles",), "Roles", "add"),
    "watchtime": (("watchtime",), "Watchtime", "tracking"),
    "linking": (("linking",), "Linking", "settings"),
    "slot-calls": (("slot_calls",), "Slot calls", "settings"),
    "heist": (("heist", "points"), "Heist &amp; points", "setting"),
    "events": (("event_log", "guilds_tracking"), "Event log", "retry"),
    "vip": (("vip",), "Temporary VIP", "grant"),
    "overlays": (("overlays",), "Overlays", "settings"),
    "connections": (("kick_setup", "twitch_setup"), "Kick &amp; Twitch", "kick/connect"),
}


@pytest.fixture
def bare_site(site: Site) -> Site:
    """The same runtime's web app with every feature service taken away."""
    services = site.runtime.web_services()
    assert services.dashboard is not None
    off = {name: None for fields, _, _ in AREAS.values() for name in fields}
    config = dataclasses.replace(services.dashboard, **off)
    return Site(
        site.runtime, create_app(dataclasses.replace(services, dashboard=config)), site.discord
    )


@pytest.mark.parametrize("slug", sorted(AREAS))
def test_an_area_whose_feature_is_off_is_a_404_page_naming_it(bare_site: Site, slug: str):
    _, label, form = AREAS[slug]
    client = bare_site.client()
    answer = client.get(f"/dashboard/{GUILD}/{slug}/")
    assert answer.status_code == 404
    assert f"{label} is not running in this StreamKeeper." in answer.get_data(as_text=True)
    sent = post(client, f"/dashboard/{GUILD}/{slug}/{form}")
    assert sent.status_code == 404, sent.status_code  # the form, too: never a 500


@pytest.mark.parametrize("slug", sorted(AREAS))
def test_with_the_feature_on_the_same_page_answers(site: Site, slug: str):
    answer = site.client().get(f"/dashboard/{GUILD}/{slug}/")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
