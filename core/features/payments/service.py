"""Payments in doubt, settled by a person.

StreamElements' points change has no idempotency key, so a payment whose fate is unknown ends
``uncertain`` and is never sent again (``core/features/points/se_payments.py``); the same holds
for any outbox call of a kind that is not idempotent. :class:`PaymentDoubts` lists a guild's such
calls with who, how much, why and the service's words, and lets an admin settle each once:
``paid`` (it landed: nothing more is sent) or ``again`` (it did not: the same call is queued anew
under ``<old key>:again``, so it can be queued only once). Settling is a compare-and-set on the
settlement's unique call id: of two admins at once, one settles and the other is told by whom.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.features.directory import repository as directory
from core.features.payments import repository
from core.features.payments.repository import SettlementRow, UncertainCall
from core.features.refusals import Refused
from core.features.typed_numbers import whole_in
from core.health import Check
from core.outbox import store
from core.outbox.store import Effect, again_key

PAID, AGAIN = "paid", "again"
ACTIONS = (PAID, AGAIN)
PAYMENTS_SERVICE = "streamelements"  # core.features.points.se_payments.SERVICE
LISTED = 50  # calls one list shows, newest first
REASON_MAX = 200


class SettleRefused(Refused):
    """The call cannot be settled as asked; the message says why."""


class AlreadySettled(SettleRefused):
    """Someone settled this call before; ``settlement`` says who, how and when (``admin``:
    their name, when the server's directory knows it)."""

    def __init__(self, settlement: SettlementRow, admin: str | None = None) -> None:
        words = settled_words(settlement, admin)
        super().__init__(f"Call #{settlement.call_id} was settled already: {words}.")
        self.settlement = settlement


@dataclass(frozen=True)
class Doubt:
    """A call in doubt, in words: ``who`` and ``amount`` for a payment (None otherwise),
    ``why`` what it came from, ``result`` what its service said."""

    id: int
    service: str
    kind: str
    key: str
    who: str | None
    amount: int | None
    why: str
    result: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def is_payment(self) -> bool:
        return self.service == PAYMENTS_SERVICE


@dataclass(frozen=True)
class Settled:
    """A settlement just made; ``queued`` is False when "again" found its call queued before."""

    doubt: Doubt
    action: str
    again_key: str | None
    queued: bool


def parse_action(text: str) -> str:
    action = text.strip().casefold()
    if action not in ACTIONS:
        raise SettleRefused(
            "Say paid (you checked: it landed) or again (it did not: send it once more)."
        )
    return action


WHERE_SETTLED = {"discord": "in Discord", "dashboard": "on the dashboard", "cli": "from the server"}


def settled_words(settlement: SettlementRow, admin: str | None = None) -> str:
    """ "marked paid by Bea on the dashboard on 2026-11-26 08:30 UTC: reason" (``admin``: the
    admin's name; "an admin" when none is known)."""
    done = "marked paid" if settlement.action == PAID else "sent again"
    where = WHERE_SETTLED.get(settlement.actor, f"({settlement.actor})")
    if settlement.actor_id is not None:
        who = f"{admin or 'an admin'} {where}"
    else:
        who = f"the operator {where}"
    when = settlement.created_at.strftime("%Y-%m-%d %H:%M UTC")
    reason = f": {settlement.reason}" if settlement.reason else ""
    return f"{done} by {who} on {when}{reason}"


def why_of(
    payload: dict[str, object], kind: str, summary: str = "", names: Mapping[int, str] | None = None
) -> str:
    """What a queued call came from: the game or admin change of a payment (its ``source``,
    ``ref`` and record; the admin by ``names``, member id -> name), else what it does (its
    ``summary``), else its kind."""
    source, ref = payload.get("source"), str(payload.get("ref", ""))
    if source == "heist":
        heist_id, _, rest = ref.partition(":")
        what = rest.rsplit(":", 1)[-1] if rest else ""
        return f"heist #{heist_id} {what}".strip()
    if source == "admin":
        words = "admin change"
        name = (names or {}).get(_member_id(payload.get("actor_id")))  # type: ignore[arg-type]
        if name:
            words += f" by {name}"
        elif payload.get("actor") == "cli":
            words += " by the operator (command line)"
        if payload.get("reason"):
            words += f" ({payload['reason']})"
        return words
    if source is not None:
        return f"{source} {ref}".strip()
    return summary or kind


def _member_id(value: object) -> int | None:
    """A payload's admin id (stored as a number or its digits); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return whole_in(value, low=1) if isinstance(value, str) else None


def admins_named(
    conn: Connection, guild_id: int, calls: Collection[UncertainCall]
) -> dict[int, str]:
    """The names of the admins whose changes ``calls`` came from (member id -> name)."""
    ids = {_member_id(call.payload.get("actor_id")) for call in calls}
    return directory.member_names(conn, guild_id, {i for i in ids if i is not None})


def doubt_of(call: UncertainCall, names: Mapping[int, str] | None = None) -> Doubt:
    payload = call.payload
    who = payload.get("username")
    amount = payload.get("amount")
    return Doubt(
        call.id,
        call.service,
        call.kind,
        call.key,
        str(who) if who is not None else None,
        amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        why_of(payload, call.kind, call.summary, names)
        + (" (sent again)" if call.key.endswith(":again") else ""),
        call.result,
        call.created_at,
        call.finished_at,
    )


class PaymentDoubts:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def doubtful(self, guild_id: int, limit: int = LISTED) -> list[Doubt]:
        """The guild's calls in doubt (unsettled), newest first."""
        with self.engine.connect() as conn:
            calls = repository.list_in_doubt(conn, guild_id, limit)
            names = admins_named(conn, guild_id, calls)
        return [doubt_of(call, names) for call in calls]

    def knows(self, guild_id: int) -> bool:
        """Whether the bot ever queued a call for this guild: a guild with nothing in doubt
        now, as opposed to a guild id nobody uses."""
        with self.engine.connect() as conn:
            return repository.has_calls(conn, guild_id)

    def count(self, guild_id: int) -> int:
        with self.engine.connect() as conn:
            return repository.count_in_doubt(conn, guild_id)

    def settle(
        self,
        guild_id: int,
        call_id: int,
        action: str,
        *,
        actor: str,
        actor_id: int | None = None,
        reason: str = "",
    ) -> Settled:
        """Settle the guild's call ``call_id`` once (``paid`` or ``again``), recorded with the
        admin (``actor_id``, and ``actor``: where they did it). Raises :class:`SettleRefused`
        for a call that is not this guild's or not in doubt, :class:`AlreadySettled` when
        someone settled it first. "again" queues the same call under :func:`again_key` in the
        same transaction."""
        action = parse_action(action)
        now = self.clock()
        with self.engine.begin() as conn:
            call = repository.call_of_guild(conn, guild_id, call_id)
            if call is None:
                raise SettleRefused(f"There is no call #{call_id} in this server.")
            if call.state != store.UNCERTAIN:
                said = call.result or "no word from the service"
                raise SettleRefused(f"Call #{call_id} is not in doubt: {call.state} ({said}).")
            key = again_key(call.key) if action == AGAIN else None
            is_first = repository.record_settlement(
                conn, call, action, key, actor_id, actor, reason.strip()[:REASON_MAX], now
            )
            if not is_first:
                settlement = repository.settlement_of(conn, call_id)
                if settlement is None:  # pragma: no cover - a unique row does not vanish
                    raise SettleRefused(f"Call #{call_id} was settled already.")
                admin = directory.member_names(conn, guild_id, [settlement.actor_id or 0])
                raise AlreadySettled(settlement, admin.get(settlement.actor_id or 0))
            queued = False
            if key is not None:
                effect = Effect(
                    call.service, call.kind, call.guild_id, key, call.payload, call.summary
                )
                queued = store.enqueue(conn, effect, now)
            names = admins_named(conn, guild_id, [call])
        return Settled(doubt_of(call, names), action, key, queued)

    # --- counts for /metrics and health -------------------------------------------------------

    def in_doubt_by_service(self, services: Collection[str] = ()) -> dict[str, int]:
        """Calls in doubt over every guild, by service, for each of ``services`` and
        StreamElements' (0 where there are none)."""
        named = {PAYMENTS_SERVICE, *services}
        with self.engine.connect() as conn:
            found = repository.in_doubt_by_service(conn, named)
        return {service: found.get(service, 0) for service in sorted(named)}

    def health_check(self) -> Check:
        """ "N payment(s) in doubt in M server(s)": information for a person, never a failure
        (the database's own check says when it cannot be read)."""
        try:
            with self.engine.connect() as conn:
                calls, guilds = repository.guilds_in_doubt(conn, PAYMENTS_SERVICE)
        except Exception:
            return Check("payments", True, "not counted: the database did not answer")
        return Check(
            "payments",
            True,
            f"{calls} payment(s) in doubt in {guilds} server(s)"
            + (": settle them with !payments or the dashboard" if calls else ""),
            degraded=calls > 0,
        )
