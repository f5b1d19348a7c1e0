"""``python -m core <command>``: the command line lives in core/cli/; this entry hands it the
composition root (core/runtime.py), which the command line never imports itself."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from core.cli import main as run_command
    from core.runtime import Runtime

    return run_command(argv, Runtime)


if __name__ == "__main__":
    sys.exit(main())
