"""``python -m core privacy export``: everything kept about one person, for the operator who
answers their request (core/features/person_data.py). One member linked on Kick, with
watchtime, points, tickets, a role reached, a dashboard session; another member and a Twitch
viewer who never linked, each with data of their own that must not show up in the first's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.directory.repository import Member
from core.features.person_data import (
    DISCORD_ID_COLUMNS,
    DISCORD_USER_ID_TABLES,
    NAME_COLUMNS,
    Person,
    matched_columns,
    person_rows,
)
from core.features.schema import all_tables
from tests.features.raffle.support import add_viewer, set_watchtime
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

ANA, BOB = 900000000000000011, 900000000000000022


@pytest.fixture
def seeded(cli_env, make_runtime):  # noqa: F811
    """The data below, in the database of ``cli_env`` (its DATABASE_URL, else DATA_DIR's)."""
    database = {"DATABASE_URL": cli_env["DATABASE_URL"]} if "DATABASE_URL" in cli_env else {}
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"], **database)
    guild = int(GUILD)
    add_viewer(runtime.engine, "k-ana", "ana_kick", discord_id=ANA)
    add_viewer(runtime.engine, "k-bob", "bob_kick", discord_id=BOB)
    add_viewer(runtime.engine, "t-carl", "carl_tv", platform=Platform.TWITCH)  # never linked
    for user_id, seconds in (("k-ana", 3600), ("k-bob", 7200)):
        set_watchtime(runtime.engine, user_id, seconds, guild_id=guild)
    runtime.points.give(guild, Platform.KICK, "k-ana", 50, actor_id=BOB, reason="quiz")
    runtime.points.give(guild, Platform.KICK, "k-bob", 70, actor_id=ANA, reason="raid")
    runtime.roles.record_awards(guild, ANA, [123456789012345678])
    runtime.directory.record_members(guild, [Member(ANA, "Ana"), Member(BOB, "Bob")])
    tables, now = all_tables().tables, datetime(2026, 11, 27, tzinfo=UTC)
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.insert(tables["watchtime"]).values(
                guild_id=guild, platform="twitch", platform_user_id="t-carl", seconds=60
            )
        )
        # Ana connected the streamer's Kick (as an admin) and is logged in on the dashboard.
        conn.execute(sa.insert(tables["kick_connections"]).values(
            guild_id=guild, broadcaster_user_id="77", kick_username="streamer",
            access_token="sealed-access", refresh_token="sealed-refresh", expires_at=now,
            scopes="chat:write", status="connected", connected_by=ANA, needs_sync=False,
            updated_at=now))  # fmt: skip
        conn.execute(sa.insert(tables["web_sessions"]).values(
            id_hash="a" * 64, user_id=ANA, started_at=now, expires_at=now))  # fmt: skip
    return runtime


