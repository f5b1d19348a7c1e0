"""Migrate the database to the newest schema. Safe to run again."""

import sys

from core.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["migrate"]))
