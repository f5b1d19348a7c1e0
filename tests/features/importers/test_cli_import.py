"""``python -m core import ...`` as an operator runs it: the counts on standard output, bad input
as one line on standard error with exit code 2 and no traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from core.features.connections import connection_rows
from core.features.connections.tables import kick_connections
from core.features.importers import repository as imports
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY, _fresh_postgres_database
from tests.fakes.kick_server import FakeKick
from tests.fakes.kick_shapes import CLIENT_ID, CLIENT_SECRET
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.fakes.twitch_server import CLIENT_ID as TWITCH_ID
from tests.fakes.twitch_server import CLIENT_SECRET as TWITCH_SECRET
from tests.fakes.twitch_server import FakeTwitch
from tests.features.importers import kwb_rows
from tests.features.importers.kwb_rows import SERVER_A, SERVER_B, SERVER_C
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


def test_one_guild_named_calls_no_other_guild_here_missing(env, source_url):
    """Server B is a guild here too, only not named: it is not said to be no such guild."""
    dry = cli(env, "import", "kick-watchtime-bot", "--from", source_url, "--guild",
              str(SERVER_A), "--dry-run")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    [line] = [line for line in dry.stdout.splitlines() if line.startswith("Not imported")]
    assert line == f"Not imported (no such guild in StreamKeeper): servers {SERVER_C}."


def test_an_unreachable_database_is_one_line_and_exit_2(env):
    result = cli(env, "import", "kick-watchtime-bot", "--from",
                 "postgresql://someone:hunter22@127.0.0.1:1/gone")  # fmt: skip
    assert_refused(result, "Could not connect to the kick-watchtime-bot database")
    assert "hunter22" not in result.stderr


def test_an_at_sign_in_the_password_is_one_line_without_the_password(env):
    """Not written %40, the driver takes what follows it for the host, and would say it cannot
    find host 'hunter22@127.0.0.1'."""
    result = cli(env, "import", "kick-watchtime-bot", "--from",
                 "postgresql://someone:my@hunter22@127.0.0.1:1/gone")  # fmt: skip
    assert_refused(result, "--from has an '@' in its user name or password: write it as %40.")
    assert "hunter22" not in result.stderr


def test_a_database_with_no_servers_rows_says_there_is_nothing_to_import(env, postgres_url):
    """Not "add the guild first": no guild would help, the database holds nothing to import."""
    empty = _fresh_postgres_database(postgres_url)
    kwb_rows.build_schema(empty)
    result = cli(env, "import", "kick-watchtime-bot", "--from", empty)
    assert_refused(
        result,
        "The kick-watchtime-bot database holds no Discord server's rows: nothing to import "
        "(is --from that bot's database?).",
    )


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


def test_another_streamers_streamelements_channel_is_one_line_and_exit_2(env, tmp_path: Path):
    """Guild B's streamer is not the channel's: its points were imported into B all the same."""
    jwt_file = tmp_path / "se.jwt"
    jwt_file.write_text(JWT + "\n")
    with FakeStreamElements() as se:
        se.points.update({"bob": 300})
        env = {**env, "STREAMELEMENTS_API_URL": se.base_url}
        args = ("import", "streamelements-points", "--guild", str(SERVER_B), "--channel",
                CHANNEL_ID, "--jwt-file", str(jwt_file))  # fmt: skip
        result = cli(env, *args)
        unchecked = cli(env, *args, "--unchecked")
    assert_refused(result, f"Guild {SERVER_B} has no Twitch channel to check StreamElements")
    assert "--unchecked" in result.stderr
    assert unchecked.returncode == 0, unchecked.stderr
    assert "  points           imported 0; already there 0; left out 1" in unchecked.stdout


def test_a_missing_jwt_file_is_one_line_and_exit_2(env, tmp_path: Path):
    result = cli(env, "import", "streamelements-points", "--guild", str(SERVER_A),
                 "--channel", CHANNEL_ID, "--jwt-file", str(tmp_path / "absent"))  # fmt: skip
    assert_refused(result, "Could not read the JWT file")


def test_twitch_oauth_down_is_one_line_and_exit_2(env, tmp_path: Path):
    """A login not seen here is asked of Helix, and Twitch's OAuth server cannot give the app
    token for it (503): one line saying so, nothing imported, no traceback (the retries before
    it are logged as warnings, left out here)."""
    jwt_file = tmp_path / "se.jwt"
    jwt_file.write_text(JWT + "\n")
    with FakeStreamElements() as se, FakeTwitch() as twitch:
        twitch.fail_next("/oauth2/token", 503, times=1000)
        se.points.update({"somebody_new": 300})
        env = {**env, "STREAMELEMENTS_API_URL": se.base_url, "TWITCH_CLIENT_ID": TWITCH_ID,
               "TWITCH_CLIENT_SECRET": TWITCH_SECRET, "TWITCH_OAUTH_BASE_URL": twitch.oauth_url,
               "TWITCH_API_BASE_URL": twitch.helix_url, "LOG_LEVEL": "ERROR"}  # fmt: skip
        result = cli(env, "import", "streamelements-points", "--guild", str(SERVER_A),
                     "--channel", CHANNEL_ID, "--jwt-file", str(jwt_file))  # fmt: skip

    assert_refused(
        result,
        "Twitch did not give StreamKeeper a token to ask who these logins are (Twitch OAuth "
        "503: Service Unavailable); nothing was imported, run the import again later.",
    )
    assert JWT not in result.stdout + result.stderr


def test_kick_oauth_down_leaves_names_unresolved_and_imports_every_guild(
    env, source_url, make_runtime
):
    """B's Kick token is due for a refresh and Kick's OAuth server answers 503: B's names Kick
    would have told are problem rows, A and B are imported and reported, no traceback."""
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    cipher = TokenCipher(TEST_FERNET_KEY)
    runtime = make_runtime(DATA_DIR=env["DATA_DIR"])
    with runtime.engine.begin() as conn:
        connection_rows.save(
            conn,
            kick_connections,
            connection_rows.StoredConnection(
                guild_id=SERVER_B, broadcaster_user_id="42", username="streamer_b",
                access_token=cipher.encrypt("old-access"), refresh_token=cipher.encrypt("refresh"),
                expires_at=long_ago, scopes=("user:read", "channel:read"), status="connected",
                connected_by=1,
            ),
            long_ago,
        )  # fmt: skip
    with FakeKick() as kick:
        kick.fail_next("/oauth/token", 503, times=1000)
        env = {**env, "KICK_CLIENT_ID": CLIENT_ID, "KICK_CLIENT_SECRET": CLIENT_SECRET,
               "KICK_OAUTH_BASE_URL": kick.url, "KICK_API_BASE_URL": kick.url}  # fmt: skip
        result = cli(env, "import", "kick-watchtime-bot", "--from", source_url)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Guild {SERVER_A} (from server {SERVER_A}):" in result.stdout
    assert f"Guild {SERVER_B} (from server {SERVER_B}):" in result.stdout
    # bob is known here from chat; dave only Kick could have told.
    assert "  watchtime        imported 1; already there 0; left out 1 (of 2)" in result.stdout
    # The first name asked says why; once no token can be had, the rest are not asked.
    assert "'Alice_W' (Discord 9006): Kick did not say (OAuthError)" in result.stdout
    assert "'dave' (70 min): not asked: Kick did not give a token (OAuthError)" in result.stdout
    assert len([r for r in kick.requests if r.path == "/oauth/token"]) == 1
    with runtime.engine.connect() as conn:
        runs = [imports.find_run(conn, g, "kick-watchtime-bot") for g in (SERVER_A, SERVER_B)]
    assert [run.status for run in runs if run is not None] == ["done", "done"]
