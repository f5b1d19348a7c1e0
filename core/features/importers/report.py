"""What an import did (or, on a dry run, would do), per guild and table, in plain lines."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PROBLEMS_SHOWN = 10


@dataclass
class Count:
    """One table's numbers: rows written, rows already there from before, rows left out (each
    with a problem line, or one line for a batch), and rows not for import by design by reason
    (``aside``: another platform's links, rows of no tickets), and rows of people forgotten
    since an earlier import (``privacy forget``: importers/forgotten.py), skipped. Every source
    row is in one."""

    imported: int = 0
    already: int = 0
    skipped: int = 0
    aside: Counter[str] = field(default_factory=Counter)
    forgotten: int = 0

    @property
    def total(self) -> int:
        """The source rows this count covers."""
        return self.imported + self.already + self.skipped + self.aside.total() + self.forgotten


@dataclass
class GuildReport:
    guild_id: int
    source: str  # where the rows came from, e.g. "server 123" or "channel 5b2e..."
    counts: dict[str, Count] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failure: str | None = None  # writing failed: nothing was written for this guild

    def count(self, table: str) -> Count:
        return self.counts.setdefault(table, Count())

    def problem(self, table: str, text: str) -> None:
        self.count(table).skipped += 1
        self.problems.append(f"{table}: {text}")

    @property
    def changes(self) -> int:
        return sum(count.imported for count in self.counts.values())


def render(reports: list[GuildReport], *, dry_run: bool) -> list[str]:
    """The lines printed after an import (or a dry run: the same counts, as "would")."""
    verb = "would import" if dry_run else "imported"
    lines: list[str] = []
    for report in reports:
        lines.append(f"Guild {report.guild_id} (from {report.source}):")
        if report.failure is not None:
            lines.append(
                f"  not imported: writing to StreamKeeper's database failed ({report.failure}); "
                "nothing was written for this guild"
            )
            continue
        for table, count in report.counts.items():
            aside = "".join(f"; {reason} {n:,}" for reason, n in sorted(count.aside.items()))
            if count.forgotten:
                aside = f"; skipped as forgotten {count.forgotten:,}{aside}"
            lines.append(
                f"  {table:<16} {verb} {count.imported:,}; already there {count.already:,}; "
                f"left out {count.skipped:,}{aside} (of {count.total:,})"
            )
        lines.extend(f"  {note}" for note in report.notes)
        if report.problems:
            shown = report.problems[:PROBLEMS_SHOWN]
            more = len(report.problems) - len(shown)
            lines.append(
                f"  problems ({len(report.problems):,}"
                + (f", first {len(shown)}" if more else "")
                + "):"
            )
            lines.extend(f"    - {problem}" for problem in shown)
        if not dry_run and report.changes == 0:
            lines.append("  nothing changed (everything was imported before, or left out)")
    if dry_run:
        lines.append("Dry run: nothing was written.")
    return lines
