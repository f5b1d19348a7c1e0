"""``python -m core <command>`` for the tests: run in this process, or as a real process.

``run`` calls the ``main(argv)`` that ``core/__main__.py`` calls, with its own environment,
working directory, standard output and error, and logging set-up, all put back afterwards: what
the command prints and returns is what a process would print and exit with. A process pays
about 1.3 s of CPU to import the app before the command starts; ``run`` pays the command. The
tests about the process itself (the serving commands, signals, ``python -m core`` as the entry
point) start one with ``run_process``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(env: Mapping[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command's exit code, standard output and standard error, as a process gives them."""
    from core.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with _as_a_process(env, cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's refusals, and a command's own exit
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                print(exc.code, file=sys.stderr)  # noqa: T201 - as the interpreter prints it
    return subprocess.CompletedProcess(
        ["python", "-m", "core", *args], code, out.getvalue(), err.getvalue()
    )


def run_process(
    env: Mapping[str, str], *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m core`` started as a process, with ``env`` as its whole environment."""
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        env={"PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def _as_a_process(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """``env`` as the whole environment and ``cwd`` as the working directory; the logging the
    command sets up (its handler, levels) is undone afterwards."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved_levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        root.handlers[:], level = saved_root
        root.setLevel(level)
        for name, logger in list(logging.root.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                logger.setLevel(saved_levels.get(name, logging.NOTSET))
