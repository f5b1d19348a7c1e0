"""The command lists of README and the docs pages as data: every ``!command`` they name, and who
they say may use it.

Read from the places the pages state a permission: the command tables (a ``Who`` column, a
``(Manage Server)`` heading, the heist table's ``Where`` and "Manage Server:"), the Discord line
of docs/commands.md (before "for admins": everyone; after: Manage Server), the raffle's "for
viewers; ... for admins" sentence (docs/raffle.md) and the points' "for Manage Server" sentence
(docs/points.md). Every other ``!command`` in backticks is collected too, for its existence
alone. Code blocks are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EVERYONE = "everyone"
MANAGER = "Manage Server"

_TICKED = re.compile(r"`(![^`]+)`")

ROOT = Path(__file__).resolve().parents[2]
# Pages about the code rather than its users: they name commands only in passing.
_NOT_COMMAND_PAGES = {"architecture.md", "performance.md", "security.md", "dependencies.md"}


def command_pages() -> list[Path]:
    """README and the docs pages that list commands for users."""
    docs = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in _NOT_COMMAND_PAGES)
    return [ROOT / "README.md", *docs]


def command_docs() -> str:
    """The text of :func:`command_pages`, one after the other."""
    return "\n\n".join(page.read_text() for page in command_pages())


@dataclass(frozen=True)
class Mention:
    """``!words`` as the docs write them, and the permission they state there (None: none)."""

    text: str
    who: str | None
    chat: bool  # said of stream chat, not Discord
    where: str  # the line, for the failure message

    @property
    def words(self) -> list[str]:
        return self.text.lstrip("!").split()


def _prose(readme: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in readme.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table_cells(line: str) -> list[str]:
    # A ``|`` inside backticks is part of a command (``!tracking on|off``), not a column.
    protected = re.sub(r"`[^`]*`", lambda m: m.group(0).replace("|", "\0"), line)
    protected = protected.replace("\\\0", "\0")
    return [cell.replace("\0", "|") for cell in _cells(protected)]


def _tables(lines: list[str]) -> list[Mention]:
    found: list[Mention] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        is_table = line.lstrip().startswith("|") and index + 1 < len(lines)
        if not (is_table and re.fullmatch(r"\s*\|[\s|:-]+\|\s*", lines[index + 1])):
            index += 1
            continue
        header = [cell.lower() for cell in _table_cells(line)]
        index += 2
        rows = []
        while index < len(lines) and lines[index].lstrip().startswith("|"):
            rows.append(_table_cells(lines[index]))
            index += 1
        found += _table_mentions(header, rows)
    return found


def _table_mentions(header: list[str], rows: list[list[str]]) -> list[Mention]:
    command_column = next(
        (n for n, name in enumerate(header) if "command" in name or name.startswith("in ")),
        None,
    )
    if command_column is None:
        return []
    who_column = header.index("who") if "who" in header else None
    where_column = header.index("where") if "where" in header else None
    heading_manager = "manage server" in header[command_column]
    chat_table = header[command_column] == "in chat"
    mentions = []
    for row in rows:
        cell = row[command_column]
        chat = chat_table or (where_column is not None and row[where_column] == "chat")
        who: str | None
        if chat:
            who = None
        elif who_column is not None:
            who = MANAGER if row[who_column].startswith(MANAGER) else EVERYONE
            if row[who_column].startswith("anyone"):
                who = EVERYONE
        elif heading_manager:
            who = MANAGER
        elif where_column is not None:
            what = row[-1]
            who = MANAGER if what.startswith(f"{MANAGER}:") else EVERYONE
        else:
            who = None
        for text in _TICKED.findall(cell):
            mentions.append(Mention(text, who, chat, "| " + " | ".join(row) + " |"))
    return mentions


def _split_sentence(line: str, marker: str, before: str, after: str) -> list[Mention]:
    head, _, tail = line.partition(marker)
    return [Mention(t, before, False, line) for t in _TICKED.findall(head)] + [
        Mention(t, after, False, line) for t in _TICKED.findall(tail)
    ]


def _lists(lines: list[str]) -> list[Mention]:
    text = "\n".join(lines)
    found: list[Mention] = []
    # docs/commands.md: the Discord line (a bullet over several lines).
    discord = re.search(r"^- \*\*Discord\*\* \(with `DISCORD_TOKEN`\):(.*?)(?=^- \*\*)", text,
                        re.MULTILINE | re.DOTALL)  # fmt: skip
    assert discord is not None, "docs/commands.md has no Discord line"
    everyone_part, _, admin_part = discord.group(1).partition("for admins")
    admin_part = admin_part.split("(see below)")[0]  # "`!help` lists ..." follows
    found += [Mention(t, EVERYONE, False, "Discord line") for t in _TICKED.findall(everyone_part)]
    found += [Mention(t, MANAGER, False, "Discord line") for t in _TICKED.findall(admin_part)]
    # The raffle: "... for viewers; ... for admins (...); `!fair` shows a draw's proof".
    raffle = re.search(r"(`!tickets`[^.]*?for viewers;.*?shows a draw's proof)", text, re.DOTALL)
    assert raffle is not None, "docs/raffle.md has no 'for viewers; ... for admins' sentence"
    assert "for admins" in raffle.group(1)
    sentence = raffle.group(1).replace("\n", " ")
    viewers, _, rest = sentence.partition("for viewers;")
    admins, _, after = rest.partition("for admins")
    found += [Mention(t, EVERYONE, False, sentence) for t in _TICKED.findall(viewers)]
    found += [Mention(t, MANAGER, False, sentence) for t in _TICKED.findall(admins)]
    found += [Mention(t, EVERYONE, False, sentence) for t in _TICKED.findall(after)]
    # Points: "In Discord: ..., and for Manage Server ...".
    points = re.search(r"In Discord: (.*?)\. On the command", text, re.DOTALL)
    assert points is not None, "docs/points.md has no 'In Discord:' sentence"
    found += _split_sentence(points.group(1).replace("\n", " "), "for Manage Server", EVERYONE,
                             MANAGER)  # fmt: skip
    return found


def readme_mentions(readme: str) -> list[Mention]:
    """Every ``!command`` the text names: those with a stated permission first, then the rest."""
    lines = _prose(readme)
    stated = _tables(lines) + _lists(lines)
    seen = {m.text for m in stated}
    rest = [
        Mention(text, None, False, line)
        for line in lines
        for text in _TICKED.findall(line)
        if text not in seen
    ]
    return stated + rest
