"""A streamer connects their Twitch channel against the fake Twitch over loopback, on SQLite and
PostgreSQL: the consent is kept encrypted only for the guild's broadcaster, the rotated refresh
token is stored with its access token, a dead grant and a missing scope are recorded."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy as sa

from core.features.connections.authorization import STATE_USED, UNKNOWN_STATE, WRONG_ACCOUNT
from core.features.connections.kick.service import AuthorizationFailed
from core.features.connections.streamer_tokens import GivenBack
from core.features.connections.tables import twitch_connections
from core.features.connections.twitch.service import TwitchNotConnected
from core.features.connections.twitch.signin import (
    PURPOSE_TWITCH_STREAMER,
    PURPOSE_TWITCH_VIEWER,
)
from core.platforms.http import tls_context
from core.platforms.twitch.oauth_client import SCOPES
from core.runtime import Runtime
from core.security.links import new_claims
from core.security.secrets import TokenCipher, new_fernet_key
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import CLIENT_SECRET, FakeTwitch
from tests.support.clock import Clock

GUILD = 4242
ADMIN = 777
BROADCASTER = "141981764"
OTHER_USER = "999000111"
NONCE = "b" * 43


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twitch(clock):
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        fake.add_user(OTHER_USER, "someone_else")
        yield fake


@pytest.fixture
def runtime(tmp_path, twitch, clock, migrated_database_url):
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path / "data", clock, DATABASE_URL=migrated_database_url
    )
    runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    yield runtime
    runtime.close()


def consent(
    runtime: Runtime,
    *,
    drop_scope: str | None = None,
    drop_scopes: tuple[str, ...] = (),
    guild_id: int = GUILD,
) -> dict[str, str]:
    """Start a sign-in and consent on the fake Twitch; the callback's query."""
    claims = new_claims(PURPOSE_TWITCH_STREAMER, ADMIN, guild_id, runtime.clock())
    url = runtime.twitch_connections.begin(PURPOSE_TWITCH_STREAMER, claims, NONCE)
    dropped = (*drop_scopes, *((drop_scope,) if drop_scope is not None else ()))
    if dropped:  # a consent given before StreamKeeper asked for these scopes
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        query["scope"] = " ".join(s for s in query["scope"].split() if s not in dropped)
        url = urlunsplit(parts._replace(query=urlencode(query)))
    answer = httpx.get(url, follow_redirects=False, verify=tls_context())
    assert answer.status_code == 302
    callback = answer.headers["location"]
    assert callback.startswith(f"{REDIRECT_URI}?")
    return {key: values[0] for key, values in parse_qs(urlsplit(callback).query).items()}


def complete(runtime: Runtime, query: dict[str, str], nonce: str | None = NONCE):
    return asyncio.run(
        runtime.twitch_connections.complete(
            state=query.get("state", ""),
            code=query.get("code"),
            error=query.get("error"),
            browser_nonce=nonce,
        )
    )


def connect(runtime: Runtime) -> None:
    authorized = complete(runtime, consent(runtime))
    assert authorized.broadcaster_user_id == BROADCASTER


def stored_row(runtime: Runtime):  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(twitch_connections)).one()


def current_tokens(runtime: Runtime) -> tuple[str, str]:
    row = stored_row(runtime)
    cipher = runtime.cipher
    return cipher.decrypt(row.access_token), cipher.decrypt(row.refresh_token)


def test_the_consent_asks_for_every_scope_and_keeps_the_tokens_encrypted(runtime, twitch):
    claims = new_claims(PURPOSE_TWITCH_STREAMER, ADMIN, GUILD, runtime.clock())
    url = runtime.twitch_connections.begin(PURPOSE_TWITCH_STREAMER, claims, NONCE)
    assert parse_qs(urlsplit(url).query)["scope"][0].split() == list(SCOPES)

    connect(runtime)

    row = stored_row(runtime)
    access, refresh = current_tokens(runtime)
    assert access not in row.access_token
    assert refresh not in row.refresh_token
    assert twitch.is_token_active(access)
    status = runtime.twitch_connections.status(GUILD)
    assert (status.is_connected, status.username, status.missing_scopes) == (True, "twitchdev", ())


