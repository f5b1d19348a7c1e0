"""The server directory: the bot records what it sees, the dashboard reads names and pickers.

``record_server`` replaces a server's roles and channels in one transaction (what the bot's
cache holds is the truth), ``record_members`` keeps members' display names (a whole list drops
those who left), and a login's list of servers may name a server the bot has not described yet
(``name_servers``: a deployment without a bot token still shows names).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.directory import repository
from core.features.directory.repository import Channel, Member, Role, Server


@dataclass(frozen=True)
class Snapshot:
    """One server as the bot's cache holds it."""

    server: Server
    roles: tuple[Role, ...]
    channels: tuple[Channel, ...]


class DirectoryService:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    # --- written by the bot ----------------------------------------------------------------

    def record_server(self, snapshot: Snapshot) -> None:
        guild_id = snapshot.server.guild_id
        with self.engine.begin() as conn:
            repository.save_server(conn, snapshot.server, utc(self.clock()), from_bot=True)
            repository.replace_roles(conn, guild_id, snapshot.roles)
            repository.replace_channels(conn, guild_id, snapshot.channels)

    def record_members(
        self, guild_id: int, members: Sequence[Member], *, complete: bool = False
    ) -> None:
        """Keep these members' names; ``complete``: they are all the server has, so members
        not among them left and are forgotten."""
        now = utc(self.clock())
        with self.engine.begin() as conn:
            repository.save_members(conn, guild_id, members, now)
            if complete:
                repository.drop_members_not_seen_since(conn, guild_id, now)

    def forget_member(self, guild_id: int, user_id: int) -> None:
        with self.engine.begin() as conn:
            repository.drop_member(conn, guild_id, user_id)

    def forget_server(self, guild_id: int) -> None:
        """The bot left the server: nothing of it is kept."""
        with self.engine.begin() as conn:
            repository.drop_server(conn, guild_id)

    def servers_described_by_bot(self) -> set[int]:
        """The servers the bot recorded and has not forgotten: those it was in when it last
        heard of them."""
        with self.engine.connect() as conn:
            return repository.servers_described_by_bot(conn)

    # --- written at a dashboard login --------------------------------------------------------

    def name_servers(self, servers: Collection[Server]) -> None:
        """Names and icons of servers from a member's own list at login (for those the bot
        serves); what the bot said of roles and permissions stays."""
        now = utc(self.clock())
        with self.engine.begin() as conn:
            for server in servers:
                repository.save_server(conn, server, now, from_bot=False)

    # --- read by the dashboard ---------------------------------------------------------------

    def server(self, guild_id: int) -> Server | None:
        with self.engine.connect() as conn:
            return repository.server(conn, guild_id)

    def server_names(self, guild_ids: Collection[int]) -> dict[int, str]:
        """Each server's name as Discord last told it, else as stored at setup (those with
        neither absent), in one query."""
        with self.engine.connect() as conn:
            return repository.server_names(conn, guild_ids)

    def roles(self, guild_id: int) -> list[Role]:
        """Highest first, as Discord lists them; @everyone last."""
        with self.engine.connect() as conn:
            return repository.roles(conn, guild_id)

    def channels(self, guild_id: int) -> list[Channel]:
        with self.engine.connect() as conn:
            return repository.channels(conn, guild_id)

    def postable_channels(self, guild_id: int) -> list[Channel]:
        """Text channels the bot may post in: what a channel picker offers."""
        return [c for c in self.channels(guild_id) if c.takes_posts]

    def member_names(self, guild_id: int, user_ids: Collection[int]) -> dict[int, str]:
        with self.engine.connect() as conn:
            return repository.member_names(conn, guild_id, user_ids)

    def member_avatars(self, guild_id: int, user_ids: Collection[int]) -> dict[int, str]:
        with self.engine.connect() as conn:
            return repository.member_avatars(conn, guild_id, user_ids)
