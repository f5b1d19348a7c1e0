"""Everything in one process: web, event pipeline, scheduler and Discord bot."""

import sys

from core.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["run"]))