@pytest.mark.parametrize("purpose", [PURPOSE_TWITCH_STREAMER, PURPOSE_TWITCH_VIEWER])
def test_twitch_always_shows_which_account_is_granting(runtime, purpose):
    # Without force_verify, Twitch sends a browser whose account granted the app before straight
    # back: on a shared computer that links (or connects) someone else's account unseen.
    claims = new_claims(purpose, ADMIN, GUILD, runtime.clock())
    url = runtime.twitch_connections.begin(purpose, claims, NONCE)
    assert parse_qs(urlsplit(url).query)["force_verify"] == ["true"]


def test_another_account_is_refused_and_its_token_given_back(runtime, twitch):
    twitch.consenting_user_id = OTHER_USER
    with pytest.raises(AuthorizationFailed) as refused:
        complete(runtime, consent(runtime))
    assert refused.value.code == WRONG_ACCOUNT
    assert "only its owner can connect it" in refused.value.reason
    assert not runtime.twitch_connections.status(GUILD).is_connected
    [issued] = [t for t in twitch.tokens.values() if t.kind == "access" and t.token_type == "user"]
    assert issued.revoked


def test_a_state_works_once_and_only_for_twitch(runtime, twitch):
    query = consent(runtime)
    # The Kick callback does not take (or burn) a Twitch state.
    with pytest.raises(AuthorizationFailed) as kick_refused:
        asyncio.run(
            runtime.kick_connections.complete(
                state=query["state"], code=query["code"], error=None, browser_nonce=NONCE
            )
        )
    assert kick_refused.value.code == UNKNOWN_STATE
    complete(runtime, query)
    with pytest.raises(AuthorizationFailed) as again:
        complete(runtime, query)
    assert again.value.code == STATE_USED  # in the browser that started it: told it came back


def test_a_401_refreshes_and_stores_the_rotated_pair(runtime, twitch):
    connect(runtime)
    old_access, old_refresh = current_tokens(runtime)
    twitch.expire_token(old_access)

    async def who(token: str):  # type: ignore[no-untyped-def]
        async with runtime.twitch.helix() as helix:
            return await helix.get_users(token)

    [user] = asyncio.run(runtime.twitch_connections.call_as_streamer(GUILD, who))

    assert user.id == BROADCASTER
    new_access, new_refresh = current_tokens(runtime)
    assert (new_access, new_refresh) != (old_access, old_refresh)
    assert not twitch.is_token_active(old_refresh)  # rotated: only the stored one works
    assert twitch.is_token_active(new_refresh)
    assert twitch.is_token_active(new_access)


def test_a_token_about_to_expire_is_refreshed_first(runtime, twitch, clock):
    connect(runtime)
    old_access, _ = current_tokens(runtime)
    clock.advance(hours=4)  # the fake's user tokens live 14,124 s

    token = asyncio.run(runtime.twitch_connections.access_token(GUILD))

    assert token != old_access
    assert token == current_tokens(runtime)[0]
    assert twitch.is_token_active(token)


def test_a_dead_grant_marks_the_connection_for_reauthorization(runtime, twitch):
    connect(runtime)
    twitch.revoke_grant()

    report = asyncio.run(runtime.twitch_connections.validate_all())

    assert report.needs_reauthorization == (GUILD,)
    status = runtime.twitch_connections.status(GUILD)
    assert (status.is_connected, status.needs_reauthorization) == (False, True)
    with pytest.raises(TwitchNotConnected):
        asyncio.run(runtime.twitch_connections.access_token(GUILD))


def seal_with_another_key(runtime: Runtime, guild_id: int) -> TokenCipher:
    """Rewrite the guild's stored tokens as another TOKEN_ENCRYPTION_KEY sealed them (the key
    changed, or the database came back from a backup without its key); that key's cipher."""
    row = stored_row(runtime)
    access, refresh = current_tokens(runtime)
    other = TokenCipher(new_fernet_key())
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.update(twitch_connections)
            .where(twitch_connections.c.guild_id == guild_id)
            .values(access_token=other.encrypt(access), refresh_token=other.encrypt(refresh))
        )
    assert row.guild_id == guild_id
    return other


