"""The overview's Sync buttons: ``!kick sync`` and ``!twitch sync`` as the dashboard calls them.

Each is the same service call the command makes (``KickSetup.sync``, ``TwitchSetup.sync``),
answered in the dashboard's words (``connection_words.py``); a platform that does not answer is
a ``Refused``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.events import Platform
from core.features.refusals import Refused
from core.web.dashboard.connection_words import kick_sync_words, twitch_sync_words

if TYPE_CHECKING:
    from core.services import FeatureServices


@dataclass(frozen=True)
class PlatformSync:
    """One platform's Sync button: its label, whether a guild has that platform (a channel
    set up with ``!<platform> setup``), and the sync itself, giving the reply's text."""

    label: str
    has: Callable[[int], bool]
    sync: Callable[[int], Awaitable[str]]


def kick_sync(rt: FeatureServices) -> PlatformSync:
    kick = rt.kick_setup

    async def sync(guild_id: int) -> str:
        from core.platforms.kick.api import KickApiError
        from core.platforms.kick.oauth_client import OAuthError

        try:
            report = await kick.sync(guild_id)
        except (KickApiError, OAuthError) as exc:
            raise Refused(f"Kick did not answer ({exc}). Try again in a moment.") from exc
        return kick_sync_words(report)

    return PlatformSync("Kick", lambda guild_id: _tracked(rt, guild_id, Platform.KICK), sync)


def twitch_sync(rt: FeatureServices) -> PlatformSync:
    twitch = rt.twitch_setup

    async def sync(guild_id: int) -> str:
        from core.features.connections.channel_setup import SetupFailed
        from core.platforms.twitch.helix import HelixError
        from core.platforms.twitch.oauth_client import TwitchOAuthError

        try:
            report = await twitch.sync(guild_id)
        except (HelixError, TwitchOAuthError) as exc:
            raise SetupFailed(
                "Twitch did not answer, so nothing changed. Try again in a minute."
            ) from exc
        return twitch_sync_words(report)

    return PlatformSync("Twitch", lambda guild_id: _tracked(rt, guild_id, Platform.TWITCH), sync)


def _tracked(rt: FeatureServices, guild_id: int, platform: Platform) -> bool:
    return rt.guilds.channel_of(guild_id, platform) is not None


def platform_syncs(rt: FeatureServices) -> dict[str, PlatformSync]:
    """The Sync buttons, by URL slug."""
    return {"kick": kick_sync(rt), "twitch": twitch_sync(rt)}
