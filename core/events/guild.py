"""Events about one guild, not a platform channel: the dispatcher hands each to its guild
alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.events.base import Event, Viewer


@dataclass(frozen=True, kw_only=True)
class GuildEvent(Event):
    """An event that belongs to one guild (say, a member linking an account), not to a channel.

    The dispatcher hands it to ``guild_id`` alone instead of routing by broadcaster.
    """

    guild_id: int
    broadcaster_user_id: str = ""


@dataclass(frozen=True, kw_only=True)
class AccountLinked(GuildEvent):
    """A Discord member linked their platform account (published by the OAuth callback)."""

    kind: ClassVar[str] = "account_linked"

    discord_user_id: int
    viewer: Viewer
    replaced_username: str | None = None


@dataclass(frozen=True, kw_only=True)
class AccountLinkFailed(GuildEvent):
    """A Discord member's link attempt failed and the web side knows who tried (from a verified
    link or sign-in state). ``reason`` is a code: ``declined``, ``link_expired``,
    ``already_linked`` or ``kick_error``; ``viewer`` is the platform account when known."""

    kind: ClassVar[str] = "account_link_failed"

    discord_user_id: int
    reason: str
    viewer: Viewer | None = None


@dataclass(frozen=True, kw_only=True)
class AccountUnlinked(GuildEvent):
    """A member's link was removed outside Discord (the dashboard's /me); the link is gone
    already, and the bot does what follows on Discord (the linked role, watchtime roles, the
    link log), as after !unlink."""

    kind: ClassVar[str] = "account_unlinked"

    discord_user_id: int
    actor_id: int
    viewer: Viewer


GUILD_EVENTS: tuple[type[GuildEvent], ...] = (AccountLinked, AccountLinkFailed, AccountUnlinked)
