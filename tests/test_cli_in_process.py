"""``tests/support/cli.py`` runs ``python -m core`` commands in the test's process: what it
returns is what a process would give, and the test's process is left as it was."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tests.support.cli import run


def test_a_refused_command_line_exits_2_with_argparses_words(tmp_path: Path) -> None:
    result = run({"DATA_DIR": str(tmp_path / "data")}, "no-such-command", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'no-such-command'" in result.stderr
    assert result.stdout == ""


def test_the_environment_directory_and_logging_are_put_back(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = (dict(os.environ), Path.cwd(), root.handlers[:], root.level)
    noisy = logging.getLogger("httpx").level
    env = {"DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "DEBUG", "ONLY_HERE": "1"}

    result = run(env, "migrate", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout  # the command ran with its own environment
    assert (dict(os.environ), Path.cwd(), root.handlers[:], root.level) == before
    assert logging.getLogger("httpx").level == noisy  # configure_logging quiets it


def test_a_command_that_refuses_says_so_on_stderr_with_exit_2(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data")}
    result = run(env, "guild", "show", "123456789012345678", cwd=tmp_path)
    assert result.returncode == 2
    assert "is not set up" in result.stderr
