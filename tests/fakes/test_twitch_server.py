"""The fake Twitch itself: its replies keep the fixtures' shapes and its headers Twitch's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.platforms.http import tls_context
from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET, FakeTwitch, fixture


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch() as fake:
        yield fake


def helix_get(twitch: FakeTwitch, path: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Client-Id": CLIENT_ID}
    return httpx.get(f"{twitch.helix_url}{path}", headers=headers, verify=tls_context())


def test_replies_have_exactly_the_fields_of_the_fixtures(twitch: FakeTwitch) -> None:
    token = twitch.issue_user_token()
    twitch.add_user("11111", "userloginname")
    twitch.channels["141981764"].vips.append("11111")
    twitch.add_subscriber("141981764", "11111")

    user = helix_get(twitch, "/users", token).json()["data"][0]
    vip = helix_get(twitch, "/channels/vips?broadcaster_id=141981764", token).json()["data"][0]
    sub = helix_get(twitch, "/subscriptions?broadcaster_id=141981764", token).json()
    validate = httpx.get(
        f"{twitch.oauth_url}/validate",
        headers={"Authorization": f"OAuth {token}"},
        verify=tls_context(),
    ).json()
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    app = httpx.post(
        f"{twitch.oauth_url}/token",
        data={**form, "grant_type": "client_credentials"},
        verify=tls_context(),
    )

    assert set(user) == set(fixture("helix/get_users.json")["data"][0]) - {"email"}
    assert set(vip) == set(fixture("helix/get_vips.json")["data"][0])
    subs_fixture = fixture("helix/get_broadcaster_subscriptions.json")
    assert set(sub["data"][0]) == set(subs_fixture["data"][0])
    assert set(sub) == set(subs_fixture)
    assert set(validate) == set(fixture("oauth/validate_200.json"))
    assert set(app.json()) == {"access_token", "expires_in", "token_type"}


def test_every_helix_answer_carries_the_rate_limit_headers_errors_too(twitch: FakeTwitch) -> None:
    token = twitch.issue_user_token()

    ok = helix_get(twitch, "/users", token)
    refused = helix_get(twitch, "/channels/vips?broadcaster_id=1", token)

    for response in (ok, refused):
        assert response.headers["Ratelimit-Limit"] == "800"
        assert int(response.headers["Ratelimit-Reset"]) > 0
    assert (ok.headers["Ratelimit-Remaining"], refused.headers["Ratelimit-Remaining"]) == (
        "799",
        "798",
    )
    assert refused.status_code == 403
    assert set(refused.json()) == {"error", "status", "message"}


def test_a_missing_or_foreign_client_id_is_401(twitch: FakeTwitch) -> None:
    token = twitch.issue_user_token()

    response = httpx.get(
        f"{twitch.helix_url}/users",
        headers={"Authorization": f"Bearer {token}", "Client-Id": "other"},
        verify=tls_context(),
    )

    assert response.status_code == 401
    assert response.json()["message"] == "Client ID and OAuth token do not match"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"prompt": "x" * 201}, "prompt must be at most 200"),
        ({"is_max_per_stream_enabled": True}, "max_per_stream must be at least 1"),
        ({"is_max_per_user_per_stream_enabled": True, "max_per_user_per_stream": 0}, "at least 1"),
        ({"is_global_cooldown_enabled": True, "global_cooldown_seconds": 604_801}, "at most"),
        ({"is_global_cooldown_enabled": "yes", "global_cooldown_seconds": 60}, "boolean"),
        ({"max_per_stream": "3"}, "must be an integer"),
    ],
)
def test_reward_limits_are_refused_as_helix_does(twitch: FakeTwitch, body, words: str) -> None:
    token = twitch.issue_user_token(scopes=("channel:manage:redemptions",))
    headers = {"Authorization": f"Bearer {token}", "Client-Id": CLIENT_ID}
    url = f"{twitch.helix_url}/channel_points/custom_rewards?broadcaster_id=141981764"

    made = httpx.post(
        url, headers=headers, json={"title": "VIP", "cost": 5, **body}, verify=tls_context()
    )
    assert made.status_code == 400
    assert words in made.json()["message"]

    ok = httpx.post(
        url,
        headers=headers,
        json={"title": "VIP", "cost": 5, "prompt": "p" * 200},
        verify=tls_context(),
    )
    assert ok.status_code == 200
    reward = ok.json()["data"][0]
    changed = httpx.patch(
        f"{url}&id={reward['id']}", headers=headers, json=body, verify=tls_context()
    )
    assert changed.status_code == 400
    assert twitch.rewards[reward["id"]]["prompt"] == "p" * 200
