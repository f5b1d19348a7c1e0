"""The docs describe today's tree: README and docs/ keep their length, carry no work-log prose
(internal work numbers, earlier machines) and the pages no story of the work ("previously"), and
every repository path they or a docstring or comment under core/ name exists; relative links
between the pages resolve, to a section that is there; every ``python -m core`` command has its
row in docs/reference.md with all its options, and every one the pages name exists with the
options they give it; every ``make`` target they name exists.

A path is what a reader would open: ``core/...``, ``tests/...``, ``docs/...``, ``scripts/...`` or
``benchmarks/...`` ending in a file of a kind the tree holds or in a folder's ``/``. The one
walk-through in docs/architecture.md that adds a made-up feature names its files on purpose;
those are :data:`EXAMPLE_NAMES`.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# The pages that describe the software as it is (the changelog also tells what it was).
DOC_PAGES = [page for page in PAGES if page.name != "CHANGELOG.md"]

MAX_LINES = {"README.md": 250, "docs/performance.md": 300}

# Prose that belongs to a work log, not to a description of the code as it is.
WORK_LOG = [
    re.compile(r"\bissues? #?\d+\b", re.IGNORECASE),
    re.compile(r"\bfc\d+\b", re.IGNORECASE),
    re.compile(r"\bstops? \d+\b", re.IGNORECASE),
    re.compile(r"\bheld[- ]out\b", re.IGNORECASE),
    re.compile(r"\bthis (?:session|stop|branch)\b", re.IGNORECASE),
    re.compile(r"\b(?:faster|slower|earlier|previous|another) (?:VM|machine)\b", re.IGNORECASE),
    re.compile(r"\bprevious engineer", re.IGNORECASE),
    re.compile(r"\bbranch `[\w-]+`"),
]

# How the software came to be (the changelog's business, not a page's): "previously", "we fixed",
# "it now says". The changelog itself may say what now differs.
STORY = [
    re.compile(r"\b(?:previously|formerly)\b", re.IGNORECASE),
    re.compile(r"\bwe (?:changed|fixed|added|moved|removed|rewrote|replaced)\b", re.IGNORECASE),
    re.compile(r"\bused to (?:be|do|say|count|show|work)\b", re.IGNORECASE),
    re.compile(r"\bnow (?:does|says|counts|shows|works)\b", re.IGNORECASE),
]

PATH = re.compile(
    r"(?<![\w/.~$<-])"  # not the tail of a longer path, a home folder or a variable
    r"((?:core|tests|docs|scripts|benchmarks)/[\w./-]*?(?:\.(?:py|md|sql|js|html|css)|/))"
    r"(?![\w-])"
)
EXAMPLE_NAMES = {"polls"}  # docs/architecture.md's "How to add a feature"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def named_paths(text: str) -> list[str]:
    """The repository paths ``text`` names, made-up examples left out."""
    return [
        path
        for path in PATH.findall(text)
        if not EXAMPLE_NAMES & {Path(part).stem for part in path.split("/")}
    ]


def prose(page: Path) -> str:
    """The page without its fenced code blocks (commands and configuration, not sentences)."""
    return re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)


def code_blocks(page: Path) -> str:
    """The page's fenced code blocks, one after the other."""
    return "\n".join(re.findall(r"^```.*?^```", page.read_text(), flags=re.MULTILINE | re.DOTALL))


