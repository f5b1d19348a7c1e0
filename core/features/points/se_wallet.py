"""The StreamElements backend: a guild's points kept in the streamer's StreamElements channel.

A wallet for games (the heist): :meth:`SeWallet.hold` reserves a stake (StreamElements has no
holds, so they are kept here: the SE balance minus our open holds must cover it, checked under a
per-guild lock so two joins cannot both pass), and :meth:`SeWallet.settle` turns a game's outcome
into one outbox call per participant with the net amount (winnings minus stake, or minus the
stake) and closes the holds, in one transaction. The ``streamelements`` worker makes the calls
(:mod:`.se_payments`): a call that may have been applied without an answer, or one a crash cut
off, ends "uncertain" and is never sent again, so a retry never pays twice. Holds unique by
``(guild, source, source_ref)`` and payments keyed the same way make every retry of a hold or a
settlement harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.events import Platform
from core.features.points.se_holds import (
    Held,
    held_in,
    held_parts_in,
    hold_in,
    holds_open_in,
    lock_guild,
)
from core.features.points.se_jwt import checked_account, jwt_refused
from core.features.points.se_leaving import (
    forget_paid_out,
    in_doubt_count,
    is_kept_for_payments,
    waiting_count,
)
from core.features.points.se_logins import NO_TWITCH_LINKED, NoTwitchLinked, se_logins
from core.features.points.se_payments import (
    Settlement,
    queue_payment,
    queued_before,
    resend_given_up,
    settle_in,
    waiting_in,
)
from core.features.points.service import (
    FORM_USED,
    NotEnoughPoints,
    PointsRefused,
    checked_reason,
)
from core.features.points.tables import points_settings
from core.platforms.streamelements.api import (
    StreamElementsError,
    StreamElementsPoints,
    checked_username,
)
from core.security.secrets import TokenCipher
from core.storage.db import insert_for

LEDGER, STREAMELEMENTS = "ledger", "streamelements"
ADMIN = "admin"  # the source of an admin's !pointsgive / !pointsremove
BOARD_ASKED_AT_ONCE = 5  # balance requests in flight for one board
Actor = dict[str, int | str | None]  # who made an admin's change, as its outbox row keeps it
Read = tuple[int, datetime]  # a StreamElements balance and when it was asked for


@dataclass(frozen=True)
class QueuedChange:
    """An admin's change queued for the ``streamelements`` worker. ``balance`` is what
    StreamElements said before it (holds not taken off), ``held`` what games hold of it."""

    username: str
    amount: int
    balance: int
    held: int
    is_new: bool  # False: this command's change was queued before (a retried command)


@dataclass(frozen=True)
class SeAccount:
    channel_id: str
    jwt: str = field(repr=False)


class SeWallet:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        cipher: TokenCipher,
        client: StreamElementsPoints,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.cipher = cipher
        self.client = client

    # --- configuration -------------------------------------------------------------------

    def use_streamelements(self, guild_id: int, channel_id: str, jwt: str) -> tuple[str, int]:
        """Keep this guild's points in StreamElements: the channel id as stored, and how many
        payments given up on were queued again (a new JWT for the same channel resends them)."""
        channel, token = checked_account(channel_id, jwt)
        with self.engine.begin() as conn:
            lock_guild(conn, guild_id)
            s = points_settings.c
            now_on = conn.execute(
                sa.select(s.se_channel_id).where(s.guild_id == guild_id)
            ).scalar_one_or_none()
            if now_on not in (None, channel):  # a new JWT for the same channel is fine
                _refuse_while_held(conn, guild_id, "another StreamElements channel")
                if waiting_in(conn, guild_id):  # they would be made on the new channel
                    raise PointsRefused(
                        "Payments are waiting to be made on StreamElements channel "
                        f"{now_on}; switch channels once they are made."
                    )
            self._set_in(
                conn,
                guild_id,
                backend=STREAMELEMENTS,
                se_channel_id=channel,
                se_jwt=self.cipher.encrypt(token),
            )
            resent = resend_given_up(conn, guild_id, channel, self.clock(), was_on=now_on)
        return channel, resent

    async def jwt_refused(self, channel_id: str, jwt: str) -> str | None:
        """Why StreamElements says this JWT is not the channel's (:mod:`.se_jwt`); None."""
        return await jwt_refused(self.client, channel_id, jwt)

    def use_ledger(self, guild_id: int) -> int:
        """Back to StreamKeeper's own ledger; how many payments still wait to be made on
        StreamElements (:mod:`.se_leaving`: the JWT is kept for them and for payments in doubt,
        else forgotten now).
        Refused while a game here holds stakes on StreamElements (its winners would go unpaid)."""
        with self.engine.begin() as conn:
            lock_guild(conn, guild_id)  # a join holding a stake now waits, then sees the ledger
            _refuse_while_held(conn, guild_id, "the ledger")
            waiting = waiting_count(conn, guild_id)
            kept = is_kept_for_payments(conn, guild_id)  # also for a payment in doubt
            forgotten = {} if kept else {"se_channel_id": None, "se_jwt": None}
            self._set_in(conn, guild_id, backend=LEDGER, **forgotten)
        return waiting

    def payments_owed(self, guild_id: int) -> int:
        """How many of the guild's payments wait to be made on StreamElements (on the ledger:
        those owed from before the switch back, :mod:`.se_leaving`)."""
        with self.engine.connect() as conn:
            return waiting_count(conn, guild_id)

    def payments_in_doubt(self, guild_id: int) -> int:
        """How many of the guild's payments are in doubt, not settled (the JWT is kept)."""
        with self.engine.connect() as conn:
            return in_doubt_count(conn, guild_id)

    def backend_of(self, guild_id: int) -> str:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(points_settings.c.backend).where(points_settings.c.guild_id == guild_id)
            ).scalar_one_or_none()
        return found or LEDGER

    def guilds_on_channel(self, channel_id: str) -> list[int]:
        """The guilds keeping their points in this StreamElements channel."""
        s = points_settings.c
        query = sa.select(s.guild_id).where(
            s.backend == STREAMELEMENTS, s.se_channel_id == channel_id
        )
        with self.engine.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def account_of(self, guild_id: int) -> SeAccount | None:
        """The guild's StreamElements account while it keeps its points there."""
        return self._stored(guild_id, on_streamelements=True)

    def payments_account_of(self, guild_id: int) -> SeAccount | None:
        """The account the guild's waiting payments are made with: also kept a while by a
        guild back on the ledger (:mod:`.se_leaving`)."""
        return self._stored(guild_id, on_streamelements=False)

    def forget_when_paid(self, guild_id: int) -> None:
        """A payment of the guild just ended: forget its JWT if it was the last one waiting
        and the guild is back on the ledger."""
        with self.engine.begin() as conn:
            forget_paid_out(conn, guild_id, in_flight=1)

    def _stored(self, guild_id: int, *, on_streamelements: bool) -> SeAccount | None:
        s = points_settings.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(s.backend, s.se_channel_id, s.se_jwt).where(s.guild_id == guild_id)
            ).first()
        if row is None or not row.se_jwt or not row.se_channel_id:
            return None
        if on_streamelements and row.backend != STREAMELEMENTS:
            return None
        return SeAccount(row.se_channel_id, self.cipher.decrypt(row.se_jwt))

    def _set_in(self, conn: Connection, guild_id: int, **values: object) -> None:
        now = self.clock()
        stmt = insert_for(conn, points_settings).values(guild_id=guild_id, updated_at=now, **values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[points_settings.c.guild_id],
                set_={**values, "updated_at": now},
            )
        )

    # --- holds -----------------------------------------------------------------------------

    async def hold(
        self, guild_id: int, username: str, amount: int, *, source: str, source_ref: str
    ) -> int:
        """Reserve ``amount`` of the viewer's StreamElements points; what stays available.
        Raises :class:`NotEnoughPoints` (nothing held) when the balance minus their open holds
        does not cover it. A hold with a reference held before changes nothing."""
        account = await asyncio.to_thread(self._account_or_refuse, guild_id)
        login = checked_username(username)
        if amount <= 0:
            raise PointsRefused("A stake is a whole number of points, at least 1.")
        read_at = self.clock()  # a loss taken from then on may not show in the balance
        try:
            balance = await self.client.balance(account.channel_id, account.jwt, login) or 0
        except StreamElementsError as exc:
            raise PointsRefused(
                f"StreamElements did not answer ({exc.message}); try again."
            ) from None
        return await asyncio.to_thread(
            self._hold, guild_id, login, amount, (balance, read_at), source, source_ref
        )

    def _account_or_refuse(self, guild_id: int) -> SeAccount:
        account = self.account_of(guild_id)
        if account is None:
            raise PointsRefused("This server keeps its points in StreamKeeper, not StreamElements.")
        return account

    def _hold(
        self, guild_id: int, login: str, amount: int, read: Read, source: str, ref: str
    ) -> int:
        balance, read_at = read
        with self.engine.begin() as conn:
            return hold_in(
                conn, guild_id, login, amount, balance, source, ref, self.clock(), read_at
            )

    def open_holds(self, guild_id: int, username: str) -> int:
        with self.engine.connect() as conn:
            return held_in(conn, guild_id, checked_username(username))

    def held(self, guild_id: int, username: str) -> Held:
        """:meth:`open_holds` in its parts: staked in heists, and waiting to be taken."""
        with self.engine.connect() as conn:
            return held_parts_in(conn, guild_id, checked_username(username))

    # --- settling ----------------------------------------------------------------------------

    def settle(self, guild_id: int, source: str, outcomes: Sequence[Settlement]) -> int:
        """Record the payments of a game and close its holds, in one transaction; how many
        payments were new (a settlement retried records nothing more)."""
        with self.engine.begin() as conn:
            return settle_in(conn, guild_id, source, outcomes, self.clock())

    # --- an admin's change and the board (!pointsgive, !pointsremove, !pointsboard) ----------

    async def queue_change(
        self,
        guild_id: int,
        username: str,
        amount: int,
        *,
        ref: str,
        actor_id: int | None = None,
        actor: str | None = None,
        reason: str,
    ) -> QueuedChange:
        """Queue ``amount`` (negative to take) for the viewer's StreamElements points, keyed by
        ``ref`` (the command), with the admin (``actor_id``, a Discord member; or ``actor``,
        who else acted: "cli") and reason. A removal must leave the balance, less open stakes,
        at zero or more (:class:`NotEnoughPoints`, nothing queued)."""
        reason = checked_reason(reason)
        read_at = self.clock()  # a loss taken from then on may not show in the balance
        balance = await self.balance(guild_id, username)  # refuses what SE cannot take
        login = checked_username(username)
        who: Actor = {"actor_id": actor_id, **({"actor": actor} if actor is not None else {})}
        return await asyncio.to_thread(
            self._queue_change, guild_id, login, amount, (balance, read_at), ref, who, reason
        )

    def _queue_change(
        self, guild_id: int, login: str, amount: int, read: Read, ref: str, who: Actor, why: str
    ) -> QueuedChange:
        balance, read_at = read
        with self.engine.begin() as conn:
            lock_guild(conn, guild_id)
            held = held_in(conn, guild_id, login, read_at)
            before = queued_before(conn, guild_id, ADMIN, ref)
            if before is not None:  # sent again: not refused for its own waiting change
                if before != (login, amount):
                    raise PointsRefused(FORM_USED)
                return QueuedChange(login, amount, balance, held, is_new=False)
            if amount < 0 and balance - held < -amount:
                raise NotEnoughPoints(
                    f"{login} has only {max(balance - held, 0):,} points free on StreamElements.",
                    balance=max(balance - held, 0),
                    needed=-amount,
                )
            is_new = queue_payment(
                conn,
                guild_id,
                login,
                amount,
                ADMIN,
                ref,
                self.clock(),
                **who,
                reason=why,
            )
        return QueuedChange(login, amount, balance, held, is_new)

    async def board(self, guild_id: int, usernames: Sequence[str]) -> list[tuple[str, int]]:
        """These viewers' StreamElements balances, richest first (``(login, points)``; viewers
        whose name is no login, or whom SE cannot say, left out)."""
        account = await asyncio.to_thread(self._account_or_refuse, guild_id)
        logins = []
        for name in usernames:
            try:
                login = checked_username(name)
            except ValueError:
                continue
            if login not in logins:
                logins.append(login)
        at_once = asyncio.Semaphore(BOARD_ASKED_AT_ONCE)

        async def ask(login: str) -> tuple[str, int] | None:
            async with at_once:
                try:
                    found = await self.client.balance(account.channel_id, account.jwt, login)
                except StreamElementsError:
                    return None
            return None if found is None else (login, found)

        answers = await asyncio.gather(*(ask(login) for login in logins))
        return sorted((a for a in answers if a is not None), key=lambda a: (-a[1], a[0]))

    # --- for games that hold and settle in their own transaction (the heist) ----------------

    def uses_streamelements(self, guild_id: int) -> bool:
        return self.account_of(guild_id) is not None

    def logins_of(self, accounts: Sequence[tuple[Platform, str, str]]) -> list[str | None]:
        """Each ``(platform, platform_user_id, name)`` account's StreamElements name; None for a
        Kick account with no Twitch account linked (:mod:`.se_logins`)."""
        with self.engine.connect() as conn:
            return se_logins(conn, accounts)

    def login_of(self, platform: Platform, platform_user_id: str, name: str) -> str:
        """One account's StreamElements name; refused in words for a Kick account with no
        Twitch account linked."""
        login = self.logins_of([(platform, platform_user_id, name)])[0]
        if login is None:
            raise NoTwitchLinked(NO_TWITCH_LINKED)
        return login

    async def balance(self, guild_id: int, username: str) -> int:
        """The viewer's StreamElements balance (0 when SE never saw them), holds not taken off.
        Raises :class:`PointsRefused` with a reason for chat."""
        account = await asyncio.to_thread(self._account_or_refuse, guild_id)
        try:
            login = checked_username(username)
        except ValueError:
            raise PointsRefused(
                "StreamElements keeps points by login (letters, digits, _); yours is not one."
            ) from None
        try:
            return await self.client.balance(account.channel_id, account.jwt, login) or 0
        except StreamElementsError as exc:
            raise PointsRefused(
                f"StreamElements did not answer ({exc.message}); try again."
            ) from None


def _refuse_while_held(conn: Connection, guild_id: int, to: str) -> None:
    """Refuse a switch to ``to`` while a game holds stakes here: its payments go where the
    guild's points are when they are made."""
    if holds_open_in(conn, guild_id):
        raise PointsRefused(
            f"A heist has stakes held on StreamElements; switch to {to} once it is over "
            "(or call it off with !heist cancel)."
        )
