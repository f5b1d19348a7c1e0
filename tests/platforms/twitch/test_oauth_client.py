from __future__ import annotations

import logging
import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.platforms.http import tls_context
from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.oauth_client import (
    SCOPES,
    InvalidClient,
    InvalidGrant,
    InvalidToken,
    TokenSet,
    TwitchOAuthClient,
    TwitchOAuthError,
    authorize_url,
    new_state,
)
from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET, FakeTwitch
from tests.platforms.twitch.conftest import BROADCASTER_ID, REDIRECT_URI
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep


async def consent(twitch: FakeTwitch, *, state: str = "st4te-123") -> dict[str, list[str]]:
    """Send the user's browser to the authorize URL; return the callback's query."""
    url = authorize_url(
        twitch.oauth_url, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, state=state
    )
    async with httpx.AsyncClient(verify=tls_context()) as browser:
        response = await browser.get(url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)


async def user_tokens(twitch: FakeTwitch, oauth: TwitchOAuthClient) -> TokenSet:
    callback = await consent(twitch)
    return await oauth.exchange_code(callback["code"][0], REDIRECT_URI)


def test_scopes_are_the_union_the_features_need() -> None:
    assert set(SCOPES) == {
        "channel:manage:vips",
        "channel:read:vips",
        "channel:manage:redemptions",
        "channel:read:redemptions",
        "channel:read:subscriptions",
        "user:read:chat",
        "user:write:chat",
        "user:bot",
        "channel:bot",
        "moderator:read:followers",  # follow alerts (channel.follow v2)
        "bits:read",  # cheer alerts and VIP rules for cheers (channel.cheer)
    }


def test_authorize_url_asks_for_a_code_with_space_separated_scopes_and_the_state() -> None:
    url = authorize_url(
        "https://id.twitch.tv/oauth2",
        client_id="abc",
        redirect_uri=REDIRECT_URI,
        scopes=["channel:read:vips", "user:write:chat"],
        state="xyz",
        force_verify=True,
    )

    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("id.twitch.tv", "/oauth2/authorize")
    assert "scope=channel%3Aread%3Avips%20user%3Awrite%3Achat" in parts.query
    assert parse_qs(parts.query) == {
        "client_id": ["abc"],
        "redirect_uri": [REDIRECT_URI],
        "response_type": ["code"],
        "scope": ["channel:read:vips user:write:chat"],
        "state": ["xyz"],
        "force_verify": ["true"],
    }


def test_the_oauth_base_url_may_be_given_with_or_without_oauth2() -> None:
    with_path = authorize_url(
        "https://id.twitch.tv/oauth2/", client_id="a", redirect_uri="r", state="s"
    )
    host_only = authorize_url("https://id.twitch.tv", client_id="a", redirect_uri="r", state="s")

    assert with_path == host_only
    assert urlsplit(host_only).path == "/oauth2/authorize"


def test_an_authorization_without_a_state_is_refused_and_states_are_unguessable() -> None:
    with pytest.raises(ValueError, match="state"):
        authorize_url("https://id.twitch.tv", client_id="a", redirect_uri="r", state="")
    assert len({new_state() for _ in range(50)}) == 50
    assert len(new_state()) >= 40


async def test_round_trip_from_consent_to_a_user_token_helix_accepts(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock
) -> None:
    callback = await consent(twitch, state="round-trip")
    assert callback["state"] == ["round-trip"]
    assert callback["scope"] == [" ".join(SCOPES)]

    tokens = await oauth.exchange_code(callback["code"][0], REDIRECT_URI)

    assert tokens.refresh_token
    assert tokens.scopes == SCOPES
    assert tokens.token_type == "bearer"
    assert tokens.expires_at == clock.now + timedelta(seconds=14_124)
    async with HelixClient(twitch.helix_url, CLIENT_ID) as helix:
        (user,) = await helix.get_users(tokens.access_token)
    assert (user.id, user.login) == (BROADCASTER_ID, "twitchdev")


async def test_denied_consent_redirects_back_with_access_denied_and_the_state(
    twitch: FakeTwitch,
) -> None:
    twitch.deny_next_consent()

    callback = await consent(twitch, state="denied")

    assert callback["error"] == ["access_denied"]
    assert callback["state"] == ["denied"]
    assert "code" not in callback


async def test_a_code_works_once(twitch: FakeTwitch, oauth: TwitchOAuthClient) -> None:
    callback = await consent(twitch)
    await oauth.exchange_code(callback["code"][0], REDIRECT_URI)

    with pytest.raises(InvalidGrant) as caught:
        await oauth.exchange_code(callback["code"][0], REDIRECT_URI)

    assert (caught.value.status, caught.value.message) == (400, "Invalid authorization code")


