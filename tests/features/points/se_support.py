"""The StreamElements payments as the running bot makes them: the ``streamelements`` outbox
worker with its one kind, and what the outbox holds of those payments."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.features.points import se_payments
from core.features.points.se_wallet import SeWallet
from core.outbox import store
from core.outbox.worker import OutboxWorker
from core.storage.tables import outbox
from core.wiring.points import SE_CALL_SECONDS


def payments_worker(wallet: SeWallet, **options: object) -> OutboxWorker:
    """The worker the runtime runs (``core/wiring/points.py``), on the wallet's engine and clock."""
    payments = se_payments.SePayments(
        wallet.payments_account_of, wallet.client, wallet.forget_when_paid
    )
    return OutboxWorker(
        wallet.engine,
        se_payments.SERVICE,
        payments.kinds(),
        wallet.clock,
        **{  # type: ignore[arg-type]
            "first_backoff_seconds": se_payments.FIRST_BACKOFF_SECONDS,
            "timeout_seconds": SE_CALL_SECONDS,  # the time its client's retries fit in
            **options,
        },
    )


def payments(engine: Engine) -> list[tuple[str, int, str]]:
    """(login, amount, state) of every StreamElements payment, in the order queued."""
    o = outbox.c
    query = sa.select(o.payload, o.state).where(o.service == se_payments.SERVICE).order_by(o.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(*_login_and_amount(row.payload), row.state) for row in rows]


def _login_and_amount(payload: str) -> tuple[str, int]:
    call = json.loads(payload)
    return call["username"], call["amount"]


def die_while_paying(engine: Engine, now: datetime) -> None:
    """A worker claims the first due payment, starts its call and is killed before it hears
    what became of it."""
    lease = now + timedelta(seconds=30)
    with engine.begin() as conn:
        [call] = store.claim(conn, se_payments.SERVICE, "killed-worker", now, lease, 1)
        assert store.start(conn, call.id, "killed-worker", lease)
