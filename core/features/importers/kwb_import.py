"""``import kick-watchtime-bot``: read the other bot's database, resolve its Kick names, and
write each Discord server's rows into the guild of the same id, one transaction per guild.

A dry run makes exactly the same writes in a transaction it then rolls back, so its counts
are the real run's (except for what one guild's import would change for the next: a link made
for one server is "already there" for the second only on a real run).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import utc
from core.features.guilds.repository import guild_exists
from core.features.importers import kwb_source, repository
from core.features.importers.errors import ImportProblem, RolledBack
from core.features.importers.kick_names import KickLookup, resolve
from core.features.importers.kwb_source import SOURCE, ServerData
from core.features.importers.kwb_writes import write_server
from core.features.importers.progress import Progress, bar_for
from core.features.importers.report import GuildReport


class KickWatchtimeBotImport:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        lookup_for: Callable[[int], KickLookup | None],
        progress: Callable[[int], Progress] | None = None,
    ) -> None:
        """``lookup_for(guild_id)``: Kick's API with that guild's token, or None (no token at
        hand: only names StreamKeeper already knows resolve)."""
        self.engine = engine
        self.clock = clock
        self.lookup_for = lookup_for
        self.progress = progress or bar_for("Asking Kick about names")
        self.not_guilds: list[int] = []  # servers of the source that are no guild here
        self.done: list[GuildReport] = []  # the reports of the guilds run() has finished
        self.importing: int | None = None  # the guild run() is importing, while it does

    async def run(
        self,
        source_url: str,
        *,
        guild_id: int | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> list[GuildReport]:
        """Import every server of the source that is a guild here (or only ``guild_id``).
        :class:`ImportProblem` for bad input, before anything is written."""
        servers = self._read(source_url, guild_id)
        for data in servers:
            self._check_no_run_pending(data.server_id, force)
        self.done = []
        for data in servers:
            self.importing = data.server_id
            self.done.append(await self._import(data, dry_run=dry_run, force=force))
        self.importing = None
        return list(self.done)

    def _read(self, source_url: str, guild_id: int | None) -> list[ServerData]:
        try:
            return self._read_servers(source_url, guild_id)
        # ArithmeticError: a server id of Infinity, or past what SQLite binds, in a retyped column.
        except (sa.exc.SQLAlchemyError, ValueError, TypeError, ArithmeticError) as exc:
            raise ImportProblem(
                "Could not read the kick-watchtime-bot database: "
                f"{first_line(exc)} (is it that bot's schema, unchanged?)"
            ) from None

    def _read_servers(self, source_url: str, guild_id: int | None) -> list[ServerData]:
        with kwb_source.connect(source_url) as source:
            kwb_source.check_schema(source)
            there = kwb_source.server_ids(source)
            if not there:  # no guild added here would change that
                raise ImportProblem(
                    "The kick-watchtime-bot database holds no Discord server's rows: nothing to "
                    "import (is --from that bot's database?)."
                )
            if guild_id is not None:
                if not self._is_guild(guild_id):
                    raise ImportProblem(
                        f"Guild {guild_id} does not exist in StreamKeeper: add it first "
                        "(python -m core guild add, or invite the bot and run !kick setup)."
                    )
                if guild_id not in there:
                    raise ImportProblem(
                        f"The kick-watchtime-bot database has no rows for server {guild_id}"
                        f" (it has: {_listed(there)})."
                    )
                wanted = [guild_id]
            else:
                wanted = [server for server in there if self._is_guild(server)]
                if not wanted:
                    raise ImportProblem(
                        "None of the servers in the kick-watchtime-bot database "
                        f"({_listed(there)}) is a guild in StreamKeeper: add the guild first, "
                        "or name one with --guild."
                    )
            # With --guild, the others that are guilds here were only not asked for.
            self.not_guilds = [
                server for server in there if server not in wanted and not self._is_guild(server)
            ]
            return [kwb_source.read_server(source, server) for server in wanted]

    def _is_guild(self, guild_id: int) -> bool:
        with self.engine.connect() as conn:
            return guild_exists(conn, guild_id)

    def _check_no_run_pending(self, guild_id: int, force: bool) -> None:
        with self.engine.connect() as conn:
            run = repository.find_run(conn, guild_id, SOURCE)
        if run is not None and run.status == "running" and not force:
            raise ImportProblem(
                f"An import into guild {guild_id} started at {run.started_at:%Y-%m-%d %H:%M} UTC "
                "did not finish: another import may still be running, or it stopped (what it "
                "did was rolled back). When none is running, run again with --force."
            )

    async def _import(self, data: ServerData, *, dry_run: bool, force: bool) -> GuildReport:
        guild_id = data.server_id
        lookup = self.lookup_for(guild_id)
        names = {row.username for row in data.watchtime}
        names |= {row.kick_name for row in data.links}
        names |= {row.kick_name for row in data.tickets}
        names |= {row.kick_name for row in data.winners}
        try:
            resolution = await resolve(self.engine, names, lookup, self.progress)
        finally:
            if lookup is not None:
                await lookup.aclose()
        report = GuildReport(guild_id, f"server {guild_id}")
        if lookup is None and resolution.unresolved:
            report.notes.append(
                "no Kick connection in this guild: only names StreamKeeper has seen in chat "
                "were resolved (connect Kick with !kick setup, then import again)"
            )
        now = utc(self.clock())
        if not dry_run:
            with self.engine.begin() as conn:
                claimed = repository.claim_run(conn, guild_id, SOURCE, now, force=force)
            if not claimed:
                self._check_no_run_pending(guild_id, force=False)  # says who has it
                raise ImportProblem(
                    f"Another import into guild {guild_id} has just finished; run again to "
                    "see that nothing is left to import."
                )
        try:
            with self.engine.begin() as conn:
                write_server(conn, data, resolution, report, now)
                if dry_run:
                    raise RolledBack
                repository.finish_run(conn, guild_id, SOURCE, utc(self.clock()))
        except RolledBack:
            pass
        except (sa.exc.SQLAlchemyError, OverflowError) as exc:
            # StreamKeeper's database refused a write: this guild is rolled back, the next
            # one is still imported.
            if not dry_run:
                with self.engine.begin() as conn:
                    repository.release_run(conn, guild_id, SOURCE, utc(self.clock()))
            failed = GuildReport(guild_id, report.source)
            failed.failure = f"{type(exc).__name__}: {first_line(exc)}"
            return failed
        except Exception:
            # Rolled back as well; the caller reports it. The next run needs no --force.
            if not dry_run:
                with self.engine.begin() as conn:
                    repository.release_run(conn, guild_id, SOURCE, utc(self.clock()))
            raise
        return report


def first_line(exc: Exception) -> str:
    """What went wrong, short, without SQL or parameters (they could hold names, never the
    URL: that is not part of these errors)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return text[:160]


def _listed(server_ids: list[int]) -> str:
    if not server_ids:
        return "none"
    shown = ", ".join(str(server) for server in server_ids[:5])
    return shown + (f" and {len(server_ids) - 5} more" if len(server_ids) > 5 else "")
