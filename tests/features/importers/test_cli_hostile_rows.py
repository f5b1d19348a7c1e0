"""``python -m core import`` over hostile source rows, as an operator runs it: the other bot's
columns retyped by hand (TEXT timestamps, NUMERIC minutes, a bytea prize) and values no real
row holds. Each run exits 0 with the rest imported, lists the row as a problem, and its printed
counts add up to the source's rows; nothing unstorable is stored, so every export still works."""

# The statements change the throwaway source database with the tests' own constants.
# ruff: noqa: S608

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.cli.export import exports
from core.events import Platform, Viewer
from core.features.viewers.repository import remember_viewers
from core.storage.db import normalize_url
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.importers.conftest import NOW
from tests.features.importers.kwb_rows import D_BOB, SERVER_A, SERVER_B
from tests.features.importers.source_counts import assert_printed_counts_add_up
from tests.test_cli import cli


def change_source(source_url: str, *statements: str) -> None:
    """What the tester did to the other bot's database by hand."""
    engine = sa.create_engine(normalize_url(source_url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def imported(env: dict[str, str], source_url: str, *options: str):  # type: ignore[no-untyped-def]
    result = cli(env, "import", "kick-watchtime-bot", "--from", source_url, *options)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert_printed_counts_add_up(result.stdout, source_url)
    return result


def problems_of(stdout: str) -> list[str]:
    return [line.strip()[2:] for line in stdout.splitlines() if line.startswith("    - ")]


def assert_exports_work(env: dict[str, str], guild_id: int) -> None:
    for what in sorted(exports()):
        result = cli(env, "export", "--guild", str(guild_id), "--what", what, "--format", "json")
        assert result.returncode == 0, f"{what}: {result.stderr}"
        json.loads(result.stdout)


def test_a_text_linked_at_that_is_no_time_is_a_problem_row(env, source_url):
    change_source(
        source_url,
        "ALTER TABLE links ALTER COLUMN linked_at TYPE TEXT",
        f"UPDATE links SET linked_at = 'last tuesday' WHERE discord_id = {D_BOB}"
        f" AND discord_server_id = {SERVER_A}",
        # text that is an ISO time is read as one
        f"UPDATE links SET linked_at = '2026-09-02T10:00:00+02:00' WHERE discord_id = {D_BOB}"
        f" AND discord_server_id = {SERVER_B}",
    )

    result = imported(env, source_url)

    assert (
        "links: Discord 9002 and Kick 'bob': linked_at is 'last tuesday', not a date and time; "
        "left out"
    ) in problems_of(result.stdout)
    b = result.stdout.split(f"Guild {SERVER_B}")[1]
    assert "  links            imported 1; already there 0; left out 3 (of 4)" in b


def test_numeric_minutes_with_a_fraction_are_a_problem_row_not_rounded(env, source_url):
    change_source(
        source_url,
        "ALTER TABLE watchtime ALTER COLUMN minutes TYPE NUMERIC",
        f"UPDATE watchtime SET minutes = 12.5 WHERE username = 'bob'"
        f" AND discord_server_id = {SERVER_A}",
        f"UPDATE watchtime SET minutes = 50.0 WHERE username = 'bob'"
        f" AND discord_server_id = {SERVER_B}",  # a whole number all the same
    )

    result = imported(env, source_url)

    assert "watchtime: 'bob': minutes is 12.5, not a whole number; left out" in problems_of(
        result.stdout
    )
    # bob is the one name this guild resolves (seen in chat): A imports nothing, B his 50.
    a, b = result.stdout.split(f"Guild {SERVER_B}")
    assert "  watchtime        imported 0; already there 0; left out 7 (of 7)" in a
    assert "  watchtime        imported 1; already there 0; left out 1 (of 2)" in b
    watchtime = cli(env, "export", "--guild", str(SERVER_B), "--format", "json")
    assert [row["seconds"] for row in json.loads(watchtime.stdout)] == [50 * 60]


def test_a_link_with_no_kick_name_is_counted_and_listed(env, source_url):
    change_source(
        source_url,
        f"INSERT INTO links (discord_id, kick_name, discord_server_id) VALUES (9010, NULL,"
        f" {SERVER_A})",
    )

    result = imported(env, source_url, "--guild", str(SERVER_A))

    assert "links: Discord 9010 and Kick (no name): the Kick name is empty (NULL); left out" in (
        problems_of(result.stdout)
    )
    # 4 links of A: bob imported, the nameless one and 2 unresolved left out; 1 Twitch aside.
    assert (
        "  links            imported 1; already there 0; left out 3; other platforms 1 (of 5)"
        in result.stdout
    )


def test_absurd_minutes_are_refused_and_the_other_servers_still_import(env, source_url):
    change_source(
        source_url,
        "ALTER TABLE watchtime ALTER COLUMN minutes TYPE BIGINT",
        f"UPDATE watchtime SET minutes = {2**63 - 1} WHERE username = 'bob'"
        f" AND discord_server_id = {SERVER_A}",
        f"UPDATE watchtime SET minutes = {2**31 - 1} WHERE username = 'Alice_W'"
        f" AND discord_server_id = {SERVER_A}",
        f"UPDATE watchtime SET minutes = -5 WHERE username = 'ghost'"
        f" AND discord_server_id = {SERVER_A}",
    )

    result = imported(env, source_url)  # every server

    problems = problems_of(result.stdout)
    assert (
        "watchtime: 'bob': minutes is 9,223,372,036,854,775,807, over the ceiling of 52,560,000;"
        " left out"
    ) in problems
    assert (
        "watchtime: 'Alice_W': minutes is 2,147,483,647, over the ceiling of 52,560,000; left out"
    ) in problems
    assert "watchtime: 'ghost': minutes is -5, negative; left out" in problems
    b = result.stdout.split(f"Guild {SERVER_B}")[1]
    assert "  watchtime        imported 1; already there 0; left out 1 (of 2)" in b
    assert_exports_work(env, SERVER_A)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            "ALTER TABLE raffle_draws ALTER COLUMN prize_description TYPE bytea"
            " USING convert_to(prize_description, 'UTF8');"
            " UPDATE raffle_draws SET prize_description = '\\x2435300030'::bytea",
            "the prize is binary data (5 bytes), not text",
        ),
        (
            "UPDATE raffle_draws SET prize_description = repeat('$', 201)",
            "the prize is 201 characters long; at most 200 fit",
        ),
        (
            "ALTER TABLE raffle_draws ALTER COLUMN drawn_at TYPE TEXT;"
            " UPDATE raffle_draws SET drawn_at = E'2026-09-01\\x01'",
            "drawn_at is '2026-09-01\\x01', not a date and time",
        ),
        (
            "UPDATE raffle_draws SET drawn_at = 'infinity'",
            "drawn_at is 'infinity', not a date and time",
        ),
    ],
)
def test_a_prize_or_draw_that_cannot_be_stored_is_refused_and_exports_still_work(
    env, source_url, change, why
):
    change_source(source_url, change)

    result = imported(env, source_url, "--guild", str(SERVER_A))

    assert f"raffle winners: draw 1 ('Alice_W'): {why}; left out" in problems_of(result.stdout)
    assert "  raffle winners   imported 0; already there 0; left out 1 (of 1)" in result.stdout
    assert_exports_work(env, SERVER_A)


