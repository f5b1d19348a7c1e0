"""Which platforms a member can link in a guild, and reading the platform a member typed.

A platform is offered when the bot has an app for it (``KICK_CLIENT_ID``/``TWITCH_CLIENT_ID``
and their secrets). A guild that follows channels narrows that down to the platforms of its
channels; a guild that follows none yet is offered every platform the bot has an app for, so
linking works before the streamer's channel is set up (as it did with Kick alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Platform

LINKABLE = (Platform.KICK, Platform.TWITCH)  # in the order they are offered
_WORDS = {platform.value: platform for platform in LINKABLE}
_MAX_WORD = 32


def parse_platform(text: str | None) -> Platform | None:
    """``kick`` or ``twitch`` (any case, spaces around ignored); None for anything else."""
    if text is None:
        return None
    return _WORDS.get(text.strip()[:_MAX_WORD].lower())


def platform_name(platform: Platform) -> str:
    return platform.name.title()


def offered(configured: tuple[Platform, ...], followed: set[Platform]) -> tuple[Platform, ...]:
    """The platforms to offer: those configured, narrowed to the followed ones when any is."""
    narrowed = tuple(p for p in configured if p in followed)
    return narrowed or configured


@dataclass(frozen=True)
class PlatformChoice:
    """The outcome of ``!link [platform]``: ``platform`` to link, or else the ``offered``
    platforms to choose from (none: the bot has no app at all). ``unknown`` is what the member
    typed when it names no platform we link; ``unavailable`` a platform the bot has no app for."""

    platform: Platform | None
    offered: tuple[Platform, ...]
    unknown: str | None = None
    unavailable: Platform | None = None


def choose(
    requested: str | None, offered_here: tuple[Platform, ...], configured: tuple[Platform, ...]
) -> PlatformChoice:
    """What ``!link`` links for ``requested`` (None when the member named nothing). Named, any
    platform the bot has an app for may be linked (links are the member's, not the guild's);
    unnamed, the guild's only platform, or a choice between its platforms."""
    if requested is None or not requested.strip():
        if len(offered_here) == 1:
            return PlatformChoice(offered_here[0], offered_here)
        return PlatformChoice(None, offered_here)
    platform = parse_platform(requested)
    if platform is None:
        return PlatformChoice(None, offered_here, unknown=requested.strip()[:_MAX_WORD])
    if platform not in configured:
        return PlatformChoice(None, offered_here, unavailable=platform)
    return PlatformChoice(platform, offered_here)
