"""``python -m core points give`` and ``python -m core export --what points``, run as a process
runs them (the command forms are a contract)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.events import Platform, Viewer
from core.features.points.se_payments import SERVICE
from core.features.points.tables import points_ledger
from core.features.viewers.repository import remember_viewers
from core.storage.tables import outbox
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.points.se_support import payments
from tests.features.points.test_earning import T0
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture


def ledger_rows(runtime, guild_id: int) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    l = points_ledger.c  # noqa: E741
    query = sa.select(l.platform_user_id, l.amount).where(l.guild_id == guild_id)
    with runtime.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


@pytest.mark.slow
def test_give_credits_with_actor_cli_and_the_export_lists_balances(cli_env, make_runtime):  # noqa: F811
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.ensure_guild(int(GUILD))
    with runtime.engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer("77", "viewer_77")], T0)
    runtime.points.give(42, Platform.KICK, "77", 9)  # another guild: not in this export

    first = cli(cli_env, "points", "give", GUILD, "kick", "77", "1,500", "--reason", "giveaway")
    second = cli(cli_env, "points", "give", GUILD, "twitch", "900", "20")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert first.stdout.strip() == "Gave 1,500 points to kick:77; balance 1,500."

    with runtime.engine.connect() as conn:
        l = points_ledger.c  # noqa: E741
        rows = conn.execute(
            sa.select(l.platform_user_id, l.amount, l.source, l.actor, l.reason)
            .where(l.guild_id == int(GUILD))
            .order_by(l.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("77", 1500, "admin", "cli", "giveaway"),
        ("900", 20, "admin", "cli", ""),
    ]

    as_json = cli(cli_env, "export", "--guild", GUILD, "--what", "points", "--format", "json")
    as_csv = cli(cli_env, "export", "--guild", GUILD, "--what", "points", "--format", "csv")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {"platform": "kick", "platform_user_id": "77", "username": "viewer_77", "balance": 1500},
        {"platform": "twitch", "platform_user_id": "900", "username": "900", "balance": 20},
    ]
    assert as_csv.stdout.splitlines() == [
        "platform,platform_user_id,username,balance",
        "kick,77,viewer_77,1500",
        "twitch,900,900,20",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["points", "give", GUILD, "youtube", "77", "5"], "Unknown platform 'youtube'"),
        (["points", "give", GUILD, "kick", "77", "five"], "The amount is a whole number"),
        (
            ["points", "give", GUILD, "kick", "77", "0"],
            "The amount is a whole number from 1 to 1,000,000,000.",
        ),
        (["points", "give", GUILD, "kick", "77", "-3"], "The amount is a whole number"),
        (["points", "give", GUILD, "kick", "77", "1,5"], "'1,5' can be read two ways"),
        (["points", "give", GUILD, "kick", "77", "1e3"], "The amount is a whole number"),
        (
            ["points", "give", GUILD, "kick", "has space", "3"],
            "The platform user id is the viewer's number on kick",
        ),
        (  # a name typed for the id: credited to nobody, had it been taken
            ["points", "give", GUILD, "twitch", "xqc", "500"],
            "The platform user id is the viewer's number on twitch (digits only, e.g. "
            "141981764), got 'xqc'",
        ),
        (["points", "give", GUILD, "kick", "9" * 21, "3"], "The platform user id is the"),
        (["points"], "Say what to do"),
    ],
)
def test_mistakes_get_one_plain_line(cli_env, args, message):  # noqa: F811
    result = cli(cli_env, *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.strip().startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_a_name_typed_for_the_user_id_is_refused_and_credits_nobody(cli_env, make_runtime):  # noqa: F811
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.ensure_guild(int(GUILD))
    result = cli(cli_env, "points", "give", GUILD, "kick", "xqc", "500")
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert "a name is not an id" in result.stderr
    assert runtime.points.balance(int(GUILD), Platform.KICK, "xqc") == 0


def test_a_reason_past_200_characters_is_refused_not_cut(cli_env, make_runtime):  # noqa: F811
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.ensure_guild(int(GUILD))
    result = cli(cli_env, "points", "give", GUILD, "kick", "77", "5", "--reason", "r" * 201)
    assert result.returncode == 2  # bad input, retyped
    assert result.stderr.strip().splitlines()[-1] == "Keep the reason under 200 characters."
    assert runtime.points.balance(int(GUILD), Platform.KICK, "77") == 0


def test_a_guild_nobody_set_up_is_refused_in_one_line_and_nothing_is_written(
    cli_env,  # noqa: F811
    make_runtime,
):
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    result = cli(cli_env, "points", "give", GUILD, "kick", "77", "500")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"Guild {GUILD} is not set up; add it with 'guild add'."
    )
    assert result.stdout == ""
    assert ledger_rows(runtime, int(GUILD)) == []


def test_in_a_streamelements_guild_the_grant_is_queued_for_streamelements(
    cli_env,  # noqa: F811
    make_runtime,
):
    """As ``!pointsgive`` and the dashboard's give: one change for the ``streamelements``
    worker, by login, in their words; our ledger (nothing reads it then) is left alone."""
    with FakeStreamElements() as se:
        se.points["viewer_900"] = 40
        env = {
            **cli_env,
            "STREAMELEMENTS_API_URL": se.base_url,
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,  # the runtime's below, which stores the JWT
        }
        runtime = make_runtime(DATA_DIR=env["DATA_DIR"], STREAMELEMENTS_API_URL=se.base_url)
        runtime.guilds.ensure_guild(int(GUILD))
        runtime.points_wallet.use_streamelements(int(GUILD), CHANNEL_ID, JWT)
        with runtime.engine.begin() as conn:
            remember_viewers(conn, Platform.TWITCH, [Viewer("900", "viewer_900")], T0)
            # A Kick account called like the Twitch viewer, linked to no Twitch account.
            remember_viewers(conn, Platform.KICK, [Viewer("78", "viewer_900")], T0)

        given = cli(env, "points", "give", GUILD, "twitch", "900", "250", "--reason", "prize")
        unseen = cli(env, "points", "give", GUILD, "twitch", "77", "5")
        kick = cli(env, "points", "give", GUILD, "kick", "78", "5")

    assert given.returncode == 0, given.stderr
    assert given.stdout.strip() == (
        "Giving 250 points to viewer_900 (twitch:900) on StreamElements, where they have "
        "40 points; the change is made within seconds."
    )
    assert payments(runtime.engine) == [("viewer_900", 250, "pending")]
    with runtime.engine.connect() as conn:
        [payload] = conn.execute(
            sa.select(outbox.c.payload).where(outbox.c.service == SERVICE)
        ).scalars()
    call = json.loads(payload)
    assert (call["actor"], call["actor_id"], call["reason"]) == ("cli", None, "prize")
    assert call["ref"].startswith("cli:")
    assert se.puts == []  # the worker makes the change, not the command
    assert ledger_rows(runtime, int(GUILD)) == []

    assert unseen.returncode == 2, unseen.stderr
    assert unseen.stderr.strip().splitlines()[-1] == (
        "Viewer twitch:77 has not been seen yet: StreamElements keeps points by login, and "
        "theirs is not known."
    )
    assert kick.returncode == 2, kick.stderr
    assert kick.stderr.strip().splitlines()[-1] == (
        "StreamElements knows viewers by their Twitch account, and viewer_900 (78) on Kick has "
        "none linked here."
    )
    assert payments(runtime.engine) == [("viewer_900", 250, "pending")]