def test_streamelements_balances_that_are_no_balance_are_problem_rows(
    env, make_runtime, tmp_path: Path
):
    runtime = make_runtime(DATA_DIR=env["DATA_DIR"])  # the command line's database
    with runtime.engine.begin() as conn:
        known = [Viewer(f"t-{n}", n) for n in ("ann", "neg", "huge", "half", "nil")]
        remember_viewers(conn, Platform.TWITCH, known, NOW)
    runtime.close()
    jwt_file = tmp_path / "se.jwt"
    jwt_file.write_text(JWT)
    with FakeStreamElements() as se:
        se.points.update({"ann": 300, "neg": -5, "huge": 10**15, "half": 12.5, "nil": 0})
        result = cli({**env, "STREAMELEMENTS_API_URL": se.base_url}, "import",
                     "streamelements-points", "--guild", str(SERVER_A), "--channel", CHANNEL_ID,
                     "--jwt-file", str(jwt_file))  # fmt: skip

    assert result.returncode == 0, result.stderr
    problems = problems_of(result.stdout)
    assert "points: 'neg': the balance is -5, negative; left out" in problems
    assert "points: 'huge': the balance is 1,000,000,000,000,000, over the ceiling of " in (
        "\n".join(problems)
    )
    assert any("1 entry StreamElements listed could not be read" in p for p in problems)
    assert (
        "  points           imported 1; already there 0; left out 3; zero balance 1 (of 5)"
        in result.stdout
    )


