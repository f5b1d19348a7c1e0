"""The part of a sign-in round trip every platform shares: the single-use start link, the
single-use state bound to the browser that opened it, and the first checks on the way back.

A start link (``core/security/links.py``) starts a sign-in once. The state is single use, lives
10 minutes and is bound to the browser that opened the link (only a hash of its nonce is kept);
the state row's verifier column holds the PKCE verifier, encrypted (an encrypted empty string on
a platform without PKCE). What a platform does with the code afterwards (exchange, identify,
check the owner, keep or give back the token) stays in its own module: ``signin.py`` (Kick),
``twitch_signin.py`` and ``twitch_viewer_signin.py`` (Twitch).

:class:`RoundTrip` is mixed into each platform's sign-in; the class says the platform's
differences as data (its name, its channels' platform, its purposes and its words).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy.engine import Engine

from core.events import Platform, utc
from core.features.connections.authorization import (
    DECLINED,
    KICK_ERROR,
    LINK_USED,
    UNKNOWN_STATE,
    WRONG_BROWSER,
    browser_hash,
    database,
    is_same_browser,
)
from core.features.connections.kick import repository
from core.features.connections.kick.repository import PendingState
from core.features.guilds import repository as guilds_repository
from core.features.guilds.repository import TrackedChannel
from core.security.links import LinkClaims
from core.security.secrets import TokenCipher

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)


class AuthorizationFailed(Exception):
    """The OAuth round trip did not give a usable connection; ``reason`` is for the user.

    When the state was valid, ``pending`` says whose round trip it was; ``code`` is one of
    the codes in ``authorization.py`` (``declined``, ``wrong_browser``, ``wrong_account``...).
    """

    def __init__(
        self,
        reason: str,
        *,
        guild_id: int | None = None,
        pending: PendingState | None = None,
        code: str = KICK_ERROR,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.guild_id = pending.guild_id if pending is not None else guild_id
        self.pending = pending
        self.code = code


class RoundTrip:
    """The shared steps; a platform's sign-in sets the class attributes below."""

    engine: Engine
    cipher: TokenCipher
    clock: Callable[[], datetime]

    PLATFORM: ClassVar[Platform]
    PLATFORM_NAME: ClassVar[str]  # "Kick", "Twitch": in what the user and the log read
    PURPOSES: ClassVar[tuple[str, ...]]  # the purposes whose states this platform consumes
    ERROR_CODE: ClassVar[str]  # the code of a callback that came back without a code
    WRONG_BROWSER_MESSAGE: ClassVar[str]

    def _open_state(
        self,
        purpose: str,
        claims: LinkClaims,
        browser_nonce: str,
        *,
        state: str,
        verifier: str,
        link_used_message: str,
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
            raise AuthorizationFailed(link_used_message, code=LINK_USED)

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

    async def _returned(
        self, *, state: str, code: str | None, error: str | None, browser_nonce: str | None
    ) -> tuple[PendingState, str]:
        """The state's pending round trip and the code, once the state was ours and unused,
        the browser is the one that opened the link and the platform sent a code. Raises
        :class:`AuthorizationFailed` or :class:`DatabaseUnavailable`."""
        pending = await asyncio.to_thread(self._consume_state, state)
        if pending is None:
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

    def _consume_state(self, state: str) -> PendingState | None:
        with database(self.engine, write=True) as conn:
            return repository.consume_state(conn, state, utc(self.clock()), purposes=self.PURPOSES)
