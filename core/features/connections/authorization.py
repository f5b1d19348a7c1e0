"""What a sign-in checks besides OAuth itself, and how it says no (Kick's words here; Twitch's
in ``twitch/signin.py``).

- **Browser binding**: the browser that opens a start link gets a random cookie; the state
  stores only its SHA-256, and the callback must come back with the cookie. A Kick consent
  page passed to someone else (login CSRF) therefore comes back without it and is refused.
- **Owner check** (``round_trip.owner_refusal``): a streamer sign-in is kept only when the
  account that consented owns the channel the setup command named for the guild.
- **Database outages** become :class:`DatabaseUnavailable` (the web answers 503), never a crash.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.features.connections.round_trip_repository import PendingState
from core.features.guilds.repository import TrackedChannel
from core.storage.db import DatabaseUnavailable

# Why a sign-in failed (``AuthorizationFailed.code``); the web picks the status from it.
UNKNOWN_STATE = "unknown_state"  # no such state, used, or older than 10 minutes
STATE_USED = "state_used"  # the state came back already, to the browser that started it
WRONG_BROWSER = "wrong_browser"  # the callback came without the starting browser's cookie
DECLINED = "declined"  # the user said no on Kick
KICK_ERROR = "kick_error"  # Kick refused the code or redirected back with an error
KICK_UNAVAILABLE = "kick_unavailable"  # Kick failed or gave an answer we cannot use
WRONG_ACCOUNT = "wrong_account"  # a streamer sign-in by an account that does not own the channel
LINK_USED = "link_used"  # the signed start link already started a sign-in
NOT_CONFIGURED = "not_configured"  # no Kick app on this bot

LINK_USED_MESSAGE = {
    "kick-viewer": "This link was already used. Ask for a new one with !link (or /link) "
    "in Discord.",
    "kick-streamer": "This link was already used. A server admin can get a new one with "
    "!kick setup in Discord.",
}


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


@dataclass(frozen=True)
class Identity:
    """Whom the platform says a token belongs to."""

    user_id: str
    name: str


def owner_refusal(
    platform_name: str, setup_command: str, channel: TrackedChannel | None, consented: Identity
) -> str | None:
    """None when ``consented`` owns ``channel``; otherwise what to tell the person."""
    if channel is None:
        return (
            f"You signed in on {platform_name} as {consented.name}, but this server has no "
            f"{platform_name} channel set up any more. A server admin should run "
            f"{setup_command} <channel> again."
        )
    if channel.broadcaster_user_id != consented.user_id:
        return (
            f"You signed in on {platform_name} as {consented.name}, but this server's channel is "
            f"{channel.channel_slug}: only its owner can connect it. Sign out of {platform_name}, "
            f"then ask for a new link and sign in as {channel.channel_slug}."
        )
    return None


def came_back_already(platform: str, *, is_viewer: bool) -> str:
    """What the browser that started a sign-in reads when its state comes back a second time."""
    where = (
        "the bot tells you in Discord whether your accounts were linked (!linked shows them)"
        if is_viewer
        else f"!{platform} status in Discord shows whether the channel is connected"
    )
    return (
        "This sign-in came back already (a page opened again, or a second click), so this "
        f"answer changes nothing: {where}."
    )


def has_a_name(name: str | None) -> bool:
    """Whether a platform's user name can be shown: Kick and Twitch names are letters, digits
    and underscores, so one without any (empty, blank, zero-width) is an answer we cannot use."""
    return name is not None and any(char.isalnum() or char == "_" for char in name)


def browser_hash(browser_nonce: str) -> str:
    """What the server keeps of the browser-binding cookie."""
    return hashlib.sha256(browser_nonce.encode()).hexdigest()


def is_same_browser(stored_hash: str | None, browser_nonce: str | None) -> bool:
    """Whether the callback's cookie is the one the flow started with (constant time)."""
    if not stored_hash or not browser_nonce:
        return False
    return hmac.compare_digest(stored_hash.encode(), browser_hash(browser_nonce).encode())


@contextmanager
def database(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """A connection (a transaction when ``write``); an unreachable database raises
    :class:`DatabaseUnavailable` instead of the driver's error."""
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
        raise DatabaseUnavailable("the database is unreachable") from exc
