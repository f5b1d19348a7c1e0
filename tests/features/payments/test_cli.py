"""``python -m core payments doubtful|settle`` as an operator runs them: the list in words, a
settlement once (a second refused, naming who settled), another guild's call not found, and
mistakes in one plain line with exit status 2."""

from __future__ import annotations

import pytest

from tests.features.payments.test_counts import _uncertain_payments
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

OTHER_GUILD = "223456789012345678"


@pytest.fixture
def calls(cli_env, make_runtime) -> list[int]:  # noqa: F811
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    return _uncertain_payments(runtime.engine, int(GUILD), int(GUILD), int(OTHER_GUILD))


def test_doubtful_lists_the_guilds_payments_newest_first(cli_env, calls):  # noqa: F811
    listed = cli(cli_env, "payments", "doubtful", "--guild", GUILD)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == [f"#{calls[1]}", f"#{calls[0]}"]
    assert lines[0] == (f"#{calls[1]} ann +5 (heist #1 payout), 2026-11-26 08:00 UTC: answered 500")
    mistyped = cli(cli_env, "payments", "doubtful", "--guild", "42")  # no calls, not set up
    assert (mistyped.returncode, mistyped.stdout) == (2, "")
    assert mistyped.stderr.strip() == "Guild 42 is not set up; add it with 'guild add'."


def test_settle_once_then_the_second_is_refused_naming_who(cli_env, calls):  # noqa: F811
    first = cli(cli_env, "payments", "settle", "--guild", GUILD, str(calls[0]), "paid",
                "--reason", "seen in SE")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (
        f"Call #{calls[0]} (ann +5) is marked paid: nothing more is sent."
    )
    second = cli(cli_env, "payments", "settle", "--guild", GUILD, str(calls[0]), "again")
    assert second.returncode == 1
    assert second.stderr.strip().startswith(f"Call #{calls[0]} was settled already: marked paid")
    assert "the operator from the server" in second.stderr
    again = cli(cli_env, "payments", "settle", "--guild", GUILD, str(calls[1]), "AGAIN")
    assert again.returncode == 0, again.stderr
    assert "queued again" in again.stdout
    listed = cli(cli_env, "payments", "doubtful", "--guild", GUILD)
    assert listed.stdout.strip() == f"No payments in doubt in guild {GUILD}."


def test_another_guilds_call_is_not_found(cli_env, calls):  # noqa: F811
    result = cli(cli_env, "payments", "settle", "--guild", GUILD, str(calls[2]), "paid")
    assert result.returncode == 1
    # (The first command in this data folder also warns that it generated its keys.)
    assert result.stderr.strip().splitlines()[-1] == f"There is no call #{calls[2]} in this server."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["payments", "settle", "--guild", GUILD, "x1", "paid"], "The call id is a whole number"),
        (["payments", "settle", "--guild", "abc", "1", "paid"], "The guild id is a whole number"),
        (["payments", "settle", "--guild", GUILD, "1", "refund"], "Say paid"),
        (["payments", "doubtful", "--guild", "-5"], "The guild id is a whole number"),
        (["payments", "doubtful", "--guild", "9" * 20], "The guild id is a whole number"),
        (["payments", "settle", "--guild", GUILD, "9" * 19, "paid"], "The call id is a whole"),
        (["payments"], "Say what to do"),
    ],
)
def test_mistakes_get_one_plain_line(cli_env, args, message):  # noqa: F811
    result = cli(cli_env, *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.strip().startswith(message), result.stderr
    assert "Traceback" not in result.stderr
