"""The sign-in round trip every platform shares: from a signed start link to a connected streamer
channel, or to a viewer's verified identity.

A start link (``core/security/links.py``) starts a sign-in once. The state is single use, lives
10 minutes and is bound to the browser that opened the link (only a hash of its nonce is kept);
the state row's verifier column holds the PKCE verifier, encrypted (an encrypted empty string on
a platform without PKCE). On the way back the state must be ours and unused, the browser the one
that opened the link, and the platform must have sent a code. A streamer's token is then kept only
when the account that consented owns the channel the setup command named (``owner_refusal``); a
viewer's is given back at once, since a link needs the identity only.

:class:`RoundTrip` holds those steps once. Each platform's ``signin.py`` subclasses it and says its
differences: its words and codes as class attributes, and how it builds the consent URL,
exchanges the code, asks who signed in, keeps the token and gives one back.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.engine import Engine

from core.events import Platform, utc
from core.features.connections import round_trip_repository as repository
from core.features.connections.authorization import (
    DECLINED,
    LINK_USED,
    NOT_CONFIGURED,
    STATE_USED,
    UNKNOWN_STATE,
    WRONG_ACCOUNT,
    WRONG_BROWSER,
    AuthorizationFailed,
    Identity,
    browser_hash,
    came_back_already,
    database,
    has_a_name,
    is_same_browser,
    owner_refusal,
)
from core.features.connections.round_trip_repository import PendingState
from core.features.connections.signed_in import Connected, ViewerIdentity
from core.features.guilds import repository as guilds_repository
from core.features.guilds.repository import TrackedChannel
from core.security.links import LinkClaims
from core.security.secrets import TokenCipher, UndecryptableToken

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)
TokensT = TypeVar("TokensT")


class RoundTrip(Generic[TokensT]):
    """The shared steps. A platform's sign-in sets ``PLATFORM``, ``LINK_USED_MESSAGES``,
    ``OAUTH_ERROR`` and ``API_ERROR`` and the hooks below; its name, setting, setup command,
    purposes, codes and the words of its refusals follow from ``PLATFORM``
    (:meth:`__init_subclass__`), the same for every platform."""

    engine: Engine
    cipher: TokenCipher
    clock: Callable[[], datetime]
    client_id: str | None

    PLATFORM: ClassVar[Platform]
    PLATFORM_NAME: ClassVar[str]  # "Kick", "Twitch": in what the user and the log read
    CLIENT_ID_SETTING: ClassVar[str]  # the setting that configures the platform's app
    SETUP_COMMAND: ClassVar[str]  # the Discord command that names a guild's channel
    STREAMER_PURPOSE: ClassVar[str]
    VIEWER_PURPOSE: ClassVar[str]
    ERROR_CODE: ClassVar[str]  # the platform refused the code or came back with an error
    UNAVAILABLE_CODE: ClassVar[str]  # the platform failed or gave an answer we cannot use
    UNAVAILABLE_MESSAGE: ClassVar[str]
    WRONG_BROWSER_MESSAGE: ClassVar[str]
    LINK_USED_MESSAGES: ClassVar[dict[str, str]]  # by purpose
    OAUTH_ERROR: ClassVar[type[Exception]]  # the platform's OAuth server refused
    API_ERROR: ClassVar[type[Exception]]  # the platform's API refused or failed

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        platform = cls.__dict__.get("PLATFORM")
        if platform is None:
            return
        slug = platform.value
        name = slug.capitalize()
        cls.PLATFORM_NAME = name
        cls.CLIENT_ID_SETTING = f"{slug.upper()}_CLIENT_ID"
        cls.SETUP_COMMAND = f"!{slug} setup"
        cls.STREAMER_PURPOSE = f"{slug}-streamer"
        cls.VIEWER_PURPOSE = f"{slug}-viewer"
        cls.ERROR_CODE = f"{slug}_error"
        cls.UNAVAILABLE_CODE = f"{slug}_unavailable"
        cls.UNAVAILABLE_MESSAGE = (
            f"{name} did not answer properly, so nothing was connected. Try again in a few "
            "minutes with a new link."
        )
        cls.WRONG_BROWSER_MESSAGE = (
            "This sign-in was started in another browser, so nothing was connected. Ask for a "
            f"new link in Discord and open it in the browser where you sign in to {name}. If "
            f"someone sent you a {name} sign-in page, do not use it."
        )

    def __init__(
        self,
        engine: Engine,
        cipher: TokenCipher,
        *,
        oauth_base_url: str,
        client_id: str | None,
        redirect_uri: str,
        make_oauth: Callable[[], AbstractAsyncContextManager[Any]],
        make_api: Callable[[], AbstractAsyncContextManager[Any]],
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.cipher = cipher
        self.oauth_base_url = oauth_base_url
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.make_oauth = make_oauth
        self.make_api = make_api  # the platform's API client (Kick's API, Twitch's Helix)
        self.clock = clock

    # --- the round trip ------------------------------------------------------------------------

    def begin(self, purpose: str, claims: LinkClaims, browser_nonce: str) -> str:
        """Use the start link (once), remember a new single-use state bound to the browser that
        holds ``browser_nonce`` (only its hash is stored) and return the platform's consent URL
        for ``purpose`` (a streamer or a viewer sign-in).

        Raises :class:`AuthorizationFailed` (``link_used``, ``not_configured``) or
        :class:`DatabaseUnavailable`."""
        if not self.client_id:
            raise AuthorizationFailed(
                f"{self.PLATFORM_NAME} is not set up on this bot yet ({self.CLIENT_ID_SETTING}).",
                code=NOT_CONFIGURED,
            )
        if purpose not in self.purposes():
            raise ValueError(f"not a {self.PLATFORM_NAME} sign-in: {purpose}")
        state = secrets.token_urlsafe(32)
        verifier, challenge = self._pkce_pair()
        self._open_state(purpose, claims, browser_nonce, state=state, verifier=verifier)
        return self._consent_url(self.client_id, purpose, state, challenge)

    async def complete(
        self, *, state: str, code: str | None, error: str | None, browser_nonce: str | None
    ) -> Connected | ViewerIdentity:
        """Finish the round trip the platform redirected back with, in the browser that holds
        ``browser_nonce`` (the cookie): a connected streamer, or a viewer's identity (their
        token already given back). Raises :class:`AuthorizationFailed` or
        :class:`DatabaseUnavailable`."""
        pending, code = await self._returned(
            state=state, code=code, error=error, browser_nonce=browser_nonce
        )
        tokens = await self._exchange(pending, code)
        if pending.purpose == self.VIEWER_PURPOSE:
            return await self._identify_viewer(pending, tokens)
        user = await self._identify(pending, tokens)
        try:
            channel = await asyncio.to_thread(self.channel_to_connect, pending.guild_id)
            refusal = owner_refusal(self.PLATFORM_NAME, self.SETUP_COMMAND, channel, user)
            missing = self._missing_scopes(tokens)
            if refusal is None:
                await asyncio.to_thread(self._store, pending, user, tokens, missing)
        except Exception:
            # Not kept (the database went away): the grant goes back, not left live unheld.
            await self._revoke_quietly(tokens)
            raise
        if refusal is not None:
            await self._revoke_quietly(tokens)
            log.info(
                "guild %s: refused a %s sign-in by an account that does not own the guild's "
                "channel",
                pending.guild_id,
                self.PLATFORM_NAME,
            )
            raise AuthorizationFailed(refusal, pending=pending, code=WRONG_ACCOUNT)
        log.info(
            "guild %s: %s channel of %s connected", pending.guild_id, self.PLATFORM_NAME, user.name
        )
        return Connected(
            pending.guild_id, pending.discord_user_id, user.user_id, user.name, missing
        )

    def purposes(self) -> tuple[str, str]:
        """The purposes whose states this platform's callback consumes."""
        return (self.STREAMER_PURPOSE, self.VIEWER_PURPOSE)

    def is_link_used(self, link_id: str) -> bool:
        """Whether this start link has started a sign-in already. Raises DatabaseUnavailable."""
        with database(self.engine) as conn:
            return repository.is_link_used(conn, link_id)

    def channel_to_connect(self, guild_id: int) -> TrackedChannel | None:
        """The platform's channel the setup command named for the guild: its owner must
        consent."""
        with database(self.engine) as conn:
            channels = guilds_repository.list_channels_of_guild(conn, guild_id)
        return next((c for c in channels if c.platform == self.PLATFORM), None)

    # --- what each platform says -----------------------------------------------------------------

    def _pkce_pair(self) -> tuple[str, str]:
        """A PKCE ``(verifier, challenge)``; a platform without PKCE keeps an empty verifier."""
        return "", ""

    def _consent_url(self, client_id: str, purpose: str, state: str, challenge: str) -> str:
        raise NotImplementedError

    async def _exchange_code(self, code: str, verifier: str) -> TokensT:
        """Trade ``code`` (with the PKCE ``verifier``) for tokens; raises ``OAUTH_ERROR``."""
        raise NotImplementedError

    def _is_outage(self, error: Exception) -> bool:
        """Whether a refused exchange means the platform is failing (not that it said no)."""
        raise NotImplementedError

    async def _users(self, tokens: TokensT) -> list[Identity]:
        """Whom the platform says ``tokens`` belong to; raises ``API_ERROR``."""
        raise NotImplementedError

    async def _identify_viewer(self, pending: PendingState, tokens: TokensT) -> ViewerIdentity:
        """A viewer's identity; their token is given back whatever happens."""
        user = await self._identify(pending, tokens)
        await self._revoke_quietly(tokens)
        return ViewerIdentity(pending.guild_id, pending.discord_user_id, user.user_id, user.name)

    def _missing_scopes(self, tokens: TokensT) -> tuple[str, ...]:
        return ()

    def _store(
        self, pending: PendingState, user: Identity, tokens: TokensT, missing: tuple[str, ...]
    ) -> None:
        raise NotImplementedError

    async def _revoke_quietly(self, tokens: TokensT) -> None:
        raise NotImplementedError

    # --- the shared steps ------------------------------------------------------------------------

    async def _exchange(self, pending: PendingState, code: str) -> TokensT:
        """The tokens for ``code``; :class:`AuthorizationFailed` when the platform refuses, or
        when the state was kept under another ``TOKEN_ENCRYPTION_KEY`` (it changed meanwhile)."""
        try:
            verifier = self.cipher.decrypt(pending.code_verifier)
        except UndecryptableToken:
            log.warning(
                "guild %s: a %s sign-in state cannot be decrypted (TOKEN_ENCRYPTION_KEY changed?)",
                pending.guild_id,
                self.PLATFORM_NAME,
            )
            raise AuthorizationFailed(
                "This sign-in can no longer be finished. Ask for a new link in Discord.",
                code=UNKNOWN_STATE,
            ) from None
        try:
            return await self._exchange_code(code, verifier)
        except self.OAUTH_ERROR as exc:
            log.warning(
                "guild %s: %s refused the code exchange (%s)",
                pending.guild_id,
                self.PLATFORM_NAME,
                exc,
            )
            if self._is_outage(exc):
                raise self._unavailable(pending) from exc
            raise AuthorizationFailed(
                f"{self.PLATFORM_NAME} refused the sign-in. Please try again with a new link.",
                pending=pending,
                code=self.ERROR_CODE,
            ) from exc

    async def _identify(self, pending: PendingState, tokens: TokensT) -> Identity:
        """Whose ``tokens`` they are; gives them back and raises :class:`AuthorizationFailed`
        when the platform does not say."""
        try:
            users = await self._users(tokens)
        except self.API_ERROR as exc:
            log.warning(
                "guild %s: %s's users endpoint failed after a sign-in (%s)",
                pending.guild_id,
                self.PLATFORM_NAME,
                exc,
            )
            await self._revoke_quietly(tokens)
            raise self._unavailable(pending) from exc
        if not users or not has_a_name(users[0].name):
            await self._revoke_quietly(tokens)
            raise AuthorizationFailed(
                f"{self.PLATFORM_NAME} did not say who signed in.",
                pending=pending,
                code=self.UNAVAILABLE_CODE,
            )
        return users[0]

    def _unavailable(
        self, pending: PendingState, message: str | None = None
    ) -> AuthorizationFailed:
        return AuthorizationFailed(
            message or self.UNAVAILABLE_MESSAGE, pending=pending, code=self.UNAVAILABLE_CODE
        )

    def _open_state(
        self, purpose: str, claims: LinkClaims, browser_nonce: str, *, state: str, verifier: str
    ) -> None:
        """Use the start link (once) and remember ``state`` for the browser that holds
        ``browser_nonce``, with ``verifier`` encrypted. Raises :class:`AuthorizationFailed`
        (``link_used``) or :class:`DatabaseUnavailable`."""
        now = utc(self.clock())
        pending = PendingState(
            purpose,
            claims.guild_id,
            claims.discord_user_id,
            self.cipher.encrypt(verifier),
            browser_hash(browser_nonce),
        )
        with database(self.engine, write=True) as conn:
            is_first_use = repository.claim_link(
                conn,
                claims.link_id,
                purpose=purpose,
                guild_id=claims.guild_id,
                discord_user_id=claims.discord_user_id,
                now=now,
                expires_at=claims.expires_at,
            )
            if is_first_use:
                repository.create_state(conn, state, pending, now, now + STATE_LIFETIME)
                repository.forget_states_before(conn, now - timedelta(days=1))
                repository.forget_links_expired_before(conn, now)
        if not is_first_use:
            raise AuthorizationFailed(self.LINK_USED_MESSAGES[purpose], code=LINK_USED)

    async def _returned(
        self, *, state: str, code: str | None, error: str | None, browser_nonce: str | None
    ) -> tuple[PendingState, str]:
        """The state's pending round trip and the code, once the state was ours and unused,
        the browser is the one that opened the link and the platform sent a code. Raises
        :class:`AuthorizationFailed` or :class:`DatabaseUnavailable`."""
        pending = await asyncio.to_thread(self._consume_state, state)
        if pending is None:
            used = await asyncio.to_thread(self._used_state, state)
            if used is not None and is_same_browser(used.browser_hash, browser_nonce):
                # A double click on the consent page, or the result page opened again: the
                # browser shows this answer while the first one may have connected. No
                # ``pending``: nobody is told of a refusal in Discord.
                is_viewer = used.purpose == self.VIEWER_PURPOSE
                raise AuthorizationFailed(
                    came_back_already(self.PLATFORM.value, is_viewer=is_viewer), code=STATE_USED
                )
            raise AuthorizationFailed(
                "This sign-in link was already used or is older than 10 minutes. "
                "Ask for a new one in Discord.",
                code=UNKNOWN_STATE,
            )
        if not is_same_browser(pending.browser_hash, browser_nonce):
            # Someone else's consent page, or another browser than the one that opened the
            # link: nothing is exchanged, so a code sent here is never used.
            log.info(
                "guild %s: a %s sign-in came back to another browser",
                pending.guild_id,
                self.PLATFORM_NAME,
            )
            raise AuthorizationFailed(
                self.WRONG_BROWSER_MESSAGE, pending=pending, code=WRONG_BROWSER
            )
        if error or not code:
            is_declined = error == "access_denied"
            name = self.PLATFORM_NAME
            denied = f"You declined on {name}" if is_declined else f"{name} did not finish"
            raise AuthorizationFailed(
                f"{denied}, so nothing was connected.",
                pending=pending,
                code=DECLINED if is_declined else self.ERROR_CODE,
            )
        return pending, code

    def _used_state(self, state: str) -> PendingState | None:
        with database(self.engine) as conn:
            return repository.find_used_state(conn, state, purposes=self.purposes())

    def _consume_state(self, state: str) -> PendingState | None:
        with database(self.engine, write=True) as conn:
            return repository.consume_state(
                conn, state, utc(self.clock()), purposes=self.purposes()
            )
