"""``python -m core import ...`` as an operator runs it: the counts on standard output, bad input
as one line on standard error with exit code 2 and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.importers.kwb_rows import SERVER_A, SERVER_C
from tests.test_cli import cli


def assert_refused(result, words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_dry_run_and_the_import_print_the_same_counts(env, source_url):
    dry = cli(env, "import", "kick-watchtime-bot", "--from", source_url, "--guild",
              str(SERVER_A), "--dry-run")  # fmt: skip
    real = cli(env, "import", "kick-watchtime-bot", "--from", source_url, "--guild",
               str(SERVER_A))  # fmt: skip
    again = cli(env, "import", "kick-watchtime-bot", "--from", source_url, "--guild",
                str(SERVER_A))  # fmt: skip

    assert dry.returncode == 0, dry.stderr
    assert real.returncode == 0, real.stderr
    # Without a Kick connection only bob (seen in chat here) resolves.
    assert "  watchtime        would import 1; already there 0; left out 6" in dry.stdout
    assert "Dry run: nothing was written." in dry.stdout
    assert "  watchtime        imported 1; already there 0; left out 6" in real.stdout
    assert "no Kick connection in this guild" in real.stdout
    assert "problems (" in real.stdout
    assert "  watchtime        imported 0; already there 1; left out 6" in again.stdout
    assert "nothing changed" in again.stdout
    assert source_url.rsplit("@", 1)[0] not in real.stdout + real.stderr  # no credentials
    exported = cli(env, "export", "--guild", str(SERVER_A), "--what", "imported-winners",
                   "--format", "json")  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == [
        {
            "source_ref": "raffle_draws:1",
            "drawn_at": "2026-09-01T00:05:00+00:00",
            "period_starts_at": "2026-08-01T00:00:00+00:00",
            "period_ends_at": "2026-08-31T23:59:00+00:00",
            "username": "Alice_W",
            "platform_user_id": None,  # no Kick connection: kept by name only
            "discord_user_id": 9001,
            "tickets": 80,
            "prize": "$50 gift card",
        }
    ]


def test_an_unreachable_database_is_one_line_and_exit_2(env):
    result = cli(env, "import", "kick-watchtime-bot", "--from",
                 "postgresql://someone:hunter22@127.0.0.1:1/gone")  # fmt: skip
    assert_refused(result, "Could not connect to the kick-watchtime-bot database")
    assert "hunter22" not in result.stderr


def test_a_guild_that_does_not_exist_is_one_line_and_exit_2(env, source_url):
    result = cli(env, "import", "kick-watchtime-bot", "--from", source_url,
                 "--guild", str(SERVER_C))  # fmt: skip
    assert_refused(result, f"Guild {SERVER_C} does not exist in StreamKeeper")


def test_streamelements_points_from_the_command_line(env, tmp_path: Path):
    jwt_file = tmp_path / "se.jwt"
    jwt_file.write_text(JWT + "\n")
    with FakeStreamElements() as se:
        se.points.update({"bob": 300})
        env = {**env, "STREAMELEMENTS_API_URL": se.base_url}
        args = ("import", "streamelements-points", "--guild", str(SERVER_A), "--channel",
                CHANNEL_ID, "--jwt-file", str(jwt_file))  # fmt: skip
        result = cli(env, *args)

    assert result.returncode == 0, result.stderr
    # bob is known here on Kick only: StreamElements names Twitch logins, so he is left out.
    assert "  points           imported 0; already there 0; left out 1" in result.stdout
    assert "'bob' (300): no Twitch user by this login" in result.stdout
    assert JWT not in result.stdout + result.stderr


def test_a_missing_jwt_file_is_one_line_and_exit_2(env, tmp_path: Path):
    result = cli(env, "import", "streamelements-points", "--guild", str(SERVER_A),
                 "--channel", CHANNEL_ID, "--jwt-file", str(tmp_path / "absent"))  # fmt: skip
    assert_refused(result, "Could not read the JWT file")
