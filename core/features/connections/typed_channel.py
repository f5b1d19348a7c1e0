"""A channel an operator typed (``python -m core guild add``), checked with the platform before
it is stored: the platform says who the channel is, with the bot's own app (the client
credentials token of ``!kick setup`` and ``!twitch setup``). A typed broadcaster id must be the
channel's; without one, the platform's is taken. A mistyped id would tie the server to another
streamer's channel: their chat would earn points here, their viewers get VIP.

Every way the check can fail is a :class:`ChannelCheckFailed` whose message is one plain line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from core.features.connections.kick.setup import KickSetup
from core.features.connections.twitch.setup import TwitchSetup
from core.outbox import deadline
from core.platforms.kick.api import KickApiError
from core.platforms.kick.oauth_client import OAuthError
from core.platforms.twitch.helix import HelixError
from core.platforms.twitch.oauth_client import TwitchOAuthError

# How long the operator waits for a platform's answer, retries included.
CHECK_SECONDS = 20.0
# The token endpoint's answers that mean the app's id or secret is wrong.
_APP_REFUSED = frozenset({400, 401, 403})


class ChannelCheckFailed(Exception):
    """The channel was not checked or is not what was typed; the message says which, in one
    line. ``is_settings``: the bot's settings are the cause (no app, or its secret refused);
    ``is_unreachable``: the platform did not answer (trying again later may work)."""

    def __init__(
        self, message: str, *, is_settings: bool = False, is_unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.is_settings = is_settings
        self.is_unreachable = is_unreachable


@dataclass(frozen=True)
class CheckedChannel:
    name: str  # as the platform spells it, lowercased
    broadcaster_user_id: str


async def check_kick(
    setup: KickSetup, slug: str, typed_id: str | None, *, within: float = CHECK_SECONDS
) -> CheckedChannel:
    """``slug`` as Kick has it; ``typed_id``, when given, must be its broadcaster's id."""
    if not setup.client_configured:
        raise _no_app("Kick", "KICK_CLIENT_ID and KICK_CLIENT_SECRET (kick.com/settings/developer)")

    async def ask() -> CheckedChannel:
        async with setup.make_api() as api:
            found = await setup.app_call(lambda token: api.get_channel_by_slug(token, slug))
            if found is None:
                raise ChannelCheckFailed(
                    f"Kick has no channel called {slug!r}. Check the name in its kick.com link."
                )
            real = str(found.broadcaster_user_id)
            if typed_id is None or typed_id == real:
                return CheckedChannel((found.slug or slug).lower(), real)
            try:
                owned = await setup.app_call(
                    lambda token: api.get_channels_by_broadcaster(token, [typed_id])
                )
            except KickApiError:  # whose id it is only adds to the answer
                owned = []
            owner = next((c.slug for c in owned if str(c.broadcaster_user_id) == typed_id), None)
            raise _mismatch("Kick", slug, real, typed_id, owner)

    return await _asked("Kick", slug, ask(), within, (KickApiError, OAuthError), OAuthError)


async def check_twitch(
    setup: TwitchSetup, login: str, typed_id: str | None, *, within: float = CHECK_SECONDS
) -> CheckedChannel:
    """``login`` as Twitch has it; ``typed_id``, when given, must be its user id."""
    if not setup.client_configured:
        raise _no_app("Twitch", "TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET (dev.twitch.tv/console)")

    async def ask() -> CheckedChannel:
        ids = [] if typed_id is None else [typed_id]
        async with setup.make_helix() as helix:
            users = await setup.app_call(
                lambda token: helix.get_users(token, ids=ids, logins=[login])
            )
        found = next((u for u in users if u.login.lower() == login), None)
        if found is None:
            raise ChannelCheckFailed(f"Twitch has no channel called {login!r}. Check its name.")
        if typed_id is None or typed_id == found.id:
            return CheckedChannel(found.login.lower(), found.id)
        owner = next((u.login.lower() for u in users if u.id == typed_id), None)
        raise _mismatch("Twitch", login, found.id, typed_id, owner)

    errors = (HelixError, TwitchOAuthError)
    return await _asked("Twitch", login, ask(), within, errors, TwitchOAuthError)


async def _asked(
    platform: str,
    name: str,
    asking: Coroutine[Any, Any, CheckedChannel],
    within: float,
    errors: tuple[type[Exception], ...],
    oauth_error: type[Exception],
) -> CheckedChannel:
    """The answer of ``asking`` within ``within`` seconds (no retry is started that would end
    later); the platform's failures as :class:`ChannelCheckFailed`."""
    try:
        with deadline.within(within):
            async with asyncio.timeout(within):
                return await asking
    except TimeoutError:
        why = f"no answer within {within:g} seconds"
    except errors as exc:
        status = getattr(exc, "status", None)
        if isinstance(exc, oauth_error) and status in _APP_REFUSED:
            prefix = platform.upper()
            raise ChannelCheckFailed(
                f"{platform} refused this bot's app (answered {status}), so {name} was not "
                f"checked: check {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET.",
                is_settings=True,
            ) from None
        why = f"answered {status}" if status else "no answer"
    raise ChannelCheckFailed(
        f"{platform} could not be asked who {name} is ({why}); nothing was stored. Try again "
        "later, or run again with --unchecked to store the ids as typed.",
        is_unreachable=True,
    )


def _no_app(platform: str, settings: str) -> ChannelCheckFailed:
    return ChannelCheckFailed(
        f"This bot has no {platform} app, so the {platform} channel cannot be checked: set "
        f"{settings}, or run again with --unchecked to store the ids as typed, unchecked.",
        is_settings=True,
    )


def _mismatch(
    platform: str, name: str, real: str, typed: str, owner: str | None
) -> ChannelCheckFailed:
    whose = f"that is {platform}'s {owner}" if owner else f"no {platform} channel has it"
    return ChannelCheckFailed(
        f"{platform} says {name}'s broadcaster id is {real}, not {typed} ({whose}); nothing "
        f"was stored. Run again with {real}, or without the id to take {platform}'s."
    )