def test_a_guild_whose_writes_fail_is_rolled_back_and_the_others_still_import(
    env, make_runtime, source_url
):
    def target(statement: str) -> None:  # the command line's database
        runtime = make_runtime(DATA_DIR=env["DATA_DIR"])
        with runtime.engine.begin() as conn:
            conn.exec_driver_sql(statement)
        runtime.close()

    target(  # a write of guild A's that the database refuses
        f"CREATE TRIGGER refuse_a BEFORE INSERT ON role_tiers WHEN NEW.guild_id = {SERVER_A}"
        " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )

    result = cli(env, "import", "kick-watchtime-bot", "--from", source_url)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Writing failed for guild {SERVER_A} (rolled back; the others were imported): run the "
        "import again for it with --guild."
    )
    a, b = result.stdout.split(f"Guild {SERVER_B}")
    assert "writing to StreamKeeper's database failed (IntegrityError: disk full)" in a
    assert "  watchtime        imported 1; already there 0; left out 1 (of 2)" in b
    watchtime_a = cli(env, "export", "--guild", str(SERVER_A), "--format", "json")
    assert json.loads(watchtime_a.stdout) == []  # A's watchtime was rolled back with the rest

    target("DROP TRIGGER refuse_a")
    again = imported(env, source_url, "--guild", str(SERVER_A))  # no --force needed

    assert "  watchtime        imported 1; already there 0; left out 6 (of 7)" in again.stdout


def test_a_server_id_no_discord_server_can_have_is_one_line_not_a_traceback(env, source_url):
    """A server id column retyped to NUMERIC holding Infinity: int() raises OverflowError."""
    change_source(
        source_url,
        "ALTER TABLE watchtime_roles ALTER COLUMN discord_server_id TYPE NUMERIC",
        "UPDATE watchtime_roles SET discord_server_id = 'Infinity' WHERE role_name = 'Fan'",
    )

    result = cli(env, "import", "kick-watchtime-bot", "--from", source_url)

    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "Could not read the kick-watchtime-bot database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_streamelements_points_whose_writes_fail_are_one_line_not_a_traceback(
    env, make_runtime, tmp_path: Path
):
    """StreamKeeper's database refuses the ledger's rows (a full disk, a lock the running bot
    holds): nothing is credited, and the command says so in one line, as the other import does."""
    runtime = make_runtime(DATA_DIR=env["DATA_DIR"])  # the command line's database
    with runtime.engine.begin() as conn:
        remember_viewers(conn, Platform.TWITCH, [Viewer("t-ann", "ann")], NOW)
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON points_ledger"
            " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    runtime.close()
    jwt_file = tmp_path / "se.jwt"
    jwt_file.write_text(JWT)
    with FakeStreamElements() as se:
        se.points.update({"ann": 300})
        result = cli({**env, "STREAMELEMENTS_API_URL": se.base_url}, "import",
                     "streamelements-points", "--guild", str(SERVER_A), "--channel", CHANNEL_ID,
                     "--jwt-file", str(jwt_file))  # fmt: skip

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip() == (
        "Writing to StreamKeeper's database failed (IntegrityError: disk full); nothing was "
        "imported. Run the import again."
    )
    assert JWT not in result.stdout + result.stderr
