from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.platforms.http import tls_context
from core.platforms.kick.api import KickApi
from core.platforms.kick.oauth_client import (
    InvalidGrant,
    KickOAuthClient,
    OAuthError,
    TokenSet,
    authorize_url,
    make_pkce_pair,
)
from tests.fakes.kick_server import CLIENT_ID, CLIENT_SECRET, FakeKick
from tests.services import free_port

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
REDIRECT_URI = "http://localhost:8080/auth/kick/callback"
SCOPES = ("user:read", "chat:write", "events:subscribe")


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(redirect_uris=[REDIRECT_URI, "http://127.0.0.1:8080/cb"]) as fake:
        yield fake


@pytest.fixture
async def oauth(kick: FakeKick) -> AsyncIterator[KickOAuthClient]:
    async with KickOAuthClient(kick.url, CLIENT_ID, CLIENT_SECRET, clock=lambda: NOW) as client:
        yield client


async def consent(
    kick: FakeKick,
    *,
    redirect_uri: str = REDIRECT_URI,
    scopes: tuple[str, ...] = SCOPES,
    state: str = "st4te-123",
) -> tuple[dict[str, list[str]], str]:
    """Send the user to the authorize URL; return the callback's query and the verifier."""
    verifier, challenge = make_pkce_pair()
    url = authorize_url(
        kick.url,
        client_id=CLIENT_ID,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=challenge,
    )
    async with httpx.AsyncClient(verify=tls_context()) as browser:
        response = await browser.get(url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + "?")
    return parse_qs(urlsplit(location).query), verifier


async def user_tokens(kick: FakeKick, oauth: KickOAuthClient) -> TokenSet:
    callback, verifier = await consent(kick)
    return await oauth.exchange_code(callback["code"][0], REDIRECT_URI, verifier)


def test_pkce_pair_is_a_64_character_verifier_and_its_unpadded_s256_challenge() -> None:
    verifier, challenge = make_pkce_pair()

    assert len(verifier) == 64
    assert set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert "=" not in challenge
    assert make_pkce_pair()[0] != verifier


def test_authorize_url_asks_for_a_code_with_s256_and_space_separated_scopes() -> None:
    url = authorize_url(
        "https://id.kick.com/",
        client_id="abc",
        redirect_uri=REDIRECT_URI,
        scopes=["user:read", "chat:write"],
        state="xyz",
        code_challenge="chal",
    )

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "id.kick.com", "/oauth/authorize")
    assert "scope=user%3Aread%20chat%3Awrite" in parts.query
    assert parse_qs(parts.query) == {
        "client_id": ["abc"],
        "response_type": ["code"],
        "redirect_uri": [REDIRECT_URI],
        "scope": ["user:read chat:write"],
        "state": ["xyz"],
        "code_challenge": ["chal"],
        "code_challenge_method": ["S256"],
    }


def test_loopback_redirect_uri_gets_a_dummy_parameter_in_front_of_it() -> None:
    url = authorize_url(
        "https://id.kick.com",
        client_id="abc",
        redirect_uri="http://127.0.0.1:8080/cb",
        scopes=["user:read"],
        state="xyz",
        code_challenge="chal",
    )

    query = urlsplit(url).query
    assert query.index("redirect=127.0.0.1&") < query.index("redirect_uri=")


