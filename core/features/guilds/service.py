"""Which guild follows which platform channel; the routing table for incoming events."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.guilds import repository
from core.features.guilds.repository import TrackedChannel

_USER_ID = re.compile(r"^[0-9]{1,20}$")
# Per platform: what a channel's name may be, and the words for a name and a user id that are
# not one.
_CHANNEL_RULES = {
    Platform.KICK: (
        re.compile(r"^[A-Za-z0-9_-]{1,25}$"),
        "a Kick channel name (letters, digits, - and _, at most 25)",
        "a Kick user id (a whole number, e.g. 123456789)",
    ),
    Platform.TWITCH: (
        re.compile(r"^[a-z0-9_]{1,25}$"),
        "a Twitch login (letters, digits and _, at most 25)",
        "a Twitch user id (a whole number, e.g. 141981764)",
    ),
}
ROUTE_CACHE_SECONDS = 5.0


class InvalidGuildInput(ValueError):
    """A guild id, channel slug or broadcaster id that cannot be right; the message says why."""


@dataclass(frozen=True)
class GuildView:
    guild_id: int
    channels: tuple[TrackedChannel, ...]
    left_at: datetime | None = None  # when the bot was removed from the server; None: it is in


class GuildService:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.monotonic = monotonic or (lambda: time.monotonic())
        self._routes: dict[tuple[Platform, str, int | None], tuple[float, list[int]]] = {}
        self._routes_lock = threading.Lock()
        self._left: tuple[float, frozenset[int]] | None = None
        self._left_writes = 0  # this process's own marks: a read from before one is not kept

    def set_kick_channel(
        self,
        guild_id: int,
        slug: str,
        broadcaster_user_id: str,
        *,
        channel_id: int | None = None,
        chatroom_id: int | None = None,
    ) -> GuildView:
        """Tie ``guild_id`` to a Kick channel (replacing an earlier one) and return the guild.

        ``channel_id`` and ``chatroom_id`` are Kick's internal ids, needed only for Pusher.
        """
        _check_guild_id(guild_id)
        slug, user_id = _checked_channel(Platform.KICK, slug, broadcaster_user_id)
        channel = TrackedChannel(guild_id, Platform.KICK, slug, user_id, channel_id, chatroom_id)
        return self._set_channel(channel)

    def set_twitch_channel(self, guild_id: int, login: str, broadcaster_user_id: str) -> GuildView:
        """Tie ``guild_id`` to a Twitch channel (replacing an earlier Twitch one; a Kick channel
        stays) and return the guild. Twitch events for ``broadcaster_user_id`` then reach it."""
        _check_guild_id(guild_id)
        login, user_id = _checked_channel(Platform.TWITCH, login, broadcaster_user_id)
        return self._set_channel(TrackedChannel(guild_id, Platform.TWITCH, login, user_id))

    def set_channels(
        self, guild_id: int, channels: Mapping[Platform, tuple[str, str]]
    ) -> GuildView:
        """Tie ``guild_id`` to each platform's channel (name, broadcaster id), all or none:
        every one is checked before anything is written (``python -m core guild add`` with a
        Kick and a Twitch channel)."""
        _check_guild_id(guild_id)
        checked = [
            TrackedChannel(guild_id, platform, *_checked_channel(platform, name, user_id))
            for platform, (name, user_id) in channels.items()
        ]
        return self._set_channel(*checked)

    def _set_channel(self, *channels: TrackedChannel) -> GuildView:
        guild_id = channels[0].guild_id
        now = self.clock()
        with self.engine.begin() as conn:
            repository.ensure_guild(conn, guild_id, now)
            for channel in channels:
                repository.set_channel(conn, channel, now)
        with self._routes_lock:
            self._routes.clear()
        return self.show(guild_id)

    def show(self, guild_id: int) -> GuildView:
        """The guild and its channels; raises ``LookupError`` for a guild nobody added."""
        with self.engine.connect() as conn:
            if not repository.guild_exists(conn, guild_id):
                raise LookupError(f"guild {guild_id} is not set up")
            channels = tuple(repository.list_channels_of_guild(conn, guild_id))
            return GuildView(guild_id, channels, repository.get_left_at(conn, guild_id))

    def ensure_guild(self, guild_id: int, name: str | None = None) -> None:
        _check_guild_id(guild_id)
        with self.engine.begin() as conn:
            repository.ensure_guild(conn, guild_id, self.clock(), name)

    def name_of(self, guild_id: int) -> str | None:
        """The server's name as last seen by the bot; None when it was never stored."""
        with self.engine.connect() as conn:
            return repository.get_guild_name(conn, guild_id)

    def kick_channels(self) -> list[TrackedChannel]:
        """Every guild's Kick channel."""
        with self.engine.connect() as conn:
            return repository.list_all_channels(conn, Platform.KICK)

    def kick_channel_of(self, guild_id: int) -> TrackedChannel | None:
        return self.channel_of(guild_id, Platform.KICK)

    def twitch_channel_of(self, guild_id: int) -> TrackedChannel | None:
        return self.channel_of(guild_id, Platform.TWITCH)

    def channel_of(self, guild_id: int, platform: Platform) -> TrackedChannel | None:
        with self.engine.connect() as conn:
            channels = repository.list_channels_of_guild(conn, guild_id)
        return next((c for c in channels if c.platform == platform), None)

    def guild_ids(self) -> list[int]:
        with self.engine.connect() as conn:
            return repository.list_guild_ids(conn)

    def served_of(self, guild_ids: Collection[int]) -> set[int]:
        """Which of ``guild_ids`` the bot serves (a dashboard user's servers, never all)."""
        with self.engine.connect() as conn:
            return repository.list_served(conn, guild_ids)

    def guilds_tracking(
        self, platform: Platform, broadcaster_user_id: str, via_chatroom_id: int | None = None
    ) -> list[int]:
        """Guilds that follow this broadcaster; for an event read from one chatroom (Pusher),
        only the guilds whose stored chatroom id is that one, so one guild's choice of chatroom
        never speaks for another. Cached for a few seconds: it runs per event."""
        key = (platform, broadcaster_user_id, via_chatroom_id)
        now = self.monotonic()
        with self._routes_lock:
            cached = self._routes.get(key)
        if cached is not None and now - cached[0] < ROUTE_CACHE_SECONDS:
            return cached[1]
        with self.engine.connect() as conn:
            guild_ids = repository.list_guild_ids_tracking(
                conn, platform, broadcaster_user_id, chatroom_id=via_chatroom_id
            )
        with self._routes_lock:
            if len(self._routes) > 10_000:
                self._routes.clear()
            self._routes[key] = (now, guild_ids)
        return guild_ids

    def guilds_served(
        self, platform: Platform, broadcaster_user_id: str, via_chatroom_id: int | None = None
    ) -> list[int]:
        """:meth:`guilds_tracking` but the guilds the bot was removed from."""
        left = self.left_guild_ids()
        following = self.guilds_tracking(platform, broadcaster_user_id, via_chatroom_id)
        return [guild_id for guild_id in following if guild_id not in left]

    # --- the bot removed from a server ----------------------------------------------------------

    def mark_left(self, guild_id: int) -> None:
        """The bot was removed from the server (kicked, banned, the server deleted): from now on
        its chat, commands and events are not acted on (the dispatcher asks
        :meth:`left_guild_ids`). A guild already left keeps the first date."""
        with self.engine.begin() as conn:
            repository.mark_left(conn, guild_id, self.clock())
        self._forget_left()

    def mark_back(self, guild_id: int) -> None:
        """The bot is in the server (again): it is served as before."""
        with self.engine.begin() as conn:
            repository.clear_left(conn, guild_id)
        self._forget_left()

    def left_at(self, guild_id: int) -> datetime | None:
        """When the bot was removed from the server; None while it is there (or never was)."""
        with self.engine.connect() as conn:
            return repository.get_left_at(conn, guild_id)

    def left_guild_ids(self) -> frozenset[int]:
        """Every guild the bot was removed from. Read once per :data:`ROUTE_CACHE_SECONDS` (it
        is asked per batch of events): a removal or return another process recorded counts
        here within that time, this process's own at once."""
        now = self.monotonic()
        cached = self._left
        if cached is not None and now - cached[0] < ROUTE_CACHE_SECONDS:
            return cached[1]
        with self._routes_lock:
            writes = self._left_writes
        with self.engine.connect() as conn:
            left = frozenset(repository.list_left_guild_ids(conn))
        with self._routes_lock:
            if writes == self._left_writes:
                self._left = (now, left)
        return left

    def _forget_left(self) -> None:
        with self._routes_lock:
            self._left_writes += 1
            self._left = None


