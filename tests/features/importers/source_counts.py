"""The check that an import's report adds up: for every table, imported + already there + left
out + set aside == the rows the source database has for that server, counted here in SQL with
no filter but the server (NULL names, other platforms and other periods included)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import sqlalchemy as sa

from core.features.importers.report import GuildReport
from core.storage.db import normalize_url

# The report's table -> the source's rows for a server (role tiers: its own, or the defaults
# when it has none, as the import reads them).
_COUNTS = {
    "watchtime": "SELECT count(*) FROM watchtime WHERE discord_server_id = :s",
    "links": "SELECT count(*) FROM links WHERE discord_server_id = :s",
    "role tiers": """SELECT CASE WHEN count(*) FILTER (WHERE discord_server_id = :s) > 0
                                 THEN count(*) FILTER (WHERE discord_server_id = :s)
                                 ELSE count(*) FILTER (WHERE discord_server_id IS NULL) END
                     FROM watchtime_roles""",
    "raffle tickets": "SELECT count(*) FROM raffle_tickets WHERE discord_server_id = :s",
    "raffle winners": "SELECT count(*) FROM raffle_draws WHERE discord_server_id = :s",
}
_LINE = re.compile(
    r"^  (?P<table>[a-z ]+?) +(?:imported|would import) (?P<imported>[\d,]+); "
    r"already there (?P<already>[\d,]+); left out (?P<skipped>[\d,]+)"
    r"(?P<aside>(?:; [a-z ]+ [\d,]+)*) \(of (?P<total>[\d,]+)\)$"
)


def source_rows(source_url: str, server_id: int) -> dict[str, int]:
    engine = sa.create_engine(normalize_url(source_url))
    try:
        with engine.connect() as conn:
            return {
                table: int(conn.execute(sa.text(query), {"s": server_id}).scalar_one())
                for table, query in _COUNTS.items()
            }
    finally:
        engine.dispose()


def assert_counts_add_up(reports: Mapping[int, GuildReport], source_url: str) -> None:
    """Each report's counts, table by table, against the source's rows for its server."""
    assert reports
    for guild_id, report in reports.items():
        counted = {table: count.total for table, count in report.counts.items()}
        assert counted == source_rows(source_url, guild_id), f"guild {guild_id}"


def printed_totals(stdout: str) -> dict[int, dict[str, int]]:
    """The counts ``import`` printed, per guild and table, each line checked to add up to the
    total it prints."""
    totals: dict[int, dict[str, int]] = {}
    guild: dict[str, int] = {}
    for line in stdout.splitlines():
        if heading := re.match(r"^Guild (\d+) \(from ", line):
            guild = totals.setdefault(int(heading.group(1)), {})
        elif match := _LINE.match(line):
            numbers = [int(match[name].replace(",", "")) for name in ("imported", "already",
                                                                     "skipped")]  # fmt: skip
            aside = [int(n.replace(",", "")) for n in re.findall(r" ([\d,]+)", match["aside"])]
            total = int(match["total"].replace(",", ""))
            assert sum(numbers) + sum(aside) == total, line
            guild[match["table"]] = total
    return totals


def assert_printed_counts_add_up(stdout: str, source_url: str) -> None:
    """What ``import`` printed (through the command line), against the source's rows."""
    totals = printed_totals(stdout)
    assert totals, stdout
    for guild_id, counted in totals.items():
        assert counted == source_rows(source_url, guild_id), f"guild {guild_id}:\n{stdout}"