def exported(cli_env, *args: str) -> dict:  # noqa: F811
    """``privacy export`` with ``args``, its JSON."""
    result = cli(cli_env, "privacy", "export", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_members_export_holds_their_rows_and_nobody_elses(cli_env, seeded):  # noqa: F811
    document = exported(cli_env, "--member", str(ANA))
    tables = document["tables"]

    assert document["accounts"] == ["kick:k-ana"]
    assert [row["username"] for row in tables["account_links"]] == ["ana_kick"]
    assert [row["platform_user_id"] for row in tables["watchtime"]] == ["k-ana"]
    assert [row["name"] for row in tables["directory_members"]] == ["Ana"]
    assert [row["role_id"] for row in tables["role_awards"]] == [123456789012345678]
    # The points ledger: Ana's own grant, and the one she gave Bob as the admin who acted.
    ledger = {(row["platform_user_id"], row["actor_id"]) for row in tables["points_ledger"]}
    assert ledger == {("k-ana", BOB), ("k-bob", ANA)}
    text = json.dumps(tables)
    assert "t-carl" not in text
    assert "bob_kick" not in text  # Bob's link, name and watchtime are his


def test_a_viewer_who_never_linked_is_found_by_the_name_the_operator_gives(
    cli_env,  # noqa: F811
    seeded,
):
    document = exported(cli_env, "--account", "twitch:Carl_TV")

    assert document["accounts"] == ["twitch:t-carl"]
    assert [row["seconds"] for row in document["tables"]["watchtime"]] == [60]
    assert [row["username"] for row in document["tables"]["viewers"]] == ["carl_tv"]
    assert "k-ana" not in json.dumps(document)


def test_no_secret_column_is_written(cli_env, seeded):  # noqa: F811
    document = exported(cli_env, "--member", str(ANA))

    [connection] = document["tables"]["kick_connections"]  # the one Ana made, as its admin
    assert (connection["kick_username"], connection["connected_by"]) == ("streamer", ANA)
    assert "access_token" not in connection
    assert "refresh_token" not in connection
    [session] = document["tables"]["web_sessions"]
    assert set(session) == {"user_id", "started_at", "expires_at"}  # not the session's hash
    assert "sealed" not in json.dumps(document)
    assert "a" * 64 not in json.dumps(document)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Say whose data"),
        (["--member", "ana"], "--member is a Discord user id"),
        (["--member", "9" * 25], "--member is a Discord user id"),
        (["--account", "kick:"], "--account: 'kick:' is not a Kick or Twitch name"),
        (["--account", "twich:ana"], "--account: 'twich' is not a platform"),
        (["--account", "youtube:ana"], "--account: 'youtube' is not a platform"),
    ],
)
@pytest.mark.parametrize("action", ["export", "forget"])
def test_mistakes_get_one_plain_line(cli_env, args, message, action):  # noqa: F811
    result = cli(cli_env, "privacy", action, *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # never "Nothing is kept about them" for a mistyped platform


# Columns that name someone but not the person a request is about: the streamer's own channel
# and connection, a process, a setting. A new person-like column must be matched by
# core/features/person_data.py or added here with its reason.
NOT_THE_PERSON = {
    "broadcaster_user_id": "the streamer's channel",
    "kick_username": "the streamer's connection",
    "login": "the streamer's connection",
    "claimed_by": "a bot process",
    "leased_by": "a bot process",
    "max_open_per_user": "a setting",
    "reward_max_per_user_per_stream": "a setting",
    "gifter_name": "shown with the gift's row, found by the giftee's account",
    "username_key": "the blacklist's key, in a row found by account",
    "actor": "a word (dashboard, discord, cli), not an id",
    "actor_kind": "a word, beside actor_id",
    "actor_key": "a closed period's key for its admins' pseudonyms",
}
PERSON_LIKE = re.compile(r"discord|user_id|_by$|actor|username|login|member")


def test_every_column_that_names_a_person_is_searched():
    missed = []
    for name, table in sorted(all_tables().tables.items()):
        matched = set(matched_columns(name, table))
        found_by_row = bool(matched)  # a name in a row found by its account or Discord id
        for column in table.c.keys():  # noqa: SIM118 - table.c iterates columns, not names
            if not PERSON_LIKE.search(column) or column in matched:
                continue
            if column in NOT_THE_PERSON:
                continue
            if column in ("username", "name") and found_by_row:
                continue
            missed.append(f"{name}.{column}")
    assert missed == []
    assert set(all_tables().tables) >= DISCORD_USER_ID_TABLES
    assert set(NAME_COLUMNS) <= set(all_tables().tables)
    assert "discord_user_id" in DISCORD_ID_COLUMNS


def test_a_members_rows_are_found_on_postgresql_too(engine):
    """vip_audit keeps who acted as text (a Discord id, or a viewer's id): the member's id is
    compared to it as text, as to every other column as a number. PostgreSQL has no varchar =
    bigint, so every export and forget by --member failed there (SQLite compared them)."""
    now = datetime(2026, 11, 27, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(all_tables().tables["vip_audit"]).values(
            guild_id=int(GUILD), platform="twitch", broadcaster_user_id="4242",
            platform_user_id="t-carl", username="carl_tv", action="granted",
            actor_kind="discord", actor_id=str(ANA), at=now))  # fmt: skip
        rows = person_rows(conn, Person(ANA, frozenset(), {}))
    assert [(r["username"], r["actor_id"]) for r in rows["vip_audit"]] == [("carl_tv", str(ANA))]
