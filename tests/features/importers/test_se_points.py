"""Importing a StreamElements points leaderboard into a guild's points ledger, from a fake
StreamElements on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.events import Platform, Viewer
from core.features.guilds.repository import TrackedChannel, ensure_guild, set_channel
from core.features.importers.errors import ImportProblem
from core.features.importers.se_points import StreamElementsPointsImport, read_jwt
from core.features.points.repository import PointsEntry, balance_of, balances_of, credit
from core.features.viewers.repository import remember_viewers
from core.platforms.streamelements.api import StreamElementsPoints
from tests.fakes.streamelements_server import (
    CHANNEL_ID,
    JWT,
    OWNER_ID,
    OWNER_LOGIN,
    FakeStreamElements,
)

GUILD = 555_000_000_000_000_001
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
TWITCH = Platform.TWITCH


@pytest.fixture
def se() -> Iterator[FakeStreamElements]:
    with FakeStreamElements() as fake:
        yield fake


@pytest.fixture
def guild(engine: sa.Engine) -> int:
    """The guild of the StreamElements channel's streamer (their Twitch channel)."""
    with engine.begin() as conn:
        ensure_guild(conn, GUILD, NOW)
        set_channel(conn, TrackedChannel(GUILD, TWITCH, OWNER_LOGIN, OWNER_ID), NOW)
        remember_viewers(conn, TWITCH, [Viewer("t-ann", "Ann"), Viewer("t-bob", "bob")], NOW)
    return GUILD


HELIX = {"cat": "t-cat"}  # what Twitch would answer for these logins


async def helix_ids(logins: Collection[str]) -> Mapping[str, str]:
    return {login: HELIX[login] for login in logins if login in HELIX}


def importer(engine, se, backend="ledger", twitch=helix_ids, on_channel=()):  # type: ignore[no-untyped-def]
    client = StreamElementsPoints(base_url=se.base_url, max_retries=0)
    return StreamElementsPointsImport(
        engine, lambda: NOW, client, lambda _g: backend, lambda _c: list(on_channel), twitch
    )


def run(engine, se, channel=CHANNEL_ID, jwt=JWT, guild_id=GUILD, **options):  # type: ignore[no-untyped-def]
    importer_options = {
        k: options.pop(k) for k in ("backend", "twitch", "on_channel") if k in options
    }
    imp = importer(engine, se, **importer_options)
    return asyncio.run(imp.run(guild_id, channel, jwt, **options))


def numbers(outcome) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    count = outcome.report.counts["points"]
    return count.imported, count.already, count.skipped


def test_the_leaderboard_is_credited_to_each_viewer(engine, se, guild):
    se.points.update({"ann": 500, "bob": 120, "cat": 1200, "nobody_here": 50, "zero": 0})

    outcome = run(engine, se)

    assert numbers(outcome) == (3, 0, 1)
    assert outcome.report.problems == ["points: 'nobody_here' (50): no Twitch user by this login"]
    with engine.connect() as conn:
        assert balance_of(conn, GUILD, TWITCH, "t-ann") == 500
        assert balance_of(conn, GUILD, TWITCH, "t-bob") == 120
        assert balance_of(conn, GUILD, TWITCH, "t-cat") == 1200
        refs = sorted(conn.execute(sa.text("SELECT source, source_ref FROM points_ledger")))
    assert refs == [  # by Twitch user id, which a rename does not change
        ("import", f"streamelements:{CHANNEL_ID}:id:{user_id}")
        for user_id in ("t-ann", "t-bob", "t-cat")
    ]
    assert se.puts == []  # nothing was changed at StreamElements


def test_another_streamers_channel_is_not_imported(engine, se, guild):
    """The operator named the wrong guild (or pasted another streamer's channel and JWT): the
    other streamer's viewers were credited here."""
    se.points.update({"ann": 500})
    se.owner_id, se.owner_login = "41000999", "someone_else"
    with pytest.raises(ImportProblem) as refused:
        run(engine, se)
    assert str(refused.value) == (
        f"StreamElements channel {CHANNEL_ID} is Twitch's someone_else (user id 41000999), not "
        f"the streamer of guild {GUILD} (streamer, user id {OWNER_ID}); nothing was imported. "
        "Check --guild, or run again with --unchecked to import it all the same."
    )
    assert se.pages == []  # its leaderboard was not even read
    with engine.connect() as conn:
        assert balance_of(conn, GUILD, TWITCH, "t-ann") == 0
    se.points.update({"ann": 500})
    assert numbers(run(engine, se, unchecked=True)) == (1, 0, 0)


