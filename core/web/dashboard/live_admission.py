"""Who may open one more live stream: caps per overlay link, per server (guild) and per client
address, inside the process's bound, so that one server can never take another's capacity.
These are the process's own counts; with Redis the same caps are also counted across every web
process (:mod:`core.web.dashboard.live_shared_caps`).

Every open stream holds a :class:`Ticket` naming the guilds it carries, the overlay tokens it
serves and the client address it came from. A stream is refused (:class:`Refusal`, answered 429
with ``Retry-After``) when it would pass any cap. When the process is at its bound, a stream of
a guild holding less than its fair share (the bound divided among the guilds with streams open,
the newcomer's included) ends the newest stream of the guild holding the most instead of being
refused: however many streams one server's link opens, every other server gets its share.

A browser's shared connection (static live-link.js) names itself with a connection id; a new
stream with the same client address and id replaces the old one at once (it ended its
EventSource to add a subscription), instead of that one holding its place until its next
heartbeat finds the socket closed.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

REFUSED_RETRY_SECONDS = 15
OVERLAY_FULL = "This overlay link has as many live connections open as it may."
SERVER_FULL = "This server has as many live connections open as it may."
CLIENT_FULL = "Your address has as many live connections open as it may."


@dataclass(frozen=True)
class LiveCaps:
    """The bounds on open streams (each a setting: core/config.py, docs/configuration.md)."""

    process: int = 100  # LIVE_MAX_STREAMS
    per_overlay: int = 5  # LIVE_MAX_STREAMS_PER_OVERLAY: one overlay link (token)
    per_guild: int = 20  # LIVE_MAX_STREAMS_PER_SERVER
    per_client: int = 10  # LIVE_MAX_STREAMS_PER_CLIENT: one client address


@dataclass(eq=False)
class Ticket:
    """One admitted stream's place; ``ended`` tells its stream to stop (replaced or displaced)."""

    guilds: frozenset[int]
    tokens: frozenset[str] = field(repr=False)  # overlay links' secrets
    client: str
    connection: str | None
    number: int
    ended: bool = field(default=False)


@dataclass(frozen=True)
class Refusal:
    """Why a stream was not admitted, in words a page can show, and when to try again."""

    reason: str
    retry_after: int = REFUSED_RETRY_SECONDS


class Admissions:
    """The open streams' tickets and counts. Not locked itself: the hub calls it under its lock."""

    def __init__(self, caps: LiveCaps) -> None:
        self.caps = caps
        self._open: set[Ticket] = set()
        self._by_guild: Counter[int] = Counter()
        self._by_token: Counter[str] = Counter()
        self._by_client: Counter[str] = Counter()
        self._numbers = itertools.count(1)
        self._ended: list[Ticket] = []  # ended by admit (replaced, displaced), not yet told

    def __len__(self) -> int:
        return len(self._open)

    def count(self, guild_id: int) -> int:
        return self._by_guild[guild_id]

    def admit(
        self,
        guilds: frozenset[int],
        tokens: frozenset[str],
        client: str,
        connection: str | None = None,
    ) -> Ticket | Refusal:
        """A ticket for a new stream, or why not. Tickets it ends (replaced, or displaced for a
        fairer share) have ``ended`` set; the caller wakes their streams."""
        if connection is not None:
            for old in [t for t in self._open if (t.client, t.connection) == (client, connection)]:
                self._remove(old)
                self._ended.append(old)
        for token in tokens:
            if self._by_token[token] >= self.caps.per_overlay:
                return Refusal(OVERLAY_FULL)
        for guild_id in guilds:
            if self._by_guild[guild_id] >= self.caps.per_guild:
                return Refusal(SERVER_FULL)
        if self._by_client[client] >= self.caps.per_client:
            return Refusal(CLIENT_FULL)
        if len(self._open) >= self.caps.process and not self._make_room(guilds):
            return Refusal("The dashboard has as many live connections open as it may.")
        ticket = Ticket(guilds, tokens, client, connection, next(self._numbers))
        self._open.add(ticket)
        self._by_guild.update(guilds)
        self._by_token.update(tokens)
        self._by_client[client] += 1
        return ticket

    def take_ended(self) -> list[Ticket]:
        """The tickets :meth:`admit` ended since the last call (their places are free here
        now; the caller frees them wherever else they are counted)."""
        ended, self._ended = self._ended, []
        return ended

    def release(self, ticket: Ticket) -> None:
        """The stream ended (a ticket already taken back is left alone)."""
        if ticket in self._open:
            self._remove(ticket)

    def end_all(self) -> None:
        for ticket in list(self._open):
            ticket.ended = True

    def _make_room(self, guilds: frozenset[int]) -> bool:
        """End the newest stream of the guild holding the most, when every guild of the newcomer
        holds less than its fair share and that guild more; False when the newcomer must wait."""
        if not guilds:
            return False
        holding = {g for g, n in self._by_guild.items() if n > 0} | set(guilds)
        fair = max(1, self.caps.process // len(holding))
        if any(self._by_guild[g] >= fair for g in guilds):
            return False
        biggest = max(self._by_guild, key=lambda g: (self._by_guild[g], -g))
        if self._by_guild[biggest] <= fair:
            return False
        victims = [t for t in self._open if biggest in t.guilds and not (t.guilds & guilds)]
        if not victims:
            return False
        victim = max(victims, key=lambda t: t.number)
        self._remove(victim)
        self._ended.append(victim)
        return True

    def _remove(self, ticket: Ticket) -> None:
        ticket.ended = True
        self._open.discard(ticket)
        self._by_guild.subtract(ticket.guilds)
        self._by_token.subtract(ticket.tokens)
        self._by_client[ticket.client] -= 1
        for counter in (self._by_guild, self._by_token, self._by_client):
            for key in [k for k, n in counter.items() if n <= 0]:
                del counter[key]
