"""LINK_EXPIRY_MINUTES: every signed link the bot hands out works that long; a bad value stops
the start with one plain line (exit 2)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from core.__main__ import main
from core.events import Platform
from core.security.links import LINK_LIFETIME, LinkInvalid, verify_link_params

GUILD = 222
MEMBER = 42


def params_of(link: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_links_work_for_the_configured_minutes_and_not_a_second_longer(make_runtime):
    runtime = make_runtime(LINK_EXPIRY_MINUTES="30")
    now = runtime.clock()
    secret = runtime.link_secret

    viewer = params_of(runtime.linking.start_link(GUILD, MEMBER, Platform.KICK))
    streamer = params_of(runtime.twitch_setup.connect_link(GUILD, MEMBER))

    for purpose, params in (("kick-viewer", viewer), ("twitch-streamer", streamer)):
        claims = verify_link_params(secret, purpose, params, now + timedelta(minutes=29))
        # The link carries whole seconds.
        assert abs(claims.expires_at - (now + timedelta(minutes=30))) < timedelta(seconds=2)
        with pytest.raises(LinkInvalid) as expired:
            verify_link_params(secret, purpose, params, now + timedelta(minutes=30, seconds=1))
        assert expired.value.reason == "expired"


def test_links_work_for_one_hour_by_default(make_runtime):
    runtime = make_runtime()
    params = params_of(runtime.linking.start_link(GUILD, MEMBER, Platform.KICK))
    expected = (runtime.clock() + LINK_LIFETIME).timestamp()
    assert abs(int(params["expires"]) - expected) < 2


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("an hour", "LINK_EXPIRY_MINUTES must be a whole number of minutes, got 'an hour'"),
        ("0", "LINK_EXPIRY_MINUTES must be at least 5, got 0"),
    ],
)
def test_a_bad_link_expiry_stops_the_start_in_one_plain_line(
    monkeypatch, capsys, tmp_path, value, line
):
    monkeypatch.chdir(tmp_path)  # no .env of a developer's
    monkeypatch.setenv("LINK_EXPIRY_MINUTES", value)

    assert main(["health"]) == 2
    assert capsys.readouterr().err.splitlines() == [line]
