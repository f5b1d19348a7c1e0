"""A viewer's Twitch sign-in: who they are on Twitch, and nothing else.

It shares the streamer's round trip (``round_trip.py``, ``signin.py``: the single-use start
link, the 10-minute single-use state bound to the browser, the one callback URL) and differs
after the code exchange: no scope is asked for (identifying a user needs none), the user id and
login come from Twitch's ``/validate`` of the token just issued (never from anything the user
typed or the redirect carried), the token must be ours (its ``client_id``), and it is revoked at
once, whatever happens next: a link holds no token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from core.features.connections.authorization import AuthorizationFailed, has_a_name
from core.features.connections.round_trip import ViewerIdentity
from core.features.connections.round_trip_repository import PendingState
from core.platforms.twitch.oauth_client import TokenSet, TwitchOAuthClient, TwitchOAuthError

log = logging.getLogger(__name__)

PURPOSE_TWITCH_VIEWER = "twitch-viewer"
VIEWER_SCOPES: tuple[str, ...] = ()  # the identity needs no scope (user:read:email is not used)
TWITCH_UNAVAILABLE = "twitch_unavailable"  # Twitch failed or gave an answer we cannot use
TWITCH_VIEWER_UNAVAILABLE_MESSAGE = (
    "Twitch did not answer properly, so your accounts were not linked. Try again in a few "
    "minutes with a new link (!link twitch in Discord)."
)
TWITCH_VIEWER_LINK_USED_MESSAGE = (
    "This link was already used. Ask for a new one with !link twitch (or /link) in Discord."
)


async def identify_viewer(
    pending: PendingState,
    tokens: TokenSet,
    *,
    make_oauth: Callable[[], AbstractAsyncContextManager[TwitchOAuthClient]],
    client_id: str | None,
) -> ViewerIdentity:
    """Ask Twitch whose ``tokens`` are, then revoke them. Raises :class:`AuthorizationFailed`
    (``twitch_unavailable``) when Twitch does not say, or says something we cannot trust."""
    try:
        async with make_oauth() as oauth:
            validation = await oauth.validate(tokens.access_token)
    except TwitchOAuthError as exc:
        log.warning(
            "guild %s: Twitch's validate failed after a viewer sign-in (%s)",
            pending.guild_id,
            exc.status or "no answer",
        )
        validation = None
    finally:
        await revoke_quietly(make_oauth, tokens)
    if (
        validation is None
        or validation.user_id is None
        or validation.login is None
        or not has_a_name(validation.login)
        or validation.client_id != client_id
    ):
        raise AuthorizationFailed(
            TWITCH_VIEWER_UNAVAILABLE_MESSAGE, pending=pending, code=TWITCH_UNAVAILABLE
        )
    return ViewerIdentity(
        pending.guild_id, pending.discord_user_id, validation.user_id, validation.login
    )


async def revoke_quietly(
    make_oauth: Callable[[], AbstractAsyncContextManager[TwitchOAuthClient]], tokens: TokenSet
) -> None:
    try:
        async with make_oauth() as oauth:
            await oauth.revoke(tokens.access_token)
    except Exception:
        log.warning("could not give a Twitch token back; it expires on its own")