def test_a_guild_without_a_twitch_channel_is_not_imported_unchecked(engine, se, guild):
    se.points.update({"ann": 500})
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM guild_channels"))
    with pytest.raises(ImportProblem, match=f"Guild {GUILD} has no Twitch channel"):
        run(engine, se)
    assert se.pages == []


def test_a_jwt_of_another_channel_is_named(engine, se, guild):
    with pytest.raises(ImportProblem) as refused:
        run(engine, se, channel="a" * 24)
    assert str(refused.value) == (
        f"The JWT is StreamElements channel {CHANNEL_ID}'s, not {'a' * 24}'s; nothing was "
        "imported. Give the JWT of the channel to import."
    )


def test_a_long_leaderboard_is_read_page_by_page(engine, se, guild):
    names = [f"v{n:03d}" for n in range(250)]
    se.points.update({name: 1000 - n for n, name in enumerate(names)})
    with engine.begin() as conn:
        remember_viewers(conn, TWITCH, [Viewer(f"id-{n}", n) for n in names], NOW)

    outcome = run(engine, se)

    assert numbers(outcome) == (250, 0, 0)
    assert se.pages == [(100, 0), (100, 100), (100, 200)]
    with engine.connect() as conn:
        total = sum(
            b for b in balances_of(conn, GUILD, TWITCH, [f"id-{n}" for n in names]).values()
        )
    assert total == sum(1000 - n for n in range(250))


def test_an_unreadable_entry_is_counted_and_the_pages_after_it_are_still_read(engine, se, guild):
    names = [f"v{n:03d}" for n in range(150)]
    se.points.update({name: 1000 - n for n, name in enumerate(names)})
    se.points["v005"] = 994.5  # no whole number: StreamElements' reader leaves it out
    with engine.begin() as conn:
        remember_viewers(conn, TWITCH, [Viewer(f"id-{n}", n) for n in names], NOW)

    outcome = run(engine, se)

    assert numbers(outcome) == (149, 0, 1)  # the second page was read all the same
    assert se.pages == [(100, 0), (100, 100)]
    assert outcome.report.counts["points"].total == 150
    assert outcome.report.problems == [
        "points: 1 entry StreamElements listed could not be read (a login that is not a Twitch "
        "login, or a balance that is not a whole number); left out"
    ]


def test_balances_that_are_no_balance_are_problem_rows_and_zero_is_counted(engine, se, guild):
    se.points.update({"ann": -5, "bob": 10**12, "cat": 0})

    outcome = run(engine, se)

    assert numbers(outcome) == (0, 0, 2)
    assert outcome.report.counts["points"].aside == {"zero balance": 1}
    assert outcome.report.problems == [
        "points: 'bob': the balance is 1,000,000,000,000, over the ceiling of 1,000,000,000; "
        "left out",
        "points: 'ann': the balance is -5, negative; left out",
    ]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM points_ledger")).scalar() == 0


def test_a_second_import_changes_nothing(engine, se, guild):
    se.points.update({"ann": 500, "cat": 1200})
    run(engine, se)
    se.points["ann"] = 900  # spent or earned there since: the first import stands

    again = run(engine, se)

    assert numbers(again) == (0, 2, 0)
    with engine.connect() as conn:
        assert balance_of(conn, GUILD, TWITCH, "t-ann") == 500
        assert conn.execute(sa.text("SELECT count(*) FROM points_ledger")).scalar() == 2


def test_a_second_import_after_a_rename_does_not_credit_the_balance_twice(engine, se, guild):
    """The documented rerun (to bring in logins resolved since) after a viewer renamed on
    Twitch: StreamElements lists her under her new login, which chat has seen too."""
    se.points.update({"ann": 500, "dave": 300})
    first = run(engine, se, twitch=None)
    assert numbers(first) == (1, 0, 1)  # dave is not known yet: "no Twitch user by this login"
    se.points.clear()
    se.points.update({"ann_renamed": 500, "dave": 300})
    with engine.begin() as conn:
        seen = [Viewer("t-ann", "ann_renamed"), Viewer("t-dave", "dave")]
        remember_viewers(conn, TWITCH, seen, NOW + timedelta(days=1))

    again = run(engine, se, twitch=None)

    with engine.connect() as conn:
        assert balance_of(conn, GUILD, TWITCH, "t-ann") == 500, "ann's balance imported twice"
        assert balance_of(conn, GUILD, TWITCH, "t-dave") == 300
    assert numbers(again) == (1, 1, 0)


