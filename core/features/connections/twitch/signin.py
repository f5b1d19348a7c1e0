"""The Twitch sign-in round trip: from a signed start link to a stored streamer connection, or
to a viewer's verified identity (``twitch_viewer_signin.py``: no scope, no token kept).

The same guards as Kick's (``authorization.py``; shared in ``round_trip.py``): the start link
starts one sign-in, the ``state`` is single use, lives 10 minutes and is bound to the browser
that opened the link, and the token is kept only when the account that consented is the broadcaster
``!twitch setup`` stored for the guild. Twitch has no PKCE: the state row's verifier column holds
an encrypted empty string. A streamer is asked for the union of scopes in
``oauth_client.SCOPES``; a viewer for none.

:class:`TwitchSignIn` is mixed into ``TwitchConnections``, which provides the engine, cipher,
clock, client id, redirect URI and the OAuth and Helix client factories.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from core.events import Platform, utc
from core.features.connections.authorization import (
    NOT_CONFIGURED,
    WRONG_ACCOUNT,
    database,
)
from core.features.connections.kick.repository import PendingState
from core.features.connections.round_trip import AuthorizationFailed, RoundTrip
from core.features.connections.twitch import repository as twitch_repo
from core.features.connections.twitch.viewer_signin import (
    PURPOSE_TWITCH_VIEWER,
    TWITCH_UNAVAILABLE,
    TWITCH_VIEWER_LINK_USED_MESSAGE,
    VIEWER_SCOPES,
    TwitchViewerIdentity,
    identify_viewer,
    revoke_quietly,
)
from core.features.guilds.repository import TrackedChannel
from core.platforms.twitch.helix import HelixClient, HelixError, TwitchUser
from core.platforms.twitch.oauth_client import (
    SCOPES,
    TokenSet,
    TwitchOAuthClient,
    TwitchOAuthError,
    authorize_url,
    new_state,
)
from core.security.links import LinkClaims

log = logging.getLogger(__name__)

PURPOSE_TWITCH_STREAMER = "twitch-streamer"
TWITCH_ERROR = "twitch_error"  # Twitch refused the code or came back with an error

TWITCH_UNAVAILABLE_MESSAGE = (
    "Twitch did not answer properly, so nothing was connected. Try again in a few minutes "
    "with a new link."
)
TWITCH_WRONG_BROWSER_MESSAGE = (
    "This sign-in was started in another browser, so nothing was connected. Ask for a new "
    "link in Discord and open it in the browser where you sign in to Twitch. If someone sent "
    "you a Twitch sign-in page, do not use it."
)
TWITCH_LINK_USED_MESSAGE = (
    "This link was already used. A server admin can get a new one with !twitch setup in Discord."
)

OAuthFactory = Callable[[], AbstractAsyncContextManager[TwitchOAuthClient]]
HelixFactory = Callable[[], AbstractAsyncContextManager[HelixClient]]


@dataclass(frozen=True)
class TwitchAuthorized:
    guild_id: int
    discord_user_id: int
    broadcaster_user_id: str
    login: str
    missing_scopes: tuple[str, ...]


def twitch_owner_refusal(channel: TrackedChannel | None, consented: TwitchUser) -> str | None:
    """None when ``consented`` is the broadcaster of ``channel``; otherwise what to say."""
    if channel is None:
        return (
            f"You signed in on Twitch as {consented.login}, but this server has no Twitch "
            "channel set up any more. A server admin should run !twitch setup <channel> again."
        )
    if channel.broadcaster_user_id != consented.id:
        return (
            f"You signed in on Twitch as {consented.login}, but this server's channel is "
            f"{channel.channel_slug}: only its owner can connect it. Sign out of Twitch, then "
            f"ask for a new link and sign in as {channel.channel_slug}."
        )
    return None


class TwitchSignIn(RoundTrip):
    PLATFORM = Platform.TWITCH
    PLATFORM_NAME = "Twitch"
    PURPOSES = (PURPOSE_TWITCH_STREAMER, PURPOSE_TWITCH_VIEWER)
    ERROR_CODE = TWITCH_ERROR
    WRONG_BROWSER_MESSAGE = TWITCH_WRONG_BROWSER_MESSAGE

    oauth_base_url: str
    client_id: str | None
    redirect_uri: str
    make_oauth: OAuthFactory
    make_helix: HelixFactory

    def begin(
        self, claims: LinkClaims, browser_nonce: str, purpose: str = PURPOSE_TWITCH_STREAMER
    ) -> str:
        """Use the start link (once), remember a new single-use state bound to the browser that
        holds ``browser_nonce`` and return Twitch's consent URL: every scope StreamKeeper needs
        for a streamer, none for a viewer (``purpose``).

        Raises :class:`AuthorizationFailed` (``link_used``, ``not_configured``) or
        :class:`DatabaseUnavailable`."""
        if not self.client_id:
            raise AuthorizationFailed(
                "Twitch is not set up on this bot yet (TWITCH_CLIENT_ID).", code=NOT_CONFIGURED
            )
        if purpose not in (PURPOSE_TWITCH_STREAMER, PURPOSE_TWITCH_VIEWER):
            raise ValueError(f"not a Twitch sign-in: {purpose}")
        state = new_state()
        is_viewer = purpose == PURPOSE_TWITCH_VIEWER
        used = TWITCH_VIEWER_LINK_USED_MESSAGE if is_viewer else TWITCH_LINK_USED_MESSAGE
        self._open_state(
            purpose,
            claims,
            browser_nonce,
            state=state,
            verifier="",  # no PKCE on Twitch
            link_used_message=used,
        )
        return authorize_url(
            self.oauth_base_url,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scopes=VIEWER_SCOPES if is_viewer else SCOPES,
            state=state,
        )

    async def complete(
        self, *, state: str, code: str | None, error: str | None, browser_nonce: str | None
    ) -> TwitchAuthorized | TwitchViewerIdentity:
        """Finish the round trip Twitch redirected back with: a connected streamer, or a
        viewer's identity (their token already revoked). Raises :class:`AuthorizationFailed` or
        :class:`DatabaseUnavailable`."""
        pending, code = await self._returned(
            state=state, code=code, error=error, browser_nonce=browser_nonce
        )
        if pending.purpose == PURPOSE_TWITCH_VIEWER:
            tokens = await self._exchange(pending, code)
            return await identify_viewer(
                pending, tokens, make_oauth=self.make_oauth, client_id=self.client_id
            )
        tokens, user = await self._exchange_and_identify(pending, code)
        channel = await asyncio.to_thread(self.channel_to_connect, pending.guild_id)
        refusal = twitch_owner_refusal(channel, user)
        if refusal is not None:
            await self._revoke_quietly(tokens)
            log.info(
                "guild %s: refused a Twitch sign-in by an account that is not the guild's "
                "broadcaster",
                pending.guild_id,
            )
            raise AuthorizationFailed(refusal, pending=pending, code=WRONG_ACCOUNT)
        missing = tuple(scope for scope in SCOPES if scope not in tokens.scopes)
        await asyncio.to_thread(self._store, pending, user, tokens, missing)
        log.info("guild %s: Twitch channel of %s connected", pending.guild_id, user.login)
        return TwitchAuthorized(
            pending.guild_id, pending.discord_user_id, user.id, user.login, missing
        )

    async def _exchange_and_identify(
        self, pending: PendingState, code: str
    ) -> tuple[TokenSet, TwitchUser]:
        tokens = await self._exchange(pending, code)
        try:
            async with self.make_helix() as helix:
                users = await helix.get_users(tokens.access_token)
        except HelixError as exc:
            log.warning(
                "guild %s: Twitch's users endpoint failed after a sign-in (%s)",
                pending.guild_id,
                exc.status or "no answer",
            )
            await self._revoke_quietly(tokens)
            raise AuthorizationFailed(
                TWITCH_UNAVAILABLE_MESSAGE, pending=pending, code=TWITCH_UNAVAILABLE
            ) from exc
        if not users:
            await self._revoke_quietly(tokens)
            raise AuthorizationFailed(
                "Twitch did not say who signed in.", pending=pending, code=TWITCH_UNAVAILABLE
            )
        return tokens, users[0]

    async def _exchange(self, pending: PendingState, code: str) -> TokenSet:
        try:
            async with self.make_oauth() as oauth:
                tokens = await oauth.exchange_code(code, self.redirect_uri)
        except TwitchOAuthError as exc:
            log.warning(
                "guild %s: Twitch refused the code exchange (%s)", pending.guild_id, exc.status
            )
            if exc.status is None or exc.status >= 500 or exc.status == 200:
                raise AuthorizationFailed(
                    TWITCH_UNAVAILABLE_MESSAGE, pending=pending, code=TWITCH_UNAVAILABLE
                ) from exc
            raise AuthorizationFailed(
                "Twitch refused the sign-in. Please try again with a new link.",
                pending=pending,
                code=TWITCH_ERROR,
            ) from exc
        return tokens

    def _store(
        self,
        pending: PendingState,
        user: TwitchUser,
        tokens: TokenSet,
        missing: tuple[str, ...],
    ) -> None:
        now = utc(self.clock())
        stored = twitch_repo.StoredTwitchConnection(
            guild_id=pending.guild_id,
            broadcaster_user_id=user.id,
            login=user.login,
            access_token=self.cipher.encrypt(tokens.access_token),
            refresh_token=self.cipher.encrypt(tokens.refresh_token)
            if tokens.refresh_token
            else None,
            expires_at=tokens.expires_at,
            scopes=tokens.scopes,
            missing_scopes=missing,
            status=twitch_repo.CONNECTED,
            connected_by=pending.discord_user_id,
            needs_sync=True,
            validated_at=None,
        )
        with database(self.engine, write=True) as conn:
            twitch_repo.save_connection(conn, stored, now)

    async def _revoke_quietly(self, tokens: TokenSet) -> None:
        await revoke_quietly(self.make_oauth, tokens)
