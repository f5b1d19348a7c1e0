"""StreamKeeper started as ``make run`` starts it (``python -m core run``) in a child process on
127.0.0.1, its log in a file the test reads while it runs; stopped by its own PID with SIGTERM,
as a service manager stops it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.waiting import PROCESS_HANG_SECONDS

ROOT = Path(__file__).resolve().parents[2]
SETUP_LINE = re.compile(r"Set up StreamKeeper in your browser: (\S+)")


class AppProcess:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        """``env``: the settings (DATA_DIR, PORT, ...) on top of this process's PATH; ``workdir``
        has no .env, so only ``env`` configures the app."""
        self.log_path = workdir / "streamkeeper.log"
        keep = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
        full = {**keep, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "HOST": "127.0.0.1"}
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "core", "run"],
                env={**full, **env},
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def wait_for_setup_url(self, timeout: float = PROCESS_HANG_SECONDS) -> str:
        """The setup page's one-time link, as the log shows it to whoever ran ``make run``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = SETUP_LINE.search(self.log())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                raise AssertionError(
                    f"make run exited with {self.process.returncode}:\n{self.log()}"
                )
            time.sleep(0.2)
        raise AssertionError(f"no setup link in the log after {timeout:.0f} s:\n{self.log()}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM to this process only; its exit code (killed after ``timeout``: -9)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
