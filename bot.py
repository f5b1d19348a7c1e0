"""The bot process: event pipeline, scheduler and Discord bot, without the web side."""

import sys

from core.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["bot"]))
