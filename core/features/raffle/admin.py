"""Raffle admin changes: tickets given or removed by hand, voided gifts, excluded viewers.

Each change of tickets is a ledger row with the admin's id and reason; a change is refused
once its period is closed, because the closed ledger is what the draw's proof hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, utc
from core.features.linking.repository import find_link_by_discord_user
from core.features.raffle import ledger_repository
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.earning.repository import Gift
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.periods import repository as periods_repository
from core.features.viewers.repository import find_viewer_ids_by_username

MAX_ADMIN_TICKETS = 1_000_000


class RaffleAdmin:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def _now(self) -> datetime:
        return utc(self.clock())

    def void_gift(self, guild_id: int, reference: str, *, actor_id: int) -> Gift:
        reference = reference.strip().lower()
        now = self._now()
        with self.engine.begin() as conn:
            gift = earning_repository.find_gift(conn, guild_id, reference)
            if gift is None:
                raise RaffleRefused(f"No gift has the reference {reference!r} here.")
            if gift.status == "voided":
                raise RaffleRefused("That gift is already void.")
            period = periods_repository.get_period(conn, gift.period_id)
            if not period.is_open:
                raise RaffleRefused("That gift's period is closed; its ledger is frozen.")
            if not earning_repository.set_gift_status(
                conn, gift.id, gift.status, "voided", actor_id
            ):
                raise RaffleRefused("That gift changed a moment ago; try again.")
            if gift.status == "granted" and not ledger_repository.add_ledger_entry(
                conn,
                guild_id=guild_id,
                period_id=gift.period_id,
                platform=gift.platform,
                platform_user_id=gift.platform_user_id,
                amount=-gift.tickets,
                source="gift",
                source_ref=f"{gift.reference}:void",
                actor_id=actor_id,
                reason="gift voided",
                at=now,
            ):
                raise RaffleRefused("That period is closed; its ledger is frozen.")
        return gift

    def give(
        self,
        guild_id: int,
        *,
        actor_id: int,
        member_id: int | None,
        tickets: int,
        reason: str,
        reference: str,
        username: str | None = None,
    ) -> int:
        """Add (or with a negative ``tickets``, remove) tickets; return the viewer's balance.

        The viewer is a Discord member (``member_id``, through their Kick link) or, without one,
        a Kick viewer by ``username`` (the dashboard's form). ``reference`` identifies the request
        (the command message, the form), so a repeat adds nothing.
        """
        if tickets == 0 or abs(tickets) > MAX_ADMIN_TICKETS:
            raise RaffleRefused(f"Give or remove from 1 to {MAX_ADMIN_TICKETS:,} tickets.")
        now = self._now()
        with self.engine.begin() as conn:
            period = periods_repository.find_open_period(conn, guild_id)
            # A period past its end waits for the scheduler to close it; it takes no more.
            if period is None or period.ends_at <= now:
                raise RaffleRefused("No raffle period is open.")
            if member_id is not None:
                link = find_link_by_discord_user(conn, Platform.KICK, member_id)
                if link is None:
                    raise RaffleRefused(
                        "That member has not linked a Kick account, so they cannot hold tickets."
                    )
                platform, user_id = link.platform, link.platform_user_id
            else:
                platform, user_id, _name = self._identity(conn, None, username)
            balance = ledger_repository.get_balance(conn, guild_id, period.id, platform, user_id)
            if tickets < 0 and balance + tickets < 0:
                raise RaffleRefused(f"They have only {balance:,} tickets.")
            ledger_repository.add_ledger_entry(
                conn,
                guild_id=guild_id,
                period_id=period.id,
                platform=platform,
                platform_user_id=user_id,
                amount=tickets,
                source="admin",
                source_ref=reference,
                actor_id=actor_id,
                reason=reason.strip() or ("given" if tickets > 0 else "removed"),
                at=now,
            )
            return ledger_repository.get_balance(conn, guild_id, period.id, platform, user_id)

    def _identity(
        self, conn: Connection, member_id: int | None, username: str | None
    ) -> tuple[Platform, str, str]:
        if member_id is not None:
            link = find_link_by_discord_user(conn, Platform.KICK, member_id)
            if link is None:
                raise RaffleRefused("That member has not linked a Kick account.")
            return link.platform, link.platform_user_id, link.username
        name = (username or "").strip().lstrip("@")
        ids = find_viewer_ids_by_username(conn, Platform.KICK, name) if name else []
        if len(ids) != 1:
            raise RaffleRefused("I don't know a Kick viewer by that name.")
        return Platform.KICK, ids[0], name

    def exclude(
        self, guild_id: int, *, actor_id: int, member_id: int | None, username: str | None
    ) -> str:
        with self.engine.begin() as conn:
            platform, user_id, name = self._identity(conn, member_id, username)
            if not ledger_repository.exclude(
                conn, guild_id, platform, user_id, name, actor_id, self._now()
            ):
                raise RaffleRefused(f"{name} is already excluded.")
        return name

    def include(self, guild_id: int, *, member_id: int | None, username: str | None) -> str:
        with self.engine.begin() as conn:
            platform, user_id, name = self._identity(conn, member_id, username)
            if not ledger_repository.include(conn, guild_id, platform, user_id):
                raise RaffleRefused(f"{name} is not excluded.")
        return name