async def test_round_trip_from_consent_to_a_user_token_the_api_accepts(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    callback, verifier = await consent(kick, state="round-trip")
    assert callback["state"] == ["round-trip"]

    tokens = await oauth.exchange_code(callback["code"][0], REDIRECT_URI, verifier)

    assert tokens.refresh_token
    assert tokens.scopes == SCOPES
    assert tokens.token_type == "Bearer"
    assert tokens.expires_at == NOW + timedelta(seconds=3600)
    async with KickApi(kick.url) as api:
        users = await api.get_users(tokens.access_token)
    assert [user.user_id for user in users] == ["1001"]


async def test_loopback_redirect_uri_round_trip_works_with_the_dummy_parameter(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    callback, verifier = await consent(kick, redirect_uri="http://127.0.0.1:8080/cb")

    tokens = await oauth.exchange_code(callback["code"][0], "http://127.0.0.1:8080/cb", verifier)

    assert tokens.refresh_token


async def test_denied_consent_redirects_back_with_access_denied(kick: FakeKick) -> None:
    kick.deny_next_consent()

    callback, _ = await consent(kick, state="denied")

    assert callback == {"error": ["access_denied"], "state": ["denied"]}


async def test_wrong_verifier_is_refused_as_invalid_grant(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    callback, _ = await consent(kick)
    other_verifier, _ = make_pkce_pair()

    with pytest.raises(OAuthError) as caught:
        await oauth.exchange_code(callback["code"][0], REDIRECT_URI, other_verifier)

    assert isinstance(caught.value, InvalidGrant)
    assert caught.value.status == 400
    assert caught.value.description == "code_verifier does not match"


async def test_wrong_redirect_uri_is_refused(kick: FakeKick, oauth: KickOAuthClient) -> None:
    callback, verifier = await consent(kick)

    with pytest.raises(InvalidGrant, match="redirect_uri does not match"):
        await oauth.exchange_code(callback["code"][0], "http://localhost:9999/other", verifier)


async def test_a_code_can_be_exchanged_only_once(kick: FakeKick, oauth: KickOAuthClient) -> None:
    callback, verifier = await consent(kick)
    await oauth.exchange_code(callback["code"][0], REDIRECT_URI, verifier)

    with pytest.raises(InvalidGrant):
        await oauth.exchange_code(callback["code"][0], REDIRECT_URI, verifier)


async def test_wrong_client_secret_is_invalid_client_not_invalid_grant(kick: FakeKick) -> None:
    callback, verifier = await consent(kick)

    async with KickOAuthClient(kick.url, CLIENT_ID, "not-the-secret") as client:
        with pytest.raises(OAuthError) as caught:
            await client.exchange_code(callback["code"][0], REDIRECT_URI, verifier)

    assert not isinstance(caught.value, InvalidGrant)
    assert (caught.value.error, caught.value.status) == ("invalid_client", 401)


async def test_refresh_returns_a_new_access_and_refresh_token(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    first = await user_tokens(kick, oauth)

    second = await oauth.refresh(first.refresh_token or "")

    assert second.access_token != first.access_token
    assert second.refresh_token not in (None, first.refresh_token)
    assert second.scopes == SCOPES
    assert kick.is_token_active(second.access_token)


async def test_refresh_after_kick_revoked_the_refresh_token_is_invalid_grant(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    tokens = await user_tokens(kick, oauth)
    kick.revoke_refresh_tokens()

    with pytest.raises(InvalidGrant) as caught:
        await oauth.refresh(tokens.refresh_token or "")

    assert caught.value.error == "invalid_grant"


async def test_app_token_has_no_refresh_token_and_no_scopes(oauth: KickOAuthClient) -> None:
    tokens = await oauth.app_token()

    assert tokens.refresh_token is None
    assert tokens.scopes == ()
    assert tokens.expires_at == NOW + timedelta(days=60)


async def test_revoke_puts_token_and_token_hint_type_in_the_query_string(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    tokens = await user_tokens(kick, oauth)

    await oauth.revoke(tokens.access_token, "access_token")

    (request,) = kick.requests_to("/oauth/revoke")
    assert request.method == "POST"
    assert request.query == {
        "token": [tokens.access_token],
        "token_hint_type": ["access_token"],
    }
    assert request.status == 200
    assert not kick.is_token_active(tokens.access_token)


def test_token_set_repr_never_shows_the_tokens() -> None:
    tokens = TokenSet("access-secret", "refresh-secret", NOW, ("user:read",), "Bearer")

    text = repr(tokens) + str(tokens)

    assert "access-secret" not in text
    assert "refresh-secret" not in text
    assert "user:read" in text


async def test_unreachable_oauth_server_raises_oauth_error_without_a_status() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    dead_url = f"http://127.0.0.1:{free_port()}"
    async with KickOAuthClient(dead_url, CLIENT_ID, CLIENT_SECRET, sleep=sleep) as client:
        with pytest.raises(OAuthError) as caught:
            await client.app_token()

    assert (caught.value.error, caught.value.status) == ("unreachable", None)
    assert len(waits) == 3  # nothing ever left: tried again, three times, then given up


@contextlib.asynccontextmanager
async def _forwarder(port: int, to_port: int) -> AsyncIterator[None]:
    """From now on, 127.0.0.1:``port`` carries each connection to 127.0.0.1:``to_port``."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", to_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(carry, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_a_code_exchange_that_could_not_connect_is_made_again(kick: FakeKick) -> None:
    """Kick's OAuth server refuses the first connection (nothing was sent, so the code is
    unspent): the client waits and tries again, and the streamer's sign-in goes through."""
    callback, verifier = await consent(kick)
    port = free_port()
    kick_port = int(urlsplit(kick.url).port or 0)
    waits: list[float] = []
    async with contextlib.AsyncExitStack() as stack:

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 1:  # Kick's server is back before the retry
                await stack.enter_async_context(_forwarder(port, kick_port))

        url = f"http://127.0.0.1:{port}"
        client = KickOAuthClient(url, CLIENT_ID, CLIENT_SECRET, clock=lambda: NOW, sleep=sleep)
        async with client:
            tokens = await client.exchange_code(callback["code"][0], REDIRECT_URI, verifier)

    assert tokens.refresh_token
    assert len(waits) == 1
    assert len(kick.requests_to("/oauth/token")) == 1


async def test_a_code_exchange_that_reached_kick_is_not_made_again(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    """Kick took the request and the connection dropped before its answer: the code may be
    spent, so the client says "unreachable" rather than spend it a second time."""
    callback, verifier = await consent(kick)
    kick.disconnect_next("/oauth/token")

    with pytest.raises(OAuthError) as caught:
        await oauth.exchange_code(callback["code"][0], REDIRECT_URI, verifier)

    assert (caught.value.error, caught.value.status) == ("unreachable", None)
    assert len(kick.requests_to("/oauth/token")) == 1


async def test_a_code_exchange_kick_failed_with_500_is_not_made_again(
    kick: FakeKick, oauth: KickOAuthClient
) -> None:
    callback, verifier = await consent(kick)
    kick.fail_next("/oauth/token", 500)

    with pytest.raises(OAuthError) as caught:
        await oauth.exchange_code(callback["code"][0], REDIRECT_URI, verifier)

    assert caught.value.status == 500
    assert len(kick.requests_to("/oauth/token")) == 1


async def test_a_code_exchange_kick_answered_429_is_made_again_after_its_retry_after(
    kick: FakeKick,
) -> None:
    callback, verifier = await consent(kick)
    kick.fail_next("/oauth/token", 429, retry_after=2)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = KickOAuthClient(kick.url, CLIENT_ID, CLIENT_SECRET, clock=lambda: NOW, sleep=sleep)
    async with client:
        tokens = await client.exchange_code(callback["code"][0], REDIRECT_URI, verifier)

    assert tokens.refresh_token
    assert waits == [2.0]
    assert len(kick.requests_to("/oauth/token")) == 2


async def test_no_token_code_or_secret_reaches_an_error_message_or_the_log(
    kick: FakeKick, oauth: KickOAuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    callback, verifier = await consent(kick)
    code = callback["code"][0]
    caplog.clear()  # the browser's own log of the callback URL is not ours
    caplog.set_level(logging.DEBUG)
    tokens = await oauth.exchange_code(code, REDIRECT_URI, verifier)
    await oauth.revoke(tokens.refresh_token or "", "refresh_token")
    errors: list[OAuthError] = []
    for attempt in (
        oauth.exchange_code(code, REDIRECT_URI, verifier),
        oauth.refresh(tokens.refresh_token or ""),
    ):
        with pytest.raises(OAuthError) as caught:
            await attempt
        errors.append(caught.value)

    secrets_ = [tokens.access_token, tokens.refresh_token, code, verifier, CLIENT_SECRET]
    assert "/oauth/revoke" in caplog.text  # httpx did log the request line
    for secret in secrets_:
        assert secret
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)


def token_reply(expires_in: object) -> dict[str, object]:
    return {
        "access_token": "scripted-access",
        "refresh_token": "scripted-refresh",
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "user:read",
    }


@pytest.mark.parametrize("expires_in", [10**12, 1e300, "1000000000000"])
async def test_an_absurd_expires_in_is_cut_to_a_year(
    kick: FakeKick, oauth: KickOAuthClient, expires_in: object
) -> None:
    kick.fail_next("/oauth/token", 200, body=token_reply(expires_in))

    tokens = await oauth.refresh("any-refresh-token")

    assert tokens.expires_at == NOW + timedelta(days=365)


# Infinity and NaN are not JSON: such a reply is not read at all, and refused the same way.
@pytest.mark.parametrize(
    "expires_in", [-5, 0, float("nan"), float("-inf"), float("inf"), "soon", [1]]
)
async def test_a_negative_zero_or_meaningless_expires_in_is_refused(
    kick: FakeKick, oauth: KickOAuthClient, expires_in: object
) -> None:
    kick.fail_next("/oauth/token", 200, body=token_reply(expires_in))

    with pytest.raises(OAuthError) as caught:
        await oauth.refresh("any-refresh-token")

    assert caught.value.error == "invalid_response"
    assert "scripted-access" not in str(caught.value)


async def test_a_missing_expires_in_means_an_hour(kick: FakeKick, oauth: KickOAuthClient) -> None:
    reply = token_reply(None)
    del reply["expires_in"]
    kick.fail_next("/oauth/token", 200, body=reply)

    tokens = await oauth.refresh("any-refresh-token")

    assert tokens.expires_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("scope", "scopes"),
    [
        ("s " * 100_000, ("s",) * 100),
        ("x" * 500 + " user:read", ("x" * 100, "user:read")),
        ("user:read\x00 \ud800 user:read", ("user:read",)),
        (["user:read"], ()),
    ],
)
async def test_scopes_are_read_as_twitchs_are_at_most_100_printable_of_100_characters(
    kick: FakeKick, oauth: KickOAuthClient, scope: object, scopes: tuple[str, ...]
) -> None:
    reply = token_reply(3600)
    reply["scope"] = scope
    kick.fail_next("/oauth/token", 200, body=reply)

    tokens = await oauth.refresh("any-refresh-token")

    assert tokens.scopes == scopes
