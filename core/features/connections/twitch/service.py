"""Twitch connections: a guild's streamer consents once; the bot keeps the grant usable.

The consent round trip is in ``twitch_signin.py`` (mixed in here). Tokens are stored encrypted.
:meth:`TwitchConnections.call_as_streamer` refreshes a token about to expire and once more on a
401; the rotated refresh token is stored together with its access token in one statement, and
only over the pair that was refreshed (a newer consent is never overwritten). Twitch requires
every token to be validated at start and then hourly: :meth:`validate_all` does it, records the
scopes a token lacks (scopes added to StreamKeeper later) and marks a dead grant as needing
re-authorization, which ``!twitch status`` and ``!health`` show.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.events import utc
from core.features.connections.app_token import AppToken
from core.features.connections.streamer_tokens import StreamerTokens, TokenKind
from core.features.connections.tables import twitch_connections
from core.features.connections.twitch import repository as repo
from core.features.connections.twitch.ports import TwitchNotConnected, TwitchStillUnauthorized
from core.features.connections.twitch.repository import (
    StoredTwitchSubscription,
)
from core.features.connections.twitch.signin import TwitchSignIn
from core.platforms.twitch.helix import Unauthorized
from core.platforms.twitch.oauth_client import (
    SCOPES,
    InvalidGrant,
    InvalidToken,
    TwitchOAuthError,
)

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=10)
# Emitted with the guild id in the transaction that stores a streamer's Twitch consent (a first
# connection or a new one after re-authorization was needed): temporary VIP handles then what
# waited for it (core/features/vip/reconnection.py).
STREAMER_CONNECTED = "connections.twitch_streamer_connected"
VALIDATE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class ValidationReport:
    valid: tuple[int, ...]
    needs_reauthorization: tuple[int, ...]
    missing_scopes: dict[int, tuple[str, ...]]


class TwitchConnections(StreamerTokens, TwitchSignIn):
    TABLE = twitch_connections
    REFRESH_MARGIN = REFRESH_MARGIN
    UNAUTHORIZED = Unauthorized
    INVALID_GRANT = InvalidGrant
    OAUTH_ERROR = TwitchOAuthError
    NOT_CONNECTED = TwitchNotConnected
    STILL_UNAUTHORIZED = TwitchStillUnauthorized
    CONNECTED_HOOK = STREAMER_CONNECTED
    STILL_UNAUTHORIZED_HINT = (
        "a scope the call needs is missing from the streamer's grant (channel:manage:vips for "
        "VIPs) or the token was issued to another client id than TWITCH_CLIENT_ID"
    )

    def grant_revoked(self, broadcaster_user_id: str) -> list[int]:
        """Twitch revoked a subscription because the broadcaster's authorization is gone
        (``authorization_revoked``, ``user_removed``): their connections need a new consent
        now, not at the next hourly validation. The guilds marked."""
        with self.engine.begin() as conn:
            marked = repo.mark_broadcaster_needs_reauth(
                conn, broadcaster_user_id, utc(self.clock())
            )
        for guild_id in marked:
            log.warning(
                "guild %s: Twitch says the streamer's authorization is gone; a server admin "
                "should run !twitch setup again",
                guild_id,
            )
        return marked

    # --- validation (at start, then hourly) ----------------------------------------------------

    async def validate(self, guild_id: int) -> tuple[str, ...]:
        """Ask Twitch about the guild's token (refreshing it when Twitch says it is invalid);
        record its scopes and return the required ones it lacks. :class:`TwitchNotConnected`
        when the grant is dead (the connection is then marked as needing re-authorization)."""
        token = await self.access_token(guild_id)
        try:
            async with self.make_oauth() as oauth:
                try:
                    validation = await oauth.validate(token)
                except InvalidToken:
                    failed = (await asyncio.to_thread(self._working, guild_id)).access_token
                    token = await self._refresh(guild_id, failed)
                    validation = await oauth.validate(token)
        except InvalidToken as exc:
            await asyncio.to_thread(
                self._mark_needs_reauth, guild_id, "Twitch does not accept even a new token"
            )
            raise TwitchNotConnected(f"guild {guild_id} must connect Twitch again") from exc
        missing = validation.missing_scopes(SCOPES)
        await asyncio.to_thread(self._record_validation, guild_id, validation.scopes, missing)
        if missing:
            log.warning("guild %s: the Twitch token lacks %s", guild_id, ", ".join(missing))
        return missing

    async def validate_all(self) -> ValidationReport:
        """Validate every connected guild's token (the hourly job). A Twitch outage leaves a
        connection as it is, to be tried at the next run."""
        valid: list[int] = []
        dead: list[int] = []
        missing: dict[int, tuple[str, ...]] = {}
        for guild_id in await asyncio.to_thread(self.connected_guild_ids):
            try:
                lacking = await self.validate(guild_id)
            except TwitchNotConnected:
                dead.append(guild_id)
                continue
            except TwitchOAuthError as exc:
                log.warning("guild %s: could not validate the Twitch token (%s)", guild_id, exc)
                continue
            valid.append(guild_id)
            if lacking:
                missing[guild_id] = lacking
        return ValidationReport(tuple(valid), tuple(dead), missing)

    def _record_validation(
        self, guild_id: int, scopes: tuple[str, ...], missing: tuple[str, ...]
    ) -> None:
        with self.engine.begin() as conn:
            repo.record_validation(
                conn, guild_id, scopes=scopes, missing_scopes=missing, now=utc(self.clock())
            )

    # --- disconnect, subscriptions ------------------------------------------------------

    async def _revoke(self, oauth: Any, token: str, kind: TokenKind) -> None:
        await oauth.revoke(token)  # Twitch takes either kind without being told which

    def serves_other_guilds(self, broadcaster_user_id: str, guild_id: int) -> bool:
        """True when another guild is connected as this broadcaster too (its grant working or
        waiting for a new consent)."""
        with self.engine.connect() as conn:
            return bool(repo.other_guilds_connected_as(conn, broadcaster_user_id, guild_id))

    def broadcasters_with_a_connection(self) -> set[str]:
        """The broadcasters whose subscriptions some guild needs (see the repository)."""
        with self.engine.connect() as conn:
            return repo.broadcasters_with_a_connection(conn)

    def stored_subscriptions(self, broadcaster_user_id: str) -> list[StoredTwitchSubscription]:
        with self.engine.connect() as conn:
            return repo.list_subscriptions_for_broadcaster(conn, broadcaster_user_id)

    def store_subscriptions(
        self, broadcaster_user_id: str, subscriptions: list[StoredTwitchSubscription]
    ) -> None:
        with self.engine.begin() as conn:
            repo.replace_subscriptions(conn, broadcaster_user_id, subscriptions, utc(self.clock()))


class TwitchAppToken(AppToken):
    """The app's own token for Get Users and webhook subscriptions, minted again when Twitch
    refuses it (:meth:`AppToken.call`)."""

    UNAUTHORIZED = Unauthorized
