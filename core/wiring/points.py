"""Points: the per-guild economy that games (the heist) spend and pay out, earned by watching
(after each watchtime tick) and by chatting, and asked about with ``!points`` in chat."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from core.events import ChatMessageSent, Platform, utc
from core.features.payments.service import PaymentDoubts
from core.features.points import se_leaving, se_payments
from core.features.points.chat import PointsChat
from core.features.points.earning import PointsEarning
from core.features.points.ports import Subscribers
from core.features.points.se_payments import SePayments
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsService
from core.features.sub_tiers import repository as sub_tiers_repository
from core.outbox.worker import OutboxWorker
from core.platforms.streamelements.api import CALL_BUDGET_SECONDS, StreamElementsPoints

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

# The client gives up on its own after CALL_BUDGET_SECONDS (retries and waits included); a
# little more so that its own answer, not the worker's timeout, says what happened.
SE_CALL_SECONDS = CALL_BUDGET_SECONDS + 1


class TierSubscribers:
    """Subscribers as the subscription tiers feature knows them: an unexpired record."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def subscribed(
        self, conn: Connection, guild_id: int, platform: Platform, user_ids: Iterable[str]
    ) -> set[str]:
        return set(
            sub_tiers_repository.tiers_of(
                conn, guild_id, str(platform), user_ids, utc(self.clock())
            )
        )

    def subscribed_many(
        self, conn: Connection, keys: Sequence[tuple[int, str, str]]
    ) -> set[tuple[int, str, str]]:
        return sub_tiers_repository.subscribed_among(conn, keys, utc(self.clock()))

    def subscribers_in(
        self, conn: Connection, guild_ids: Sequence[int]
    ) -> set[tuple[int, str, str]]:
        return sub_tiers_repository.subscribers_in(conn, guild_ids, utc(self.clock()))


def subscribers_of(rt: Assembly) -> Subscribers:
    return TierSubscribers(rt.clock)


def install(rt: Assembly) -> None:
    rt.points = PointsService(rt.engine, rt.clock, rt.chat_bots)
    rt.points_earning = PointsEarning(
        rt.engine,
        rt.clock,
        subscribers_of(rt),
        timedelta(minutes=rt.settings.watchtime.active_window_minutes),
        # This process's guilds: each earns right after its own tick, in the process that
        # ticked it (in another process, the tick may land after this one's job has run).
        rt.served_guild_ids,
        chat_bots=rt.chat_bots,
    )
    rt.handle(ChatMessageSent, rt.points_earning.record_chat)
    rt.scheduler.after_tick(
        "points earned by watching",
        lambda: asyncio.to_thread(rt.points_earning.earn_all),
        everywhere=True,
    )
    # The StreamElements backend: a game's payments are outbox calls for the streamelements
    # worker, each guild's in a lane of its own (a retry never pays twice).
    se_client = StreamElementsPoints(base_url=rt.settings.streamelements.api_url)
    rt.points_wallet = SeWallet(rt.engine, rt.clock, rt.cipher, se_client)
    wallet = rt.points_wallet
    payments = SePayments(wallet.payments_account_of, wallet.client, wallet.forget_when_paid)
    rt.call_through(
        OutboxWorker(
            rt.engine,
            se_payments.SERVICE,
            payments.kinds(),
            rt.clock,
            timeout_seconds=SE_CALL_SECONDS,
            max_attempts=se_payments.ATTEMPTS,
            first_backoff_seconds=se_payments.FIRST_BACKOFF_SECONDS,
            max_backoff_seconds=se_payments.MAX_BACKOFF_SECONDS,
            prune_also=se_leaving.prune_ended,  # settled stakes and kept JWTs, with ended payments
        )
    )
    rt.on_shutdown(rt.points_wallet.client.aclose)
    # A payment whose fate is unknown ends uncertain: an admin settles it (paid, or again).
    rt.payment_doubts = PaymentDoubts(rt.engine, rt.clock)
    rt.metrics.gauge_at_scrape(
        "streamkeeper_outbox_uncertain",
        "Outbox calls that ended uncertain and no admin settled yet, by service.",
        "service",
        # Read at each scrape, for every service with a worker (all are installed by then).
        lambda: rt.payment_doubts.in_doubt_by_service([w.service for w in rt.outbox_workers]),
    )
    for command in PointsChat(rt.points, rt.points_wallet).commands():
        rt.chat_commands.add(command)