def test_a_token_the_key_cannot_read_needs_the_streamer_and_stops_no_other_guild(
    runtime, twitch, caplog
):
    """One guild's tokens sealed under another key: its status says the streamer must connect
    again (it said connected), the hourly validation goes on to the next guild (it stopped at
    the first), and !twitch disconnect forgets it (it raised). The key back, it works again."""
    connect(runtime)
    other = seal_with_another_key(runtime, GUILD)
    runtime.guilds.set_twitch_channel(GUILD + 1, "twitchdev", BROADCASTER)
    complete(runtime, consent(runtime, guild_id=GUILD + 1))
    connections = runtime.twitch_connections

    status = connections.status(GUILD)
    assert (status.is_connected, status.needs_reauthorization) == (False, True)
    assert runtime.twitch_setup.status(GUILD, ADMIN).reconsent_link is not None
    with caplog.at_level(logging.WARNING):
        report = asyncio.run(connections.validate_all())
    assert (report.valid, report.needs_reauthorization) == ((GUILD + 1,), (GUILD,))
    assert "cannot be decrypted with TOKEN_ENCRYPTION_KEY" in caplog.text
    with pytest.raises(TwitchNotConnected):
        asyncio.run(connections.access_token(GUILD))

    connections.cipher = other  # the key that sealed them comes back
    assert connections.status(GUILD).is_connected
    connections.cipher = runtime.cipher

    # Forgotten all the same, and the admin is told they could not be given back.
    assert asyncio.run(runtime.twitch_setup.disconnect(GUILD)).given_back is GivenBack.UNREADABLE
    assert connections.status(GUILD).username is None
    assert connections.status(GUILD + 1).is_connected


def test_a_sign_in_started_under_another_key_is_refused_not_an_error(runtime):
    query = consent(runtime)
    runtime.twitch_connections.cipher = TokenCipher(new_fernet_key())  # the key changed

    with pytest.raises(AuthorizationFailed) as refused:
        complete(runtime, query)

    assert refused.value.code == UNKNOWN_STATE
    assert "Ask for a new link" in refused.value.reason


def test_validation_reports_a_scope_added_later(runtime, twitch):
    complete(runtime, consent(runtime, drop_scope="channel:read:subscriptions"))

    report = asyncio.run(runtime.twitch_connections.validate_all())

    assert report.missing_scopes == {GUILD: ("channel:read:subscriptions",)}
    status = runtime.twitch_connections.status(GUILD)
    assert status.is_connected
    assert status.missing_scopes == ("channel:read:subscriptions",)
    assert status.validated_at is not None


def test_concurrent_401s_refresh_once_and_all_succeed(runtime, twitch):
    connect(runtime)
    old_access, _ = current_tokens(runtime)
    twitch.expire_token(old_access)

    async def who(token: str):  # type: ignore[no-untyped-def]
        async with runtime.twitch.helix() as helix:
            return await helix.get_users(token)

    async def both():  # type: ignore[no-untyped-def]
        call = runtime.twitch_connections.call_as_streamer
        return await asyncio.gather(call(GUILD, who), call(GUILD, who))

    results = asyncio.run(both())

    assert [users[0].id for users in results] == [BROADCASTER, BROADCASTER]
    refreshes = [
        r for r in twitch.requests_to("/oauth2/token") if r.form["grant_type"] == "refresh_token"
    ]
    assert len(refreshes) == 1
    assert runtime.twitch_connections.status(GUILD).is_connected


def test_no_token_code_or_secret_reaches_the_logs(runtime, twitch, caplog):
    query = consent(runtime)  # the test's own browser step, which httpx logs with its redirect
    caplog.set_level(logging.DEBUG)
    complete(runtime, query)
    twitch.expire_token(current_tokens(runtime)[0])
    asyncio.run(runtime.twitch_connections.validate_all())
    twitch.revoke_grant()
    asyncio.run(runtime.twitch_connections.validate_all())
    asyncio.run(runtime.twitch_connections.disconnect(GUILD))

    secrets = [*twitch.tokens, query["code"], query["state"], CLIENT_SECRET, NONCE]
    assert "needs re-authorization" in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
