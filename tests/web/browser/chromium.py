"""Where Debian's chromium is and how it is started: for the browser tests and the bench's proof
check (benchmarks/proof_check.py). ``make test`` installs it (scripts/install-test-services.sh)."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
