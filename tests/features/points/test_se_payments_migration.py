"""Migration 0025 moves the StreamElements payments of the old ``points_se_outbox`` table into the
outbox, each with its meaning: a waiting one is paid by the worker, one a crash cut off ends
uncertain and is never sent, the sent and the uncertain stay as they were, and a settlement
retried after the upgrade pays nothing twice."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.features.points.se_wallet import Settlement, SeWallet
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from core.storage.db import create_engine, migrate
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.points.se_support import payments, payments_worker
from tests.features.points.test_earning import T0
from tests.support.clock import Clock
from tests.support.waiting import no_sleep

GUILD = 4242


def old_rows(engine) -> None:
    rows = [
        ("ann", 50, "r-pending", "pending", None, None),
        ("bob", -70, "r-sending", "sending", None, T0),
        ("cat", 30, "r-sent", "sent", 130, T0),
        ("dan", 20, "r-uncertain", "uncertain", None, T0),
    ]
    with engine.begin() as conn:
        for username, amount, ref, state, balance, sent_at in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO points_se_outbox (guild_id, username, amount, source, "
                    "source_ref, state, new_balance, created_at, sent_at) VALUES (:g, :u, :a, "
                    "'heist', :r, :s, :b, :c, :t)"
                ),
                {
                    "g": GUILD,
                    "u": username,
                    "a": amount,
                    "r": ref,
                    "s": state,
                    "b": balance,
                    "c": T0 - timedelta(minutes=1),
                    "t": sent_at,
                },
            )


async def test_payments_keep_their_meaning_across_the_move(database_url):
    engine = create_engine(database_url)
    try:
        migrate(engine, to="0024")
        old_rows(engine)
        migrate(engine)
        assert "points_se_outbox" not in sa.inspect(engine).get_table_names()
        assert payments(engine) == [
            ("ann", 50, "pending"),
            ("bob", -70, "pending"),  # in flight when the old process died
            ("cat", 30, "done"),
            ("dan", 20, "uncertain"),
        ]
        with FakeStreamElements() as se:
            async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
                wallet = SeWallet(engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), client)
                wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
                # The game's settlement retried after the upgrade: nothing new to pay.
                again = [Settlement(name, f"hold-{name}", 1, f"r-{what}")
                         for name, what in (("ann", "pending"), ("cat", "sent"))]  # fmt: skip
                assert wallet.settle(GUILD, "heist", again) == 0
                worker = payments_worker(wallet)
                assert await worker.run_once() == 2
                assert await worker.run_once() == 0
            assert se.puts == [("ann", 50)]  # bob's may have landed before: never sent again
        assert payments(engine) == [
            ("ann", 50, "done"),
            ("bob", -70, "uncertain"),
            ("cat", 30, "done"),
            ("dan", 20, "uncertain"),
        ]
    finally:
        engine.dispose()
