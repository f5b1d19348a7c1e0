"""``python -m core guild show`` of a server that removed the bot says so, with the date and
that inviting the bot again resumes; a guild only added from the shell says nothing of it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from core.features.guilds.service import GuildService
from tests.support.fake_apps import apps_knowing
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture

REMOVED_AT = datetime(2030, 6, 1, 20, 15, tzinfo=UTC)


def test_guild_show_says_the_bot_was_removed_and_how_to_resume(cli_env):  # noqa: F811
    with apps_knowing(cli_env, kick=("streamer", "4242")) as checking:
        added = cli(checking, "guild", "add", GUILD, "--kick-channel", "streamer",
                    "--kick-broadcaster-id", "4242")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "removed" not in added.stdout  # set up from the shell: never "left"
    engine = sa.create_engine(f"sqlite:///{Path(cli_env['DATA_DIR']) / 'streamkeeper.sqlite3'}")
    GuildService(engine, lambda: REMOVED_AT).mark_left(int(GUILD))  # what on_guild_remove does
    engine.dispose()

    shown = cli(cli_env, "guild", "show", GUILD)

    assert shown.returncode == 0, shown.stderr
    assert "kick: streamer (broadcaster id 4242)" in shown.stdout
    assert (
        "The bot was removed from this Discord server on 2030-06-01 20:15 UTC: its chat "
        "commands, rewards and events are not acted on. Inviting the bot to the server again "
        "resumes them."
    ) in " ".join(shown.stdout.split())