def test_a_balance_imported_by_login_before_is_already_there(engine, se, guild):
    """Rows an earlier StreamKeeper wrote named the login in their reference; the viewer's
    balance is not credited again under the user id's reference, whatever her login is now."""
    with engine.begin() as conn:
        earlier = PointsEntry(
            GUILD,
            TWITCH,
            "t-ann",
            500,
            "import",
            f"streamelements:{CHANNEL_ID}:ann_before",
            NOW,
            actor="import",
        )
        assert credit(conn, earlier) == 500
    se.points.update({"ann": 500, "bob": 120})

    outcome = run(engine, se)

    with engine.connect() as conn:
        assert balance_of(conn, GUILD, TWITCH, "t-ann") == 500, "ann's balance imported twice"
        assert balance_of(conn, GUILD, TWITCH, "t-bob") == 120
    assert numbers(outcome) == (1, 1, 0)


def test_a_dry_run_counts_and_writes_nothing(engine, se, guild):
    se.points.update({"ann": 500, "cat": 1200, "nobody_here": 5})

    dry = run(engine, se, dry_run=True)

    assert numbers(dry) == (2, 0, 1)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM points_ledger")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM points_balances")).scalar() == 0


def test_a_guild_on_the_streamelements_backend_has_nothing_to_import(engine, se, guild):
    se.points["ann"] = 500

    outcome = run(engine, se, backend="streamelements")

    assert outcome.uses_streamelements
    assert outcome.report is None
    assert se.authorizations == []  # StreamElements was not even asked


def test_without_a_guild_named_the_guild_on_the_channel_has_nothing_to_do(engine, se, guild):
    outcome = run(engine, se, guild_id=None, on_channel=[GUILD])

    assert outcome.uses_streamelements
    assert outcome.guild_id == GUILD
    assert se.authorizations == []


def test_without_a_guild_named_the_only_guild_is_credited(engine, se, guild):
    se.points["ann"] = 500

    outcome = run(engine, se, guild_id=None)

    assert outcome.guild_id == GUILD
    assert numbers(outcome) == (1, 0, 0)


def test_without_a_guild_named_several_guilds_are_a_question(engine, se, guild):
    with engine.begin() as conn:
        ensure_guild(conn, 42, NOW)
    with pytest.raises(
        ImportProblem,
        match=r"Say which guild gets the points: --guild <id> \(StreamKeeper has 2 guilds\)",
    ):
        run(engine, se, guild_id=None)


def test_without_a_guild_at_all_the_operator_is_told_to_add_one(engine, se):
    with pytest.raises(ImportProblem) as caught:
        run(engine, se, guild_id=None)
    assert str(caught.value) == (
        "StreamKeeper has no guild yet: add the one that gets the points first (python -m "
        "core guild add, or invite the bot and run !kick setup)."
    )


def test_without_twitch_only_logins_seen_here_resolve(engine, se, guild):
    se.points.update({"ann": 500, "cat": 1200})

    outcome = run(engine, se, twitch=None)

    assert numbers(outcome) == (1, 0, 1)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"jwt": "wrong.jwt"}, "refused the JWT"),
        ({"channel": "not-a-channel"}, "--channel: a StreamElements channel id is 24 hexadecimal"),
        ({"channel": "0123456789abcdef01234567"}, "not 0123456789abcdef01234567's"),
        ({"channel": "0123456789abcdef01234567", "unchecked": True}, "answered 404"),
        (
            {"guild_id": 42},
            r"Guild 42 does not exist in StreamKeeper: add it first \(python -m core guild add",
        ),
    ],
)
def test_bad_input_is_refused_in_one_line(engine, se, guild, options, words):
    se.points["ann"] = 500
    with pytest.raises(ImportProblem, match=words) as caught:
        run(engine, se, **options)
    assert "\n" not in str(caught.value)
    assert JWT not in str(caught.value)


def test_an_unreachable_streamelements_is_refused(engine, guild):
    with FakeStreamElements() as se:
        pass  # stopped: nothing listens there now
    with pytest.raises(ImportProblem, match="StreamElements could not say whose channel"):
        run(engine, se)
    with pytest.raises(ImportProblem, match="Could not read the leaderboard: StreamElements"):
        run(engine, se, unchecked=True)


def test_a_garbled_answer_is_refused(engine, se, guild):
    se.fail_next("garbage")
    with pytest.raises(ImportProblem, match="not JSON"):
        run(engine, se)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "Could not read the JWT file"),
        (b"", "empty"),
        (b"one\ntwo\n", "more than one line"),
        (b"x" * 9000, "more than a JWT"),
        ("é".encode(), "something other than a JWT"),
    ],
)
def test_a_bad_jwt_file_is_refused(tmp_path: Path, content, words):
    path = tmp_path / "jwt.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportProblem, match=words):
        read_jwt(str(path))


def test_a_jwt_file_is_read_without_its_newline(tmp_path: Path):
    path = tmp_path / "jwt.txt"
    path.write_text(JWT + "\n")
    assert read_jwt(str(path)) == JWT