def _check_guild_id(guild_id: int) -> None:
    if not 0 < guild_id < 2**63:
        raise InvalidGuildInput(f"{guild_id} is not a Discord server id")


def _checked_channel(platform: Platform, name: str, broadcaster_user_id: str) -> tuple[str, str]:
    """The channel's name (lowercased) and broadcaster id, trimmed, as ``platform`` has them;
    :class:`InvalidGuildInput` when either cannot be one."""
    return checked_name(platform, name), checked_user_id(platform, broadcaster_user_id)


def checked_name(platform: Platform, name: str) -> str:
    """A channel's name on ``platform``, trimmed and lowercased; :class:`InvalidGuildInput`
    when it cannot be one."""
    name_pattern, not_a_name, _ = _CHANNEL_RULES[platform]
    name = name.strip().lower()
    if not name_pattern.match(name):
        raise InvalidGuildInput(f"{name!r} is not {not_a_name}")
    return name


def checked_user_id(platform: Platform, user_id: str) -> str:
    """A user id on ``platform``, trimmed; :class:`InvalidGuildInput` when it cannot be one."""
    user_id = str(user_id).strip()
    if not _USER_ID.match(user_id):
        raise InvalidGuildInput(f"{user_id!r} is not {_CHANNEL_RULES[platform][2]}")
    return user_id