def docstrings_and_comments(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and every module, class and function docstring."""
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                found.append((node.body[0].lineno, docstring))
    return found


def test_patterns_catch_work_log_prose_and_leave_descriptions_alone() -> None:
    def caught(text: str) -> bool:
        return any(pattern.search(text) for pattern in WORK_LOG)

    for line in ("as issue 26 asked", "before (fc14, stop 38)", "the held-out run",
                 "measured this session", "on a faster VM", "the previous engineer's runs",
                 "branch `earn`"):  # fmt: skip
        assert caught(line), line
    for line in ("the signature of round 12040883", "a stop of the bot", "VIP for some hours",
                 "the machine's own speed", "Stop every StreamKeeper process."):  # fmt: skip
        assert not caught(line), line


def test_story_patterns_catch_the_history_of_the_work_and_leave_descriptions_alone() -> None:
    def caught(text: str) -> bool:
        return any(pattern.search(text) for pattern in STORY)

    for line in ("Previously the bot polled", "we fixed the draw", "it used to count twice",
                 "the page now says who"):  # fmt: skip
        assert caught(line), line
    for line in ("who is VIP now", "tracked from now on", "the bot no longer answers",
                 "a used token", "the fix, in one line"):  # fmt: skip
        assert not caught(line), line


def test_path_pattern_finds_paths_and_skips_what_is_not_one() -> None:
    text = (
        "see `core/web/server.py`, tests/fakes/ and docs/raffle.md's rules; not "
        "src/core/x.py, ~/core/x.py, $HOME/core/, core/features/<feature>/ only to its folder, "
        "core/features/polls/ (an example)"
    )
    assert named_paths(text) == [
        "core/web/server.py", "tests/fakes/", "docs/raffle.md", "core/features/"
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(MAX_LINES))
def test_page_stays_short(name: str) -> None:
    lines = len((ROOT / name).read_text().splitlines())
    assert lines <= MAX_LINES[name], f"{name} has {lines} lines (at most {MAX_LINES[name]})"


def test_no_work_log_prose_in_the_docs() -> None:
    hits = [
        f"{page.relative_to(ROOT)}:{number}: {match.group(0)!r}"
        for page in PAGES
        for number, line in enumerate(page.read_text().splitlines(), 1)
        for pattern in WORK_LOG
        for match in pattern.finditer(line)
    ]
    assert not hits, "\n".join(hits)


def test_no_story_of_the_work_on_the_pages() -> None:
    hits = [
        f"{page.relative_to(ROOT)}:{number}: {match.group(0)!r}"
        for page in DOC_PAGES
        for number, line in enumerate(page.read_text().splitlines(), 1)
        for pattern in STORY
        for match in pattern.finditer(line)
    ]
    assert not hits, "\n".join(hits)


def test_every_path_the_docs_name_exists() -> None:
    missing = [
        f"{page.relative_to(ROOT)}:{number}: {path}"
        for page in PAGES
        for number, line in enumerate(page.read_text().splitlines(), 1)
        for path in named_paths(line)
        if not (ROOT / path).exists()
    ]
    assert not missing, "\n".join(missing)


def test_no_page_sends_the_reader_to_notes_outside_the_repository() -> None:
    """The design notes the project started from are not part of a clone: a page that names
    them sends its reader nowhere."""
    outside = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for page in PAGES
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if re.search(r"\bshared/(?:platforms|DESIGN|STYLE)", line)
    ]
    assert not outside, "\n".join(outside)


def test_every_path_a_docstring_or_comment_under_core_names_exists() -> None:
    missing = [
        f"{module.relative_to(ROOT)}:{number}: {path}"
        for module in sorted((ROOT / "core").rglob("*.py"))
        for number, text in docstrings_and_comments(module.read_text())
        for path in named_paths(text)
        if not (ROOT / path).exists()
    ]
    assert not missing, "\n".join(missing)


def test_relative_links_between_pages_resolve() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in PAGES
        for target in LINK.findall(prose(page))
        if not target.startswith(("http://", "https://", "mailto:", "#"))
        and not (page.parent / target.split("#")[0]).exists()
    ]
    assert not broken, "\n".join(broken)


def anchors(page: Path) -> set[str]:
    """The ``#fragment`` each heading of ``page`` gets (as GitHub makes them: lower case, spaces
    to hyphens, punctuation dropped, ``-1`` on a repeat), and each ``<a id="...">``."""
    found, seen = set(), dict[str, int]()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(page), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found | set(re.findall(r'<a id="([^"]+)"', page.read_text()))


def test_links_to_a_section_find_it() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in PAGES
        for target in LINK.findall(prose(page))
        if "#" in target and not target.startswith(("http://", "https://"))
        for file, fragment in [target.split("#", 1)]
        if (page.parent / file if file else page).suffix == ".md"
        and fragment not in anchors(page.parent / file if file else page)
    ]
    assert not broken, "\n".join(broken)


def make_targets() -> set[str]:
    """The targets the Makefile defines (``run``, ``test``, ...), variables left out."""
    makefile = (ROOT / "Makefile").read_text()
    rules = re.findall(r"^([A-Za-z][\w .-]*?):(?!=)", makefile, re.MULTILINE)
    return {target for rule in rules for target in rule.split()}


def test_every_make_target_the_docs_name_exists() -> None:
    """``make x`` in backticks or at the start of a line of a code block."""
    named = {
        f"{page.relative_to(ROOT)}: make {target}"
        for page in DOC_PAGES
        for target in re.findall(r"`make ([\w-]+)", page.read_text())
        + re.findall(r"^\s*make ([\w-]+)", code_blocks(page), re.MULTILINE)
    }
    assert len(named) > 20  # the patterns found the pages' make commands
    missing = sorted(name for name in named if name.split()[-1] not in make_targets())
    assert not missing, "\n".join(missing)


def test_every_make_target_is_in_the_reference() -> None:
    reference = (ROOT / "docs" / "reference.md").read_text()
    missing = sorted(t for t in make_targets() if f"`make {t}`" not in reference)
    assert not missing, f"make targets not in docs/reference.md: {missing}"


def command_line() -> dict[str, argparse.ArgumentParser]:
    """Every ``python -m core`` command and subcommand by its words (``"vip rule add"``)."""
    from core.cli import build_parser

    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, words: str) -> None:
        if words:
            found[words] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{words} {name}".strip())

    walk(build_parser(), "")
    return found


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def is_leaf(parser: argparse.ArgumentParser) -> bool:
    return not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


def test_every_command_line_command_and_option_is_in_the_reference() -> None:
    """Each command's row (``| `guild add <guild_id> --kick-channel ...` |``) names every option
    it takes, and no option it does not."""
    reference = (ROOT / "docs" / "reference.md").read_text()
    cells = re.findall(r"^\| `([^`]*)`", reference, re.MULTILINE)
    commands = command_line()
    assert len(commands) >= 20  # run, bot, web, ..., guild add, vip rule add, ...
    problems = []
    for words, parser in commands.items():
        if not is_leaf(parser):
            continue
        rows = [cell for cell in cells if cell == words or cell.startswith(f"{words} ")]
        documented = set(re.findall(r"--[a-z][\w-]*", " ".join(rows)))
        if not rows:
            problems.append(f"python -m core {words}: no row")
        elif options(parser) - documented:
            problems.append(f"python -m core {words}: {sorted(options(parser) - documented)}")
        if documented - options(parser):
            problems.append(f"python -m core {words} has no {sorted(documented - options(parser))}")
    assert not problems, "\n".join(problems)


def test_every_python_m_core_the_docs_name_exists_with_its_options() -> None:
    commands = command_line()
    mentions = [
        (page, number, match.group(1))
        for page in DOC_PAGES
        for number, line in enumerate(page.read_text().splitlines(), 1)
        for match in re.finditer(r"python -m core (?!<command>)([^`|#\n]*)", line)
    ]
    assert len(mentions) > 50  # the pattern found them
    problems = []
    for page, number, text in mentions:
        words = text.split()
        path = ""
        while words and f"{path} {words[0]}".strip() in commands:
            path = f"{path} {words.pop(0)}".strip()
        where = f"{page.relative_to(ROOT)}:{number}: python -m core {text.strip()}"
        if not path:
            problems.append(f"{where}: no such command")
            continue
        unknown = set(re.findall(r"--[a-z][\w-]*", " ".join(words))) - options(commands[path])
        if unknown:
            problems.append(f"{where}: no {sorted(unknown)}")
    assert not problems, "\n".join(problems)


def test_a_docker_run_with_a_copy_of_env_example_listens_where_the_image_does() -> None:
    """``docker run --env-file .env`` puts every value of ``.env`` (a copy of .env.example)
    over the image's own ``ENV``: where the two differ (``HOST=127.0.0.1`` inside a container
    answers no published port), the page's command sets the image's value back with ``-e``."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    workdir = Path(re.search(r"^WORKDIR (\S+)", dockerfile, re.MULTILINE).group(1))
    env_block = re.search(r"^ENV (.*?)^\S", dockerfile, re.MULTILINE | re.DOTALL).group(1)
    image = dict(re.findall(r"\b([A-Z_]+)=(\S+)", env_block))
    example = dict(re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))
    # Compared as the container reads them: DATA_DIR=data is the image's /app/data.
    differing = {
        name: value
        for name, value in image.items()
        if name in example and workdir / example[name] != workdir / value
    }
    assert "HOST" in image
    runs = [
        (page, line)
        for page in DOC_PAGES
        for line in re.findall(r"^docker run .*$", code_blocks(page), re.MULTILINE)
        if "--env-file .env" in line
    ]
    assert runs  # the pattern found docs/deploy.md's
    wrong = [
        f"{page.relative_to(ROOT)}: {line}: needs -e {name}={value}"
        for page, line in runs
        for name, value in differing.items()
        if f"-e {name}={value}" not in line
    ]
    assert not wrong, "\n".join(wrong)