async def test_a_code_for_another_redirect_uri_is_an_invalid_grant(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    callback = await consent(twitch)

    with pytest.raises(InvalidGrant):
        await oauth.exchange_code(callback["code"][0], "http://localhost:9999/other")


async def test_a_wrong_client_secret_is_invalid_client_not_a_dead_grant(
    twitch: FakeTwitch,
) -> None:
    callback = await consent(twitch)

    async with TwitchOAuthClient(twitch.oauth_url, CLIENT_ID, "not-the-secret") as client:
        with pytest.raises(InvalidClient) as caught:
            await client.exchange_code(callback["code"][0], REDIRECT_URI)

    assert not isinstance(caught.value, InvalidGrant)
    assert (caught.value.status, caught.value.message) == (403, "invalid client secret")


async def test_refresh_rotates_the_refresh_token_and_the_old_one_dies(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    first = await user_tokens(twitch, oauth)

    second = await oauth.refresh(first.refresh_token or "")

    assert second.access_token != first.access_token
    assert second.refresh_token not in (None, first.refresh_token)
    assert second.scopes == first.scopes
    assert twitch.is_token_active(second.access_token)
    with pytest.raises(InvalidGrant) as caught:
        await oauth.refresh(first.refresh_token or "")
    assert caught.value.message == "Invalid refresh token"
    third = await oauth.refresh(second.refresh_token or "")
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_a_refresh_after_the_grant_was_revoked_is_an_invalid_grant(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    tokens = await user_tokens(twitch, oauth)
    twitch.revoke_grant()

    with pytest.raises(InvalidGrant):
        await oauth.refresh(tokens.refresh_token or "")


async def test_a_token_grant_is_not_repeated_when_its_answer_was_lost(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    tokens = await user_tokens(twitch, oauth)
    twitch.disconnect_next("/oauth2/token")

    with pytest.raises(TwitchOAuthError) as caught:
        await oauth.refresh(tokens.refresh_token or "")

    assert caught.value.status is None
    assert len(twitch.requests_to("/oauth2/token")) == 2  # the code, then one refresh


async def test_a_token_grant_refused_with_503_before_it_was_taken_is_tried_again(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, sleep: RecordingSleep
) -> None:
    tokens = await user_tokens(twitch, oauth)
    twitch.fail_next("/oauth2/token", 503)

    fresh = await oauth.refresh(tokens.refresh_token or "")

    assert twitch.is_token_active(fresh.access_token)
    assert sleep.delays == [0.5]


async def test_app_token_has_no_refresh_token_and_no_scopes(
    oauth: TwitchOAuthClient, clock: Clock
) -> None:
    tokens = await oauth.app_token()

    assert tokens.refresh_token is None
    assert tokens.scopes == ()
    assert tokens.expires_at == clock.now + timedelta(seconds=5_011_271)


async def test_validate_reports_user_client_scopes_and_expiry(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock
) -> None:
    tokens = await user_tokens(twitch, oauth)

    validation = await oauth.validate(tokens.access_token)

    assert validation.client_id == CLIENT_ID
    assert (validation.user_id, validation.login) == (BROADCASTER_ID, "twitchdev")
    assert validation.scopes == SCOPES
    assert validation.expires_at == tokens.expires_at
    assert validation.missing_scopes() == ()
    assert not validation.is_app_token
    (request,) = twitch.requests_to("/oauth2/validate")
    assert request.status == 200


async def test_validate_of_an_app_token_has_no_user(oauth: TwitchOAuthClient) -> None:
    validation = await oauth.validate((await oauth.app_token()).access_token)

    assert validation.is_app_token
    assert (validation.user_id, validation.login, validation.scopes) == (None, None, ())


async def test_a_token_that_lacks_a_scope_is_detected_from_validate(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    older_consent = [s for s in SCOPES if s != "channel:manage:redemptions"]
    token = twitch.issue_user_token(scopes=older_consent)

    validation = await oauth.validate(token)

    assert validation.missing_scopes() == ("channel:manage:redemptions",)
    assert validation.missing_scopes(["channel:read:vips"]) == ()


async def test_validate_of_an_expired_or_revoked_token_is_invalid_token(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    expired, revoked = twitch.issue_user_token(), twitch.issue_user_token()
    twitch.expire_token(expired)
    await oauth.revoke(revoked)

    for token in (expired, revoked, "never-issued"):
        with pytest.raises(InvalidToken) as caught:
            await oauth.validate(token)
        assert (caught.value.status, caught.value.message) == (401, "invalid access token")


async def test_revoke_sends_client_id_and_token_in_the_form_and_kills_the_token(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    tokens = await user_tokens(twitch, oauth)

    await oauth.revoke(tokens.access_token)

    (request,) = twitch.requests_to("/oauth2/revoke")
    assert request.form == {"client_id": CLIENT_ID, "token": tokens.access_token}
    assert request.query == {}
    assert not twitch.is_token_active(tokens.access_token)


async def test_revoking_an_unknown_token_is_twitchs_400(oauth: TwitchOAuthClient) -> None:
    with pytest.raises(TwitchOAuthError) as caught:
        await oauth.revoke("not-a-token")

    assert (caught.value.status, caught.value.message) == (400, "Invalid token")


async def test_unreachable_oauth_server_raises_without_a_status(sleep: RecordingSleep) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}"

    async with TwitchOAuthClient(dead_url, CLIENT_ID, CLIENT_SECRET, sleep=sleep) as client:
        with pytest.raises(TwitchOAuthError) as caught:
            await client.app_token()

    assert caught.value.status is None
    assert len(sleep.delays) == 3  # nothing was sent, so every retry was safe


async def test_no_token_code_or_secret_reaches_an_error_message_or_the_log(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    callback = await consent(twitch)
    code = callback["code"][0]
    caplog.clear()  # the browser's own log of the callback URL is not ours
    caplog.set_level(logging.DEBUG)
    tokens = await oauth.exchange_code(code, REDIRECT_URI)
    await oauth.validate(tokens.access_token)
    fresh = await oauth.refresh(tokens.refresh_token or "")
    await oauth.revoke(fresh.access_token)
    errors: list[TwitchOAuthError] = []
    for attempt in (
        oauth.exchange_code(code, REDIRECT_URI),
        oauth.refresh(tokens.refresh_token or ""),
        oauth.validate(fresh.access_token),
        oauth.revoke(fresh.access_token),
    ):
        with pytest.raises(TwitchOAuthError) as caught:
            await attempt
        errors.append(caught.value)

    secrets_ = [
        tokens.access_token,
        tokens.refresh_token,
        fresh.access_token,
        fresh.refresh_token,
        code,
        CLIENT_SECRET,
    ]
    assert "/oauth2/revoke" in caplog.text  # httpx did log the requests
    for secret in secrets_:
        assert secret
        assert secret not in caplog.text
        assert secret not in repr(tokens) + repr(fresh) + repr(oauth)
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)


def token_reply(expires_in: object) -> dict[str, object]:
    return {
        "access_token": "scripted-access",
        "refresh_token": "scripted-refresh",
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": ["channel:read:vips"],
    }


@pytest.mark.parametrize("expires_in", [10**12, 1e300, "1000000000000"])
async def test_an_absurd_expires_in_is_cut_to_a_year(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock, expires_in: object
) -> None:
    twitch.fail_next("/oauth2/token", 200, body=token_reply(expires_in))

    tokens = await oauth.refresh("any-refresh-token")

    assert tokens.expires_at == clock.now + timedelta(days=365)


@pytest.mark.parametrize("expires_in", [-5, 0, "soon", [1], True])
async def test_a_negative_zero_or_meaningless_expires_in_is_refused(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, expires_in: object
) -> None:
    twitch.fail_next("/oauth2/token", 200, body=token_reply(expires_in))

    with pytest.raises(TwitchOAuthError) as caught:
        await oauth.refresh("any-refresh-token")

    assert caught.value.message == "token reply has an unusable expires_in"
    assert "scripted-access" not in str(caught.value)


@pytest.mark.parametrize("expires_in", [float("inf"), float("nan"), float("-inf")])
async def test_a_token_reply_holding_what_json_has_not_is_refused(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, expires_in: float
) -> None:
    """Infinity and NaN are not JSON (Python's reader takes them): the reply is not read."""
    twitch.fail_next("/oauth2/token", 200, body=token_reply(expires_in))

    with pytest.raises(TwitchOAuthError) as caught:
        await oauth.refresh("any-refresh-token")

    assert caught.value.message == "token reply has no access_token"
    assert "scripted-access" not in str(caught.value)


async def test_an_absurd_expires_in_from_validate_is_cut_to_a_year(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock
) -> None:
    body = {"client_id": CLIENT_ID, "scopes": [], "expires_in": 10**15}
    twitch.fail_next("/oauth2/validate", 200, body=body)

    validation = await oauth.validate("any-token")

    assert validation.expires_at == clock.now + timedelta(days=365)


async def test_a_secret_echoed_in_an_error_reply_is_blanked_out(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    echo = {"status": 400, "message": f"Invalid refresh token echo-me ({CLIENT_SECRET})"}
    twitch.fail_next("/oauth2/token", 400, body=echo)

    with pytest.raises(InvalidGrant) as caught:
        await oauth.refresh("echo-me")

    assert caught.value.message == "Invalid refresh token [redacted] ([redacted])"


async def test_validate_keeps_at_most_100_printable_scopes_of_100_characters(
    twitch: FakeTwitch, oauth: TwitchOAuthClient
) -> None:
    names = ["bad\x00", "\ud800", 7, "", "x" * 500, *["s"] * 200]
    twitch.fail_next("/oauth2/validate", 200, body={"client_id": CLIENT_ID, "scopes": names})

    validation = await oauth.validate("any-token")

    assert validation.scopes == ("x" * 100, *["s"] * 99)


async def test_a_long_retry_after_is_not_waited_for(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, sleep: RecordingSleep
) -> None:
    """A sign-in's browser waits for the code exchange: Twitch asking for 20 s is answered at
    once with its error (the viewer sees "Twitch did not answer"), not after a minute or more
    of retries."""
    callback = await consent(twitch)
    twitch.fail_next("/oauth2/token", 429, times=10, headers={"Retry-After": "20"})

    with pytest.raises(TwitchOAuthError) as caught:
        await oauth.exchange_code(callback["code"][0], REDIRECT_URI)

    assert caught.value.status == 429
    assert sleep.delays == []
    assert len(twitch.requests_to("/oauth2/token")) == 1
