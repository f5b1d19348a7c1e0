"""The web side and the operator's setup checks stand beside the bot, not on it: they read what
the bot keeps in the database (the server directory, connection states) and word it themselves,
so a web worker of the split deployment, which has no Discord client, shows the same pages."""

from __future__ import annotations

from pathlib import Path

import core.setup
import core.web
from tests.storage.test_layers import imported_modules

BESIDE_THE_BOT = [Path(core.web.__file__).parent, Path(core.setup.__file__).parent]


def test_no_web_or_setup_module_imports_the_bot_or_discord_py() -> None:
    offenders = {
        str(path): sorted(
            name
            for name in imported_modules(path)
            if name.startswith("core.discord_bot") or name.split(".")[0] == "discord"
        )
        for root in BESIDE_THE_BOT
        for path in root.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
