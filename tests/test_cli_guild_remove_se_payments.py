"""``python -m core guild remove`` of a server that kept its points in StreamElements: the
payments owed there that the bot has not made (waiting, given up on, in doubt) go with the
server's data and its JWT, so the command names each, with who and how much, before they go
(the dry run) and as they go (``--yes``), for the streamer to pay by hand. On SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from core.features.points.se_payments import queue_payment, resend_given_up
from core.outbox import store
from core.storage.db import create_engine
from core.storage.tables import outbox
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture
from tests.test_cli_guild_remove import OTHER, _set_up, env  # noqa: F401 - fixture

NOW = datetime(2030, 6, 1, 20, 15, tzinfo=UTC)
CHANNEL = "5b2e2007760aeb7729487dab"
DROPPED = [
    "  ann +100 (heist #12 payout): waiting to be made",
    "  bob -50 (heist #12 loss): given up on (it did not land)",
    "  cat +30 (admin change (raid)): in doubt (it may have landed: check cat's balance first)",
    "  fay +20 (heist #12 payout): waiting to be made",  # given up, then queued again: once
]


def _owe(settings: dict[str, str]) -> None:
    """Guild's heist owes ann and bob; an admin's change to cat is in doubt; one payment was
    made; the other server owes dan."""
    engine = create_engine(settings["DATABASE_URL"])
    payments = [
        (GUILD, "ann", 100, "heist", "12:twitch:1:payout", {}, store.PENDING, None),
        (
            GUILD,
            "bob",
            -50,
            "heist",
            "12:twitch:2:loss",
            {},
            store.FAILED,
            "StreamElements refused",
        ),
        (GUILD, "cat", 30, "admin", "discord:9", {"reason": "raid"}, store.UNCERTAIN, "500"),
        (GUILD, "eve", 70, "heist", "11:twitch:5:payout", {}, store.DONE, "70 now"),
        (GUILD, "fay", 20, "heist", "12:twitch:6:payout", {}, store.FAILED, "refused"),
        (OTHER, "dan", 10, "heist", "3:twitch:4:payout", {}, store.PENDING, None),
    ]
    with engine.begin() as conn:
        for guild, login, amount, source, ref, record, state, result in payments:
            record = {**record, "channel": CHANNEL} if login == "fay" else record
            queue_payment(conn, int(guild), login, amount, source, ref, NOW, **record)
            if state != store.PENDING:
                conn.execute(
                    sa.update(outbox)
                    .where(outbox.c.payload.contains(f'"ref":"{ref}"'))
                    .values(state=state, result=result, finished_at=NOW)
                )
        resend_given_up(conn, int(GUILD), CHANNEL, NOW, was_on=None)  # fay's, not bob's
    engine.dispose()


def test_the_payments_never_to_be_made_are_named_before_and_as_they_go(env):  # noqa: F811
    _set_up(env, GUILD)
    _set_up(env, OTHER)
    _owe(env)

    dry = cli(env, "guild", "remove", GUILD)
    removed = cli(env, "guild", "remove", GUILD, "--yes")

    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    start = lines.index(
        "StreamElements payments that would never be made (the server's JWT goes with its "
        "data); pay them by hand on StreamElements if they are still owed:"
    )
    assert lines[start + 1 : start + 5] == DROPPED
    assert "dan" not in dry.stdout
    assert removed.returncode == 0, removed.stderr
    lines = removed.stdout.splitlines()
    start = lines.index(
        "StreamElements payments dropped, never to be made (the server's JWT went with its "
        "data); pay them by hand on StreamElements if they are still owed:"
    )
    assert lines[start + 1 : start + 5] == DROPPED
