"""What the points economy asks of other features."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy.engine import Connection

from core.events import Platform


class Subscribers(Protocol):
    def subscribed(
        self, conn: Connection, guild_id: int, platform: Platform, user_ids: Iterable[str]
    ) -> set[str]:
        """Those of ``user_ids`` known to subscribe to the guild's channel on ``platform``, read
        on ``conn`` (the earning's own transaction: on SQLite a second connection would wait
        for it)."""
        ...


class ManySubscribers(Subscribers, Protocol):
    """A port that also answers for many guilds at once (points for watching earn a batch of
    guilds in a few statements; without this method they ask guild by guild)."""

    def subscribed_many(
        self, conn: Connection, keys: Sequence[tuple[int, str, str]]
    ) -> set[tuple[int, str, str]]:
        """Those of ``(guild_id, platform, user_id)`` known to subscribe, read on ``conn``."""
        ...


class GuildSubscribers(Subscribers, Protocol):
    """A port that names every subscriber of many guilds at once: points for watching then join
    them to the tick's crowds in the database, and no crowd is read out (the others ask about
    each crowd, read for it)."""

    def subscribers_in(
        self, conn: Connection, guild_ids: Sequence[int]
    ) -> set[tuple[int, str, str]]:
        """Every ``(guild_id, platform, user_id)`` known to subscribe in ``guild_ids``, read
        on ``conn``."""
        ...


class NobodySubscribes:
    """Until subscription tiers are known: everyone earns the base rate."""

    def subscribed(
        self, conn: Connection, guild_id: int, platform: Platform, user_ids: Iterable[str]
    ) -> set[str]:
        return set()

    def subscribed_many(
        self, conn: Connection, keys: Sequence[tuple[int, str, str]]
    ) -> set[tuple[int, str, str]]:
        return set()

    def subscribers_in(
        self, conn: Connection, guild_ids: Sequence[int]
    ) -> set[tuple[int, str, str]]:
        return set()
