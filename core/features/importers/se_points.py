"""``import streamelements-points``: a StreamElements channel's points leaderboard into a
guild's points ledger, one ledger row per viewer (source ``import``, reference
``streamelements:<channel>:id:<Twitch user id>``), in one transaction. The reference names the
viewer by user id, not login, so an import run again after a viewer's rename finds their row;
rows of an earlier StreamKeeper, referenced by login (``streamelements:<channel>:<login>``), are
found by the viewer they credited.

StreamElements keys points by Twitch login. A login becomes a Twitch user id when StreamKeeper
already knows exactly one Twitch viewer by it, or when Twitch's Helix says so (an app token,
where Twitch is configured); other rows are reported, never guessed. A guild whose points live
in StreamElements already (the StreamElements backend) has nothing to import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, Viewer, utc
from core.features.guilds.repository import guild_exists, list_guild_ids
from core.features.importers.errors import ImportProblem, RolledBack
from core.features.importers.forgotten import SE, hold_against_forgets
from core.features.importers.progress import Progress, bar_for
from core.features.importers.report import GuildReport
from core.features.importers.repository import forgotten_refs
from core.features.importers.se_owner import check_owner, twitch_channels_of
from core.features.importers.source_values import Unfit, shown, whole_number
from core.features.points.repository import PointsEntry, credit, has_entry_like
from core.features.points.se_jwt import ChannelOfJwt
from core.features.points.service import MAX_AMOUNT
from core.features.viewers.repository import find_viewer_ids_by_username, remember_sightings
from core.platforms.streamelements.api import (
    StreamElementsError,
    checked_channel_id,
)
from core.platforms.twitch.helix_transport import HelixError
from core.platforms.twitch.oauth_client import TwitchOAuthError

SOURCE = "import"  # the points ledger's source for imported balances
PAGE = 100
MAX_ENTRIES = 1_000_000
MAX_JWT_BYTES = 8192
_ADD_ONE = "python -m core guild add, or invite the bot and run !kick setup"


class Leaderboard(ChannelOfJwt, Protocol):
    async def leaderboard_page(
        self, channel_id: str, jwt: str, *, limit: int, offset: int
    ) -> tuple[int, list[tuple[str, int]]]: ...


TwitchIdsOf = Callable[[Collection[str]], Awaitable[Mapping[str, str]]]
"""Twitch logins -> user ids, as Helix answers (absent: no such user)."""


@dataclass
class LeaderboardRead:
    """What the leaderboard listed: ``entries`` read, in order; ``twice`` the logins listed
    again on a later page (the first balance stands); ``unread`` entries StreamElements
    counted (``_total``) that its pages did not hold in a readable form (a login that is no
    Twitch login, a balance that is not a whole number within 64 bits); ``beyond`` entries past
    :data:`MAX_ENTRIES`, not read at all."""

    entries: list[tuple[str, int]]
    twice: list[str]
    unread: int
    beyond: int


@dataclass(frozen=True)
class SeOutcome:
    report: GuildReport | None
    uses_streamelements: bool  # the guild's points live in StreamElements: nothing to do
    guild_id: int


def read_jwt(path: str) -> str:
    """The JWT from a file (so it never shows in a process list or shell history)."""
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_JWT_BYTES + 1)
    except OSError as exc:
        raise ImportProblem(f"Could not read the JWT file {path!r} ({exc.strerror}).") from None
    if len(raw) > MAX_JWT_BYTES:
        raise ImportProblem("The JWT file holds more than a JWT.")
    try:
        jwt = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ImportProblem("The JWT file holds something other than a JWT.") from None
    if not jwt or any(ch.isspace() or not ch.isprintable() for ch in jwt):
        raise ImportProblem("The JWT file is empty or holds more than one line.")
    return jwt


class StreamElementsPointsImport:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        client: Leaderboard,
        backend_of: Callable[[int], str],
        guilds_on_channel: Callable[[str], list[int]],
        twitch_ids_of: TwitchIdsOf | None,
        progress: Callable[[int], Progress] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.client = client
        self.backend_of = backend_of
        self.guilds_on_channel = guilds_on_channel
        self.twitch_ids_of = twitch_ids_of
        self.progress = progress or bar_for("Reading the StreamElements leaderboard")

    async def run(
        self,
        guild_id: int | None,
        channel: str,
        jwt: str,
        *,
        dry_run: bool = False,
        unchecked: bool = False,
    ) -> SeOutcome:
        """``guild_id`` None: the guild on this StreamElements channel (nothing to do), or the
        only guild there is. The channel must be the guild's streamer's (:mod:`.se_owner`),
        unless ``unchecked``."""
        try:
            channel_id = checked_channel_id(channel)
        except ValueError as exc:
            raise ImportProblem(f"--channel: {exc}.") from None
        if guild_id is None:
            on_channel = self.guilds_on_channel(channel_id)
            if on_channel:
                return SeOutcome(None, uses_streamelements=True, guild_id=on_channel[0])
            guild_id = self._only_guild()
        with self.engine.connect() as conn:
            if not guild_exists(conn, guild_id):
                raise ImportProblem(
                    f"Guild {guild_id} does not exist in StreamKeeper: add it first ({_ADD_ONE})."
                )
            streamer = twitch_channels_of(conn, guild_id)
        if self.backend_of(guild_id) == "streamelements":
            return SeOutcome(None, uses_streamelements=True, guild_id=guild_id)
        if not unchecked:
            await check_owner(self.client, guild_id, streamer, channel_id, jwt)
        board = await self._read(channel_id, jwt)
        ids = await self._resolve([name for name, _ in board.entries])
        report = GuildReport(guild_id, f"StreamElements channel {channel_id}")
        now = utc(self.clock())
        try:
            with self.engine.begin() as conn:
                hold_against_forgets(conn)
                remember_sightings(
                    conn, ((Platform.TWITCH, Viewer(i, n), now) for n, i in ids.items())
                )
                self._write(conn, guild_id, channel_id, board, ids, report, now)
                if dry_run:
                    raise RolledBack
        except RolledBack:
            pass
        return SeOutcome(report, uses_streamelements=False, guild_id=guild_id)

    def _only_guild(self) -> int:
        with self.engine.connect() as conn:
            guild_ids = list_guild_ids(conn)
        if not guild_ids:
            raise ImportProblem(
                "StreamKeeper has no guild yet: add the one that gets the points first "
                f"({_ADD_ONE})."
            )
        if len(guild_ids) != 1:
            raise ImportProblem(
                f"Say which guild gets the points: --guild <id> (StreamKeeper has "
                f"{len(guild_ids)} guilds)."
            )
        return guild_ids[0]

    @staticmethod
    def _write(
        conn: Connection,
        guild_id: int,
        channel_id: str,
        board: LeaderboardRead,
        ids: Mapping[str, str],
        report: GuildReport,
        now: datetime,
    ) -> None:
        """Every entry StreamElements counted ends up in one count: credited, credited before,
        left out (a problem line each, or one for the unreadable ones), or a zero balance."""
        count = report.count("points")
        _report_unread(report, board)
        forgotten = forgotten_refs(conn, guild_id, SE)  # importers/forgotten.py
        for name, points in board.entries:
            if points == 0:
                count.aside["zero balance"] += 1
                continue
            try:
                whole_number(points, "the balance", high=MAX_AMOUNT)
            except Unfit as unfit:
                report.problem("points", f"{shown(name)}: {unfit}; left out")
                continue
            user_id = ids.get(name)
            if user_id is None:
                report.problem("points", f"'{name}' ({points:,}): no Twitch user by this login")
                continue
            channel_refs = f"{SE}:{channel_id}:"
            if {f"{channel_refs}id:{user_id}", f"{channel_refs}{name}"} & forgotten:
                count.forgotten += 1  # forgotten since an earlier import: never again
                continue
            entry = PointsEntry(
                guild_id,
                Platform.TWITCH,
                user_id,
                points,
                SOURCE,
                f"{channel_refs}id:{user_id}",
                now,
                actor="import",
                reason="StreamElements balance",
            )
            if has_entry_like(conn, guild_id, Platform.TWITCH, user_id, SOURCE, channel_refs):
                count.already += 1  # this viewer's balance, under this login or an earlier one
            elif credit(conn, entry) is None:
                count.already += 1
            else:
                count.imported += 1

    async def _read(self, channel_id: str, jwt: str) -> LeaderboardRead:
        """Page by page, ``PAGE`` places at a time (a page's unreadable entries are not in
        ``page``, so the next offset is counted in places, not in entries read)."""
        entries: dict[str, int] = {}
        twice: list[str] = []
        try:
            total, page = await self.client.leaderboard_page(channel_id, jwt, limit=PAGE, offset=0)
            listed = max(min(total, MAX_ENTRIES), 0)
            bar = self.progress(listed)
            offset = 0
            try:
                while page:
                    for name, points in page:
                        if name in entries:  # pages moved while read: the first balance
                            twice.append(name)
                        else:
                            entries[name] = points
                    bar.advance(len(page))
                    offset += PAGE
                    if offset >= listed:
                        break
                    _, page = await self.client.leaderboard_page(
                        channel_id, jwt, limit=PAGE, offset=offset
                    )
            finally:
                bar.close()
        except StreamElementsError as exc:
            raise ImportProblem(f"Could not read the leaderboard: {exc}.") from None
        unread = max(listed - len(entries) - len(twice), 0)
        return LeaderboardRead(list(entries.items()), twice, unread, max(total - listed, 0))

    async def _resolve(self, logins: list[str]) -> dict[str, str]:
        ids: dict[str, str] = {}
        ask: list[str] = []
        with self.engine.connect() as conn:
            for login in logins:
                known = find_viewer_ids_by_username(conn, Platform.TWITCH, login)
                if len(known) == 1:
                    ids[login] = known[0]
                else:
                    ask.append(login)
        if ask and self.twitch_ids_of is not None:
            try:
                ids.update(await self.twitch_ids_of(ask))
            except HelixError as exc:
                raise ImportProblem(f"Twitch did not say who these logins are ({exc}).") from None
            except TwitchOAuthError as exc:  # no app token to ask Helix with
                raise ImportProblem(
                    f"Twitch did not give StreamKeeper a token to ask who these logins are "
                    f"({exc}); nothing was imported, run the import again later."
                ) from None
        return ids


def _report_unread(report: GuildReport, board: LeaderboardRead) -> None:
    for name in board.twice:
        report.problem("points", f"{shown(name)} is listed twice; the first balance was read")
    if board.unread:
        report.count("points").skipped += board.unread
        entries = "1 entry" if board.unread == 1 else f"{board.unread:,} entries"
        report.problems.append(
            f"points: {entries} StreamElements listed could not be read (a login that is not a "
            "Twitch login, or a balance that is not a whole number); left out"
        )
    if board.beyond:
        report.count("points").skipped += board.beyond
        report.problems.append(
            f"points: only the first {MAX_ENTRIES:,} entries are read; {board.beyond:,} more "
            "were left out"
        )
