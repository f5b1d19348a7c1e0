"""Exit 0 when the database (and Redis, if configured) answer; otherwise print what is wrong."""

import sys

from core.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["health"]))
