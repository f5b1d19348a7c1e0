"""The points economy's service: balances, the currency's name, admin grants and removals,
and the spends and credits games make. Front ends (chat, Discord, the command line) call it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import Platform
from core.features.amounts import AmountNotUnderstood, parse_whole_amount
from core.features.chat_bots import ChatBots
from core.features.chat_commands.text import clean_text
from core.features.points import accrual, board, repository
from core.features.points.board import BalanceRow, RankedBalance
from core.features.points.rates import RATE_HELP, RATE_NAMES, Rates, read_rates, write_rate
from core.features.points.repository import NotEnough, PointsEntry
from core.features.refusals import Refused
from core.features.viewers.search import name_query

DEFAULT_NAME = "points"
MAX_AMOUNT = 1_000_000_000
NAME_LENGTH = 32
MAX_REASON = 200  # an admin's reason, as the ledger and the outbox row keep it
FORM_USED = "This form was used already; reload the page."


class PointsRefused(Refused):
    """A points request cannot be done as asked; the message is for the user."""


class NotEnoughPoints(PointsRefused):
    """A spend asked for more than the balance; nothing was taken."""

    def __init__(self, message: str, *, balance: int, needed: int) -> None:
        super().__init__(message)
        self.balance = balance
        self.needed = needed


def parse_amount(text: str) -> int:
    """A points amount as an admin types it (Discord or the command line): ``1,000`` or
    ``1000`` -> 1000; ``1,5`` (15, or one and a half?) and anything else is refused, with words
    for the person who typed it."""
    try:
        amount = parse_whole_amount(text)
    except AmountNotUnderstood as exc:
        if exc.ambiguous:
            raise PointsRefused(str(exc)) from None
        amount = 0
    if not 0 < amount <= MAX_AMOUNT:
        raise PointsRefused(f"The amount is a whole number from 1 to {MAX_AMOUNT:,}.")
    return amount


def checked_reason(reason: str) -> str:
    """An admin's reason as kept (trimmed); refused when longer than :data:`MAX_REASON`, so
    that what is kept is what was typed (Discord, the command line and the dashboard alike)."""
    kept = reason.strip()
    if len(kept) > MAX_REASON:
        raise PointsRefused(f"Keep the reason under {MAX_REASON} characters.")
    return kept


def one_account(rows: Sequence[BalanceRow]) -> BalanceRow:
    """The one account of ``rows`` (one at least); refused, naming them, when they are more."""
    if len(rows) > 1:
        names = " or ".join(f"{row.platform}:{row.username}" for row in rows)
        raise PointsRefused(f"That is more than one account; say which: {names}.")
    return rows[0]


def _made_before(conn: Connection, entry: PointsEntry, signed: int) -> bool:
    """Whether this admin request's change (``signed``: its amount, negative for a removal) is
    in the ledger already. A reference used for another change (a form whose Give went
    through, sent again with Take away or another amount) is refused, not taken for it."""
    found = repository.written_change(conn, entry)
    if found is None:
        return False
    if found != (str(entry.platform), entry.platform_user_id, signed):
        raise PointsRefused(FORM_USED)
    return True


class PointsService:
    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], chat_bots: ChatBots | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.chat_bots = chat_bots or ChatBots()  # left off the board, though they have rows

    # --- the currency's name ---------------------------------------------------------------

    def name(self, guild_id: int) -> str:
        with self.engine.connect() as conn:
            return repository.names_of(conn, [guild_id]).get(guild_id, DEFAULT_NAME)

    def set_name(self, guild_id: int, name: str) -> str:
        """The name as kept: folded (full-width letters and signs to plain ones), without invisible
        characters (a zero-width space copied along, a direction override that turns the rest
        of every line around), on one line; refused when nothing or a mention is left."""
        cleaned = clean_text(name)
        if not cleaned or len(cleaned) > NAME_LENGTH:
            raise PointsRefused(f"A name for points is 1 to {NAME_LENGTH} characters.")
        if any(ch in cleaned for ch in "@#<>`*_~|\\"):
            raise PointsRefused("A name for points is plain text: letters, digits and spaces.")
        with self.engine.begin() as conn:
            repository.save_name(conn, guild_id, cleaned, self.clock())
        return cleaned

    # --- rates -------------------------------------------------------------------------------

    def rates(self, guild_id: int) -> Rates:
        with self.engine.connect() as conn:
            return read_rates(conn, guild_id)

    def set_rate(self, guild_id: int, name: str, value: str) -> Rates:
        """``name`` as streamers type it (watch, sub, chat, chatcap, window); ``value`` as typed."""
        found = RATE_NAMES.get(name.strip().casefold())
        if found is None:
            known = ", ".join(f"{key} ({RATE_HELP[key]})" for key in RATE_NAMES)
            raise PointsRefused(f"There is no rate {name.strip()[:20]!r}. Rates: {known}.")
        column, low, high = found
        try:
            number = parse_whole_amount(value)
        except AmountNotUnderstood as exc:
            if exc.ambiguous:
                raise PointsRefused(str(exc)) from None
            number = -1
        if not low <= number <= high:
            raise PointsRefused(
                f"The {name.strip().casefold()} rate is a whole number from {low} to {high}."
            )
        with self.engine.begin() as conn:
            return write_rate(conn, guild_id, column, number, self.clock())

    # --- reading -----------------------------------------------------------------------------

    def balance(self, guild_id: int, platform: Platform, platform_user_id: str) -> int:
        with self.engine.connect() as conn:
            return repository.balance_of(conn, guild_id, platform, platform_user_id)

    def balances_of_accounts(
        self, accounts: Sequence[tuple[str, str]]
    ) -> dict[tuple[int, str, str], int]:
        """(guild id, platform, user id) -> balance, of these viewers wherever they hold one."""
        with self.engine.connect() as conn:
            return repository.balances_of_accounts(conn, accounts)

    def names(self, guild_ids: Sequence[int]) -> dict[int, str]:
        """Each guild's name for its points (``name`` for many guilds at once)."""
        with self.engine.connect() as conn:
            named = repository.names_of(conn, guild_ids)
        return {guild_id: named.get(guild_id, DEFAULT_NAME) for guild_id in guild_ids}

    def pending(self, guild_id: int, platform: Platform, platform_user_id: str) -> int:
        """Earned and not posted to the ledger yet (it is at the end of the window)."""
        with self.engine.connect() as conn:
            return accrual.pending_of(conn, guild_id, platform, platform_user_id)

    def leaderboard(self, guild_id: int, limit: int = 10, offset: int = 0) -> list[RankedBalance]:
        with self.engine.connect() as conn:
            return board.top(conn, guild_id, limit, offset, self.chat_bots)

    def count_holders(self, guild_id: int) -> int:
        with self.engine.connect() as conn:
            return board.count_holders(conn, guild_id, self.chat_bots)

    def rank(self, guild_id: int, points: int) -> int:
        with self.engine.connect() as conn:
            return board.rank_of(conn, guild_id, points, self.chat_bots)

    def place(self, guild_id: int, points: int) -> str:
        """A balance's rank as the board shows it: ``#3``, or ``=3`` when shared."""
        with self.engine.connect() as conn:
            return board.place_of(conn, guild_id, points, self.chat_bots)

    def find_ids(self, guild_id: int, platform: Platform, username: str) -> list[str]:
        """Viewers currently known by this name (on the platform) who were seen in this guild."""
        with self.engine.connect() as conn:
            return board.ids_by_name(conn, guild_id, platform, username)

    def name_of(self, platform: Platform, platform_user_id: str) -> str | None:
        """The viewer's current name on the platform; None while none was seen."""
        with self.engine.connect() as conn:
            return board.name_of(conn, platform, platform_user_id)

    def holders_named(self, guild_id: int, name: str) -> list[BalanceRow]:
        """The viewers called ``name`` (``kick:name`` or ``twitch:name`` for one platform) who
        were seen in this guild, with their balance here (0 for one who never earned)."""
        query = name_query(name)
        if query is None:
            raise PointsRefused("Name a viewer: their Kick or Twitch name, or @member.")
        found = []
        with self.engine.connect() as conn:
            for platform in query.platforms:
                for user_id in board.ids_by_name(conn, guild_id, platform, query.name):
                    balance = repository.balance_of(conn, guild_id, platform, user_id)
                    found.append(BalanceRow(platform, user_id, query.name, balance))
        return found

    def known_holders_named(self, guild_id: int, name: str) -> list[BalanceRow]:
        """:meth:`holders_named`, refused plainly when no viewer is called ``name``."""
        found = self.holders_named(guild_id, name)
        if not found:
            raise PointsRefused(f"No viewer called {name.strip()[:64]!r} has chatted here.")
        return found

    def holder_named(self, guild_id: int, name: str) -> BalanceRow:
        """The one viewer called ``name``: refused when there is none, or more than one."""
        return one_account(self.known_holders_named(guild_id, name))

    def export(self, guild_id: int) -> list[BalanceRow]:
        with self.engine.connect() as conn:
            return board.all_rows(conn, guild_id)

    # --- admin -------------------------------------------------------------------------------

    def give(
        self,
        guild_id: int,
        platform: Platform,
        platform_user_id: str,
        amount: int,
        *,
        actor_id: int | None = None,
        actor: str | None = None,
        reason: str = "",
        ref: str | None = None,
    ) -> int:
        """An admin grant; the new balance. ``ref`` names the request (a dashboard form's
        one-time reference): given again, it changes nothing and says the balance."""
        entry = self._admin_entry(
            guild_id, platform, platform_user_id, amount, actor_id, actor, reason, ref
        )
        with self.engine.begin() as conn:
            balance = repository.credit(conn, entry)
            if balance is None:  # this request's change was made before
                _made_before(conn, entry, amount)
                balance = repository.balance_of(conn, guild_id, platform, platform_user_id)
        return balance

    def remove(
        self,
        guild_id: int,
        platform: Platform,
        platform_user_id: str,
        amount: int,
        *,
        actor_id: int | None = None,
        actor: str | None = None,
        reason: str = "",
        ref: str | None = None,
    ) -> int:
        """An admin removal; the new balance. More than the balance is refused, not clamped,
        so the admin sees what there was. ``ref`` as for :meth:`give`."""
        entry = self._admin_entry(
            guild_id, platform, platform_user_id, amount, actor_id, actor, reason, ref
        )
        try:
            with self.engine.begin() as conn:
                if _made_before(conn, entry, -amount):  # not refused for what it took itself
                    return repository.balance_of(conn, guild_id, platform, platform_user_id)
                balance = repository.spend(conn, entry)
                if balance is None:  # made between the look and the spend: it changed nothing
                    _made_before(conn, entry, -amount)
                    balance = repository.balance_of(conn, guild_id, platform, platform_user_id)
        except NotEnough as short:
            # A twin of this request (a double click) may have taken it while this one waited
            # for the balance row, after this one looked for it: not refused for that.
            with self.engine.connect() as conn:
                if _made_before(conn, entry, -amount):
                    return repository.balance_of(conn, guild_id, platform, platform_user_id)
            raise NotEnoughPoints(
                f"They have only {short.balance:,} {self.name(guild_id)}; "
                f"cannot remove {amount:,}.",
                balance=short.balance,
                needed=amount,
            ) from short
        return balance

    def _admin_entry(
        self,
        guild_id: int,
        platform: Platform,
        platform_user_id: str,
        amount: int,
        actor_id: int | None,
        actor: str | None,
        reason: str,
        ref: str | None = None,
    ) -> PointsEntry:
        if not 0 < amount <= MAX_AMOUNT:
            raise PointsRefused(f"The amount is a whole number from 1 to {MAX_AMOUNT:,}.")
        kept = checked_reason(reason)
        return PointsEntry(
            guild_id=guild_id,
            platform=platform,
            platform_user_id=platform_user_id,
            amount=amount,
            source="admin",
            source_ref=ref or uuid.uuid4().hex,
            at=self.clock(),
            actor_id=actor_id,
            actor=actor,
            reason=kept,
        )

    # --- games -------------------------------------------------------------------------------

    def credit_many(self, entries: Sequence[PointsEntry]) -> set[tuple[int, str, str]]:
        """Credit many at once in one transaction; the keys written (retries write nothing)."""
        with self.engine.begin() as conn:
            return repository.credit_many(conn, entries)
