"""ManagedToken against the fake: refresh on 401 and before expiry with the rotated pair
saved, validation at start and hourly, missing scopes, and a dead grant as its own error."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.oauth_client import SCOPES, TokenSet, TwitchOAuthClient
from core.platforms.twitch.tokens import GrantRevoked, ManagedToken
from tests.fakes.twitch_server import FakeTwitch
from tests.platforms.twitch.conftest import BROADCASTER_ID
from tests.support.clock import Clock


class Saved:
    """What the caller persisted: every new token set, in order."""

    def __init__(self) -> None:
        self.token_sets: list[TokenSet] = []

    async def __call__(self, tokens: TokenSet) -> None:
        self.token_sets.append(tokens)


async def granted(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, scopes: tuple[str, ...] = SCOPES
) -> TokenSet:
    """A user token set as the authorization code flow gives it."""
    twitch.redirect_uris = None
    code = "scripted"
    from tests.fakes.twitch_server import AuthorizationCode

    twitch.codes[code] = AuthorizationCode(code, "http://cb", scopes, BROADCASTER_ID)
    return await oauth.exchange_code(code, "http://cb")


@pytest.fixture
def saved() -> Saved:
    return Saved()


async def test_a_401_refreshes_once_saves_the_rotated_pair_and_repeats_the_request(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, helix: HelixClient, clock: Clock, saved: Saved
) -> None:
    first = await granted(twitch, oauth)
    managed = ManagedToken(oauth, first, save=saved, clock=clock)
    twitch.revoke_grant()  # the access token dies early (password change)...
    twitch.tokens[first.refresh_token or ""].revoked = False  # ...but the grant lives on

    users = await managed.call(lambda token: helix.get_users(token))

    assert [u.id for u in users] == [BROADCASTER_ID]
    (fresh,) = saved.token_sets
    assert managed.tokens is fresh
    assert fresh.refresh_token != first.refresh_token
    assert not twitch.is_token_active(first.refresh_token or "")  # rotated away
    assert [r.status for r in twitch.requests_to("/helix/users")] == [401, 200]


async def test_many_401s_at_once_make_one_refresh(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, helix: HelixClient, clock: Clock, saved: Saved
) -> None:
    first = await granted(twitch, oauth)
    managed = ManagedToken(oauth, first, save=saved, clock=clock)
    twitch.expire_token(first.access_token)

    results = await asyncio.gather(
        *(managed.call(lambda token: helix.get_users(token)) for _ in range(5))
    )

    assert all(users[0].id == BROADCASTER_ID for users in results)
    assert len(saved.token_sets) == 1
    assert len(twitch.requests_to("/oauth2/token")) == 2  # the code, then one refresh


async def test_a_token_close_to_expiry_is_refreshed_before_it_is_used(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock, saved: Saved
) -> None:
    first = await granted(twitch, oauth)
    managed = ManagedToken(oauth, first, save=saved, clock=clock)
    assert await managed.access_token() == first.access_token

    clock.now = first.expires_at - timedelta(minutes=9)
    token = await managed.access_token()

    assert token != first.access_token
    assert [t.access_token for t in saved.token_sets] == [token]


async def test_a_dead_grant_is_grant_revoked_and_nothing_is_saved(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, helix: HelixClient, clock: Clock, saved: Saved
) -> None:
    first = await granted(twitch, oauth)
    managed = ManagedToken(oauth, first, save=saved, clock=clock)
    twitch.revoke_grant()

    with pytest.raises(GrantRevoked):
        await managed.call(lambda token: helix.get_users(token))

    assert managed.is_revoked
    assert saved.token_sets == []
    with pytest.raises(GrantRevoked):  # and it stays dead without asking Twitch again
        await managed.refresh()
    assert len(twitch.requests_to("/oauth2/token")) == 2


async def test_validation_happens_at_start_and_then_hourly(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock, saved: Saved
) -> None:
    managed = ManagedToken(oauth, await granted(twitch, oauth), save=saved, clock=clock)

    first = await managed.validate()
    clock.advance(59 * 60)
    await managed.validate()
    clock.advance(60)
    await managed.validate()

    assert first.user_id == BROADCASTER_ID
    assert len(twitch.requests_to("/oauth2/validate")) == 2


async def test_an_invalid_token_at_validation_is_refreshed_and_validated_again(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock, saved: Saved
) -> None:
    first = await granted(twitch, oauth)
    managed = ManagedToken(oauth, first, save=saved, clock=clock)
    twitch.expire_token(first.access_token)

    validation = await managed.validate()

    assert validation.user_id == BROADCASTER_ID
    assert len(saved.token_sets) == 1
    assert [r.status for r in twitch.requests_to("/oauth2/validate")] == [401, 200]


async def test_a_token_lacking_a_scope_added_later_is_detected(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, clock: Clock, saved: Saved
) -> None:
    older = tuple(s for s in SCOPES if s not in ("user:bot", "channel:bot"))
    managed = ManagedToken(oauth, await granted(twitch, oauth, older), save=saved, clock=clock)
    assert managed.missing_scopes == ()  # unknown until validated

    await managed.validate()

    assert managed.missing_scopes == ("user:bot", "channel:bot")


async def test_an_app_token_is_minted_again_on_a_401(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, helix: HelixClient, clock: Clock, saved: Saved
) -> None:
    first = await oauth.app_token()
    managed = ManagedToken(oauth, first, save=saved, kind="app", clock=clock)
    twitch.expire_token(first.access_token)

    users = await managed.call(lambda token: helix.get_users(token, ids=[BROADCASTER_ID]))

    assert [u.id for u in users] == [BROADCASTER_ID]
    (fresh,) = saved.token_sets
    assert fresh.refresh_token is None
    assert fresh.access_token != first.access_token


async def test_repr_hides_the_tokens(
    twitch: FakeTwitch, oauth: TwitchOAuthClient, saved: Saved
) -> None:
    tokens = await granted(twitch, oauth)

    text = repr(ManagedToken(oauth, tokens, save=saved))

    assert tokens.access_token not in text
    assert (tokens.refresh_token or "") not in text
