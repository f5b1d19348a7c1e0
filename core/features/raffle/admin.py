"""Raffle admin changes: tickets given or removed by hand, voided gifts, excluded viewers.

A viewer is a Discord member (through their linked accounts, Kick's and Twitch's) or a Kick or
Twitch name as typed (``kick:name`` / ``twitch:name`` for one platform). Each change of tickets
is a ledger row with the admin's id and reason; a change is refused once its period is closed,
because the closed ledger is what the draw's proof hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, utc
from core.features.linking.repository import links_of_member
from core.features.quoting import shown
from core.features.raffle import ledger_repository
from core.features.raffle.draws.fairness import participant_key
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.earning.repository import Gift
from core.features.raffle.earning.service import RAFFLE_VIEWERS
from core.features.raffle.errors import RaffleRefused, checked_text
from core.features.raffle.periods import repository as periods_repository
from core.features.viewers.in_guild import ids_seen_in
from core.features.viewers.search import name_query, on_both_platforms

MAX_ADMIN_TICKETS = 1_000_000


@dataclass(frozen=True)
class Given:
    """Tickets given or taken: the account they went to (a member's is chosen) and its new
    balance."""

    platform: Platform
    account_name: str
    balance: int


@dataclass(frozen=True)
class ExclusionChange:
    """The names of the accounts an exclusion (or inclusion) changed, and ``closed_period``:
    the guild's last closed period when the change does not reach its draws, which keep who
    could win as its close froze them (the proof checks that list): an excluded account is
    still in it, an included one still out of it. None when it makes no difference there."""

    names: list[str]
    closed_period: int | None = None


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
                raise RaffleRefused(f"No gift has the reference {shown(reference)} here.")
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
    ) -> Given:
        """Add (or with a negative ``tickets``, remove) tickets; return the account and its
        balance.

        The viewer is a Discord member (``member_id``: their Kick account, else their Twitch
        one) or, without one, a viewer by ``username`` (the dashboard's form). ``reference``
        identifies the request (the command message, the form), so a repeat adds nothing.
        """
        if tickets == 0 or abs(tickets) > MAX_ADMIN_TICKETS:
            raise RaffleRefused(f"Give or remove from 1 to {MAX_ADMIN_TICKETS:,} tickets.")
        reason = checked_text(reason.strip(), "reason")
        now = self._now()
        with self.engine.begin() as conn:
            period = periods_repository.find_open_period(conn, guild_id)
            # A period past its end waits for the scheduler to close it; it takes no more.
            if period is None or period.ends_at <= now:
                raise RaffleRefused("No raffle period is open.")
            if not periods_repository.hold_open_period(conn, guild_id, period.id):
                raise RaffleRefused("That period closed a moment ago; its ledger is frozen.")
            platform, user_id, _name = self._holder(conn, guild_id, member_id, username)
            balance = ledger_repository.get_balance(conn, guild_id, period.id, platform, user_id)
            if tickets < 0 and balance + tickets < 0:
                raise RaffleRefused(self._too_few(conn, member_id, platform, _name, balance))
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
                reason=reason or ("given" if tickets > 0 else "removed"),
                at=now,
            )
            balance = ledger_repository.get_balance(conn, guild_id, period.id, platform, user_id)
            return Given(platform, _name, balance)

    def _holder(
        self, conn: Connection, guild_id: int, member_id: int | None, username: str | None
    ) -> tuple[Platform, str, str]:
        """The account tickets given to the viewer go to: a member's Kick account, else their
        Twitch one; a name's one account."""
        if member_id is None:
            return self._named(conn, guild_id, username or "")
        links = links_of_member(conn, member_id)
        if not links:
            raise RaffleRefused(
                "That member has not linked a Kick or Twitch account, so they cannot hold tickets."
            )
        return links[0].platform, links[0].platform_user_id, links[0].username

    def _too_few(
        self, conn: Connection, member_id: int | None, platform: Platform, name: str, balance: int
    ) -> str:
        """The refusal of taking more than the account holds; for a member with another linked
        account, which account that was and where the other's tickets are changed (a member
        is taken from their first account, and Discord names members only)."""
        others = [
            link
            for link in (links_of_member(conn, member_id) if member_id is not None else [])
            if link.platform != platform
        ]
        if not others:
            return f"They have only {balance:,} tickets."
        other = others[0]
        where = f"{other.platform.name.lower()}:{other.username}"
        return (
            f"Their {platform.name.title()} account {name} has only {balance:,} tickets. "
            f"Name their {other.platform.name.title()} account as {where} to change its "
            "tickets."
        )

    def _accounts(
        self, conn: Connection, guild_id: int, member_id: int | None, username: str | None
    ) -> list[tuple[Platform, str, str]]:
        """Every account of the viewer: each a member linked, or a name's one account."""
        if member_id is None:
            return [self._named(conn, guild_id, username or "")]
        links = links_of_member(conn, member_id)
        if not links:
            raise RaffleRefused("That member has not linked a Kick or Twitch account.")
        return [(link.platform, link.platform_user_id, link.username) for link in links]

    def _named(self, conn: Connection, guild_id: int, typed: str) -> tuple[Platform, str, str]:
        """The one account called ``typed`` among this guild's viewers (``RAFFLE_VIEWERS``):
        one known only in another server is not this guild's to give to or exclude."""
        query = name_query(typed)
        if query is None:
            raise RaffleRefused(
                "Name a viewer: their Kick or Twitch name (kick:name or twitch:name for one "
                "platform), or a @member."
            )
        found = [
            (platform, user_id, query.name)
            for platform in query.platforms
            for user_id in ids_seen_in(conn, guild_id, platform, query.name, RAFFLE_VIEWERS)
        ]
        if not found:
            raise RaffleRefused("I don't know a Kick or Twitch viewer by that name.")
        if len({platform for platform, _, _ in found}) > 1:
            raise RaffleRefused(on_both_platforms(query.name))
        if len(found) > 1:
            raise RaffleRefused(
                f"More than one {found[0][0].name.title()} viewer has been called {query.name}; "
                "name the member instead."
            )
        return found[0]

    def exclude(
        self, guild_id: int, *, actor_id: int, member_id: int | None, username: str | None
    ) -> ExclusionChange:
        """Keep the viewer's accounts out of boards and draws from now on (refused when each
        already was); a closed period's draws keep those its close froze."""
        now = self._now()
        with self.engine.begin() as conn:
            accounts = self._accounts(conn, guild_id, member_id, username)
            changed = [
                (platform, user_id, name)
                for platform, user_id, name in accounts
                if ledger_repository.exclude(conn, guild_id, platform, user_id, name, actor_id, now)
            ]
            if not changed:
                raise RaffleRefused(f"{_names(accounts)} {_is(accounts)} already excluded.")
            return _change(conn, guild_id, changed, in_the_draw=True)

    def include(
        self, guild_id: int, *, member_id: int | None, username: str | None
    ) -> ExclusionChange:
        """Let the viewer's excluded accounts take part again from now on (refused when none
        was excluded); a closed period's draws keep those its close froze."""
        with self.engine.begin() as conn:
            accounts = self._accounts(conn, guild_id, member_id, username)
            changed = [
                (platform, user_id, name)
                for platform, user_id, name in accounts
                if ledger_repository.include(conn, guild_id, platform, user_id)
            ]
            if not changed:
                raise RaffleRefused(f"{_names(accounts)} {_is(accounts)} not excluded.")
            return _change(conn, guild_id, changed, in_the_draw=False)


def _change(
    conn: Connection,
    guild_id: int,
    changed: list[tuple[Platform, str, str]],
    *,
    in_the_draw: bool,
) -> ExclusionChange:
    """``changed`` accounts' names, with the last closed period when one of them holds
    tickets there and is ``in_the_draw`` (or out of it, for an inclusion) as its close froze
    it."""
    names = [name for _, _, name in changed]
    period = periods_repository.find_last_closed_period(conn, guild_id)
    if period is None:
        return ExclusionChange(names)
    frozen = set(period.eligible or ())
    for platform, user_id, _ in changed:
        if ledger_repository.get_balance(conn, guild_id, period.id, platform, user_id) <= 0:
            continue
        if (participant_key(str(platform), user_id) in frozen) == in_the_draw:
            return ExclusionChange(names, period.id)
    return ExclusionChange(names)


def _names(accounts: list[tuple[Platform, str, str]]) -> str:
    return " and ".join(name for _, _, name in accounts)


def _is(accounts: list[object]) -> str:
    return "is" if len(accounts) == 1 else "are"
