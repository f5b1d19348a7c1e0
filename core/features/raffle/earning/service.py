"""How viewers earn tickets from watchtime and gifted subs, inside one transaction each.

Watchtime: each viewer's watchtime total when the period opened is its baseline; every full hour
above it is worth the guild's rate. The hours already paid are kept with a compare-and-set, and
the ledger reference ``<platform>:<user id>:<hours>`` names the hour count reached, so two
converters never pay one hour twice. The part of an hour not yet full carries on.

Gifts: ``channel.subscription.gifts`` (webhook) and the Pusher gift events describe the same gift
with different ids and fields: the webhook gives user ids, Pusher only usernames and no time. The
one thing both give is the gifter's and the giftees' usernames, so a gift's reference is a hash
of the broadcaster, the gifter's name and the sorted giftee names (lower case). Copies of one
gift arrive within minutes; the same gifter gifting the same viewers again later (Kick gifts only
viewers without a sub, so a month on) is another gift: :func:`gift_identity` gives it the
reference with its own time (by :data:`GIFT_WINDOW`), so it earns tickets and alerts again.
Giftees given by user id without a name make the reference from the sorted ids instead (stable
across redeliveries, which each carry a new message id); only a gift that names no giftee at
all falls back to its event id.

Twitch tells one gift up to three ways (``channel.subscription.gift``, the chat notice
``community_sub_gift`` or ``sub_gift``, and one ``channel.subscribe`` with ``is_gift`` per
recipient), each possibly twice (webhook and socket, with different message ids). Tickets come
from the gifter's side only, and the reference is made from the event's ``gift_key`` (the gifter
and their cumulative gift total, or the community gift's id), the same for every source and
transport of one gift. A Twitch gift without a key (the total hidden by the gifter) is not
counted from ``channel.subscription.gift``: its chat notice carries the community gift's id and
counts it instead (``docs/twitch.md``, "Subs and gifts: who counts what").
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.engine import Connection

from core.events import SubscriptionsGifted
from core.features.raffle import ledger_repository
from core.features.raffle.earning import conversions_repository
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.repository import GuildRaffleSettings, Period
from core.features.raffle.tables import raffle_balances
from core.features.viewers.in_guild import CHATTED, event_viewer_id

log = logging.getLogger(__name__)
# The viewers a name finds in a guild's raffle: who chatted or watched in the guild, or held
# tickets in one of its periods (given, imported or earned by a gift or a sub, without chatting).
RAFFLE_VIEWERS = (*CHATTED, raffle_balances)


class PeriodClosed(Exception):
    """The period closed while tickets were being written; the transaction is rolled back."""


Result = TypeVar("Result")
TRIES_ACROSS_A_CLOSE = 3


def hold(conn: Connection, period: Period) -> None:
    """Hold ``period`` open to the end of the caller's transaction (on PostgreSQL a close
    waits for it); :class:`PeriodClosed` when a close ended it meanwhile. Hold it before
    writing anything the close would have to see (a gift, a wager's progress): written after
    the close had read, it would count in no period."""
    if not periods_repository.hold_open_period(conn, period.guild_id, period.id):
        raise PeriodClosed(period.id)


def across_a_close(work: Callable[[], Result]) -> Result:
    """``work()``, a transaction that holds its open period, tried again when that period
    closed while it ran: the next try reads the period the close opened (the earnings of a
    closed period count in the next one). Raises :class:`PeriodClosed` after three closes."""
    for tried in range(1, TRIES_ACROSS_A_CLOSE + 1):
        try:
            return work()
        except PeriodClosed:
            if tried == TRIES_ACROSS_A_CLOSE:
                raise
    raise AssertionError("unreachable")


def convert_watchtime(
    conn: Connection, period: Period, settings: GuildRaffleSettings, now: datetime
) -> int:
    """Turn full hours watched inside ``period`` into tickets for the whole guild at once (a
    few statements, however many viewers); return the tickets given. Raises
    :class:`PeriodClosed` when the period is not open any more."""
    hold(conn, period)
    _, tickets = earning_repository.convert_watch_hours(
        conn, period.guild_id, period.id, settings.watch_hour_tickets, now
    )
    return tickets


def convert_watchtime_many(conn: Connection, guild_ids: Sequence[int], now: datetime) -> int:
    """``convert_watchtime`` for the open period of each guild given (those without one are
    skipped, as are periods closed meanwhile): two statements on PostgreSQL, four on SQLite,
    however many guilds and viewers. Return the tickets given."""
    held = conversions_repository.hold_open_periods(conn, guild_ids)
    paid = conversions_repository.convert_watch_hours_many(conn, held, now)
    return sum(tickets for _, tickets in paid.values())


def gift_reference(event: SubscriptionsGifted) -> str:
    """The same for every delivery and source of one gift: the platform's gift key when there
    is one (Twitch), else the giftees' names when all are known, else their user ids (webhooks
    always give those), and only for a gift that names no giftee at all the event's own key
    (each delivery's, so it may count per delivery)."""
    if event.gift_key:
        parts = ["gift-key", str(event.platform), event.broadcaster_user_id, event.gift_key]
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return "g" + digest[:15]
    names = sorted(giftee.username.strip().lower() for giftee in event.giftees)
    ids = sorted(giftee.platform_user_id or "" for giftee in event.giftees)
    gifter = event.gifter.username.strip().lower() if event.gifter else ""
    if names and all(names):
        parts = ["gift", event.broadcaster_user_id, gifter, *names]
    elif ids and all(ids):
        gifter_id = (event.gifter.platform_user_id if event.gifter else None) or gifter
        parts = ["gift-ids", event.broadcaster_user_id, gifter_id, *ids]
    else:
        parts = ["gift-event", event.key]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return "g" + digest[:15]


# How far apart two copies of one gift can be told (a webhook retried or delayed up to Kick's
# 10-minute age limit, Pusher's frames, a backlog on the bus); further apart, another gift.
GIFT_WINDOW = timedelta(minutes=30)
# Far beyond any real gift (Kick and Twitch sell gifts by the dozen or hundred): a count past
# it is refused, so its tickets can never overflow a balance (a signed Twitch total may say
# up to 2**63 - 1).
MOST_GIFTED_AT_ONCE = 10_000


def gift_identity(
    event: SubscriptionsGifted,
    recorded_at: Callable[[str], datetime | None],
    now: datetime | None = None,
) -> str:
    """The reference to record this gift under. The first gift of a gifter to some viewers has
    :func:`gift_reference` (so what was recorded before keeps its reference). One told within
    :data:`GIFT_WINDOW` of that one's record (by its own time, or by ``now``: copies handled
    late, from a backlog, are handled close together) is that gift: the same reference, whose
    insert then changes nothing. One later is a repeat gift, referenced with the window its
    time falls in, or the window before when that one is recorded (a copy told across the
    edge). ``recorded_at(reference)`` is when a reference was recorded, or None."""
    first = gift_reference(event)
    if event.gift_key or _reference_parts(event)[0] == "gift-event":
        return first  # the gift's own key (Twitch's) or the delivery's: already its identity
    seen = recorded_at(first)
    times = [event.occurred_at] if now is None else [event.occurred_at, now]
    if seen is None or any(abs(at - seen) <= GIFT_WINDOW for at in times):
        return first
    window = int(event.occurred_at.timestamp() // GIFT_WINDOW.total_seconds())
    before = _windowed(event, window - 1)
    return before if recorded_at(before) is not None else _windowed(event, window)


def _windowed(event: SubscriptionsGifted, window: int) -> str:
    parts = [*_reference_parts(event), f"w{window}"]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return "g" + digest[:15]


def _reference_parts(event: SubscriptionsGifted) -> list[str]:
    if event.gift_key:
        return ["gift-key", str(event.platform), event.broadcaster_user_id, event.gift_key]
    names = sorted(giftee.username.strip().lower() for giftee in event.giftees)
    ids = sorted(giftee.platform_user_id or "" for giftee in event.giftees)
    gifter = event.gifter.username.strip().lower() if event.gifter else ""
    if names and all(names):
        return ["gift", event.broadcaster_user_id, gifter, *names]
    if ids and all(ids):
        gifter_id = (event.gifter.platform_user_id if event.gifter else None) or gifter
        return ["gift-ids", event.broadcaster_user_id, gifter_id, *ids]
    return ["gift-event", event.key]


@dataclass(frozen=True)
class GiftOutcome:
    reference: str
    tickets: int
    pending: bool
    is_new: bool


def record_gift(
    conn: Connection,
    period: Period,
    settings: GuildRaffleSettings,
    event: SubscriptionsGifted,
    now: datetime,
) -> GiftOutcome | None:
    """Record a gift for its gifter; None when it earns nothing (anonymous, unknown gifter)."""
    if event.gifter is None:
        return None
    if event.told_again_with_its_key:
        log.info(
            "guild %s: Twitch gift without a gift key (total hidden); its chat notice counts it",
            period.guild_id,
        )
        return None
    count = event.count or len(event.giftees)
    if count <= 0:
        return None
    if count > MOST_GIFTED_AT_ONCE:
        log.warning(
            "guild %s: a gift of %d subscriptions is more than any real gift; no tickets",
            period.guild_id,
            count,
        )
        return None
    gifter_id = event.gifter.platform_user_id
    if gifter_id is None:  # Kick's Pusher names the gifter only: this server's of that name
        gifter_id = event_viewer_id(
            conn, period.guild_id, event.platform, event.gifter.username, RAFFLE_VIEWERS
        )
        if gifter_id is None:
            log.warning(
                "guild %s: gift by a viewer I cannot identify by name; no tickets",
                period.guild_id,
            )
            return None
    reference = gift_identity(
        event, lambda ref: earning_repository.gift_received_at(conn, period.guild_id, ref), now
    )
    hold(conn, period)  # a gift written after the close read the pending ones is in no period
    tickets = count * settings.gifted_sub_tickets
    # A copy handled after the period rolled over (the other transport's, Twitch's chat notice,
    # a redelivery) is the gift recorded in the period before: a reference counts once per
    # guild, not once per period.
    earlier = earning_repository.find_gift(conn, period.guild_id, reference)
    if earlier is not None and earlier.period_id != period.id:
        return GiftOutcome(reference, earlier.tickets, pending=False, is_new=False)
    held_for = timedelta(minutes=settings.gift_hold_minutes)
    is_new = earning_repository.add_gift(
        conn,
        guild_id=period.guild_id,
        period_id=period.id,
        reference=reference,
        platform=event.platform,
        platform_user_id=gifter_id,
        gifter_name=event.gifter.username,
        giftees=count,
        tickets=tickets,
        received_at=now,
        release_at=now + held_for,
    )
    if not is_new:
        return GiftOutcome(reference, tickets, pending=False, is_new=False)
    if held_for:
        return GiftOutcome(reference, tickets, pending=True, is_new=True)
    gift = earning_repository.find_gift(conn, period.guild_id, reference)
    assert gift is not None  # noqa: S101 (inserted above, in this transaction)
    grant_gift(conn, period.guild_id, gift, now)
    return GiftOutcome(reference, tickets, pending=False, is_new=True)


def grant_gift(
    conn: Connection, guild_id: int, gift: earning_repository.Gift, now: datetime
) -> bool:
    """Pending -> granted, with its ledger row; False if it was not pending any more."""
    if not earning_repository.set_gift_status(conn, gift.id, "pending", "granted"):
        return False
    if not ledger_repository.add_ledger_entry(
        conn,
        guild_id=guild_id,
        period_id=gift.period_id,
        platform=gift.platform,
        platform_user_id=gift.platform_user_id,
        amount=gift.tickets,
        source="gift",
        source_ref=gift.reference,
        actor_id=None,
        reason=f"gifted {gift.giftees} sub(s)",
        at=now,
    ):
        raise PeriodClosed(gift.period_id)
    return True
