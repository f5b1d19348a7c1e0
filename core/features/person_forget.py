"""Deleting what StreamKeeper keeps about one person, when they ask the operator to
(``python -m core privacy forget``): the rows *about* them, found as
:mod:`core.features.person_data` finds them, table by table as :data:`FORGET` says.

Some rows stay, each table for its stated reason (:data:`KEPT`): what a closed raffle period
published as the evidence of its draw, an admin's own actions on other people (a row whose
Discord id is the person only as the admin who acted), a moderator's decision about them (the
slot-call blacklist, a raffle exclusion), a VIP grant still running (its removal is due), a
StreamElements stake and seat in a heist under way, the marker of a row imported from another
bot (without it, importing again would bring the row back), an outbox call still to be made
or a payment not settled yet (:mod:`core.features.privacy.outbox_calls`). The report says how
many of each stayed. Before deleting, the forget marks each of their rows an import wrote as
forgotten (:mod:`core.features.importers.forgotten`), so an import run again skips those source
rows.

Some of those reasons end by themselves (:data:`FOR_NOW`): the heist resolves, the grant is
removed, the call is made or the payment settled. The forget deletes the person's links and
names all the same, so it records their accounts (no names) in ``privacy_forgets_to_finish``
while such rows are kept, and :func:`core.features.privacy.finishing.finish_forgets` (hourly)
deletes those rows once what kept them has ended, by this same :func:`forget`, and drops the
record with the last of them.

A test (tests/features/test_person_forget.py) fails when a table the export searches is in
neither list, so a feature's new table gets a decision.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.heist import repository as heist_repository
from core.features.importers import forgotten as import_forgotten
from core.features.linking import calls as linking_calls
from core.features.linking import repository as linking_repository
from core.features.person_data import Person, account_match, person_rows, subject_matches
from core.features.privacy import outbox_calls
from core.features.privacy.tables import privacy_forgets_to_finish as to_finish
from core.features.roles import repository as roles_repository
from core.features.schema import all_tables

OPEN_PERIODS = ("scheduled", "open")


def _all(table: sa.Table, now: datetime) -> Any:
    return sa.true()


def _open_periods(table: sa.Table, now: datetime) -> Any:
    periods = all_tables().tables["raffle_periods"]
    still_open = sa.select(periods.c.id).where(periods.c.status.in_(OPEN_PERIODS))
    return table.c.period_id.in_(still_open)


def _finished_heists(table: sa.Table, now: datetime) -> Any:
    heists = all_tables().tables["heists"]
    finished = sa.select(heists.c.id).where(heists.c.state != heist_repository.OPEN)
    return table.c.heist_id.in_(finished)


def _ended_grants(table: sa.Table, now: datetime) -> Any:
    # Removed. One whose time is up but not removed yet stays: its removal (on Twitch, or the
    # Kick grant's Discord role) reads its row, and is retried until done.
    return table.c.removed_at.is_not(None)


# Tables whose rows FORGET keeps only until something ends by itself (said as "when ..."): then
# their condition above deletes them, and the forget is finished (``privacy_forgets_to_finish``).
FOR_NOW: dict[str, str] = {
    "heist_participants": "the heist ends",
    "vip_grants": "the VIP grant is removed",
    "outbox": (
        "the call is made (a payment in doubt: once an admin settles it; one given up on: "
        "when the outbox forgets it, 30 days on)"
    ),
}


def _settled_holds(table: sa.Table, now: datetime) -> Any:
    return table.c.settled_at.is_not(None)


def _undelivered(table: sa.Table, now: datetime) -> Any:
    return table.c.acked_at.is_(None)


def _ended_calls(table: sa.Table, now: datetime) -> Any:
    return outbox_calls.ended(table)


# table -> which of the person's rows go (besides matching them): every one, or only some.
Rows = Callable[[sa.Table, datetime], Any]
FORGET: dict[str, Rows] = {
    "account_links": _all,
    "link_history": _all,  # their links and unlinks (an admin's unlink of someone else stays)
    "viewers": _all,
    "watchtime": _all,
    "watch_presence": _all,
    "points_balances": _all,
    "points_ledger": _all,  # their points lines (the points an admin gave others stay)
    "points_accrual": _all,
    "heist_participants": _finished_heists,
    "imported_winners": _all,
    "raffle_ledger": _open_periods,
    "raffle_balances": _open_periods,
    "raffle_watch_progress": _open_periods,
    "raffle_gifts": _open_periods,
    "role_awards": _all,
    "directory_members": _all,
    "web_sessions": _all,
    "oauth_states": _all,
    "used_links": _all,
    "shuffle_links": _all,
    "shuffle_link_requests": _all,
    "slot_calls": _all,
    "sub_tiers": _all,
    "vip_grants": _ended_grants,
    "vip_audit": _all,
    "vip_redemptions": _all,  # those that waited for the streamer (the others name no viewer)
    "points_se_holds": _settled_holds,  # a stake whose game ended (by their Twitch login)
    "overlay_alerts": _all,  # alerts naming them: shown once already, evidence of nothing
    "bus_events": _undelivered,  # their events waiting or dead (delivered ones go in 7 days)
    "outbox": _ended_calls,  # calls naming them that ended (one still owed stays: FOR_NOW)
}
KEPT: dict[str, str] = {
    "raffle_ledger": "a closed period's ledger is the evidence its published draw was fair",
    "raffle_balances": "a closed period's standings belong to its published proof",
    "raffle_watch_progress": "a closed period's progress belongs to its frozen ledger",
    "raffle_gifts": "a closed period's gifts belong to its frozen ledger",
    "raffle_frozen_ranges": "a closed period's ticket ranges, from which its winners were drawn",
    "raffle_winners": "a published draw's winners",
    "raffle_draws": "draws an admin asked for (the person as the admin)",
    "raffle_exclusions": "an admin's decision to keep them out of the raffle",
    "slot_call_blacklist": "a moderator's decision to ignore their slot calls",
    "vip_grants": "a VIP grant still running: its removal on Twitch or Discord is due",
    "points_se_holds": "a StreamElements stake held for a heist under way, paid or given back",
    "heist_participants": "a seat in a heist under way: its result pays or refunds the stake",
    "privacy_forgets_to_finish": (
        "the ids of their accounts, no names, while rows of theirs are kept for now: "
        "dropped with the last of them"
    ),
    "import_markers": (
        "the other bot's watchtime row already imported (by Kick name), so that importing "
        "again does not bring it back, and the ids of their other imported rows (a link, a "
        "StreamElements balance): each marked forgotten (importers/forgotten.py)"
    ),
    "outbox": (
        "calls naming them still to be made (a StreamElements payment owed, the roles taken "
        "back), a payment given up on (sent again if a new JWT comes) or in doubt until an "
        "admin settles it"
    ),
    "shuffle_wager_totals": "wager totals the raffle's Shuffle poll counts from (by Shuffle name)",
    "shuffle_wager_progress": (
        "the Shuffle poll's count of their wagers and tickets per raffle period (by Shuffle "
        "name), as the totals it counts from"
    ),
    "payments_settlements": "an admin's settlement of a payment (the person as the admin)",
    "link_panels": "a link panel an admin posted (the person as the admin)",
    "kick_connections": "a channel's connection an admin made (the person as the admin)",
    "twitch_connections": "a channel's connection an admin made (the person as the admin)",
    "points_ledger": "points an admin gave or took from others (the person as the admin)",
    "link_history": "an admin's unlink of someone else (the person as the admin)",
    "slot_calls": "calls an admin closed (the person as the admin)",
    "vip_audit": "an admin's VIP actions on others (the person as the admin)",
    "shuffle_links": "a Shuffle link an admin verified (the person as the admin)",
}


@dataclass
class ForgetReport:
    deleted: dict[str, int] = field(default_factory=dict)
    kept: dict[str, tuple[int, str]] = field(default_factory=dict)  # table -> (rows, why)
    # The servers where the Discord worker takes back the roles the bot gave (would, unless
    # deleting): the linked role, the watchtime roles, the Shuffle verified role.
    role_servers: int = 0
    # Outbox calls in doubt (not payments) it deletes (would): off the admins' list to settle.
    doubts_dropped: int = 0

    @property
    def for_now(self) -> dict[str, int]:
        """The rows kept only until something ends (:data:`FOR_NOW`), by table."""
        return {name: rows for name, (rows, _) in self.kept.items() if name in FOR_NOW}


def forget(
    conn: Connection,
    person: Person,
    now: datetime,
    *,
    delete: bool,
    only: Collection[str] | None = None,
) -> ForgetReport:
    """Delete (``delete``) or only count the rows about ``person`` (of the tables ``only``
    names, else of every table), in the caller's transaction; what stays, counted with its
    reason. Deleting records the person's accounts while rows are kept for now, and drops that
    record once none is."""
    report = ForgetReport()
    tables = all_tables().tables
    if delete and only is None:  # an import writing meanwhile is waited for (the caller holds
        import_forgotten.hold_against_imports(conn)  # this before finding the person, too)
    if delete:
        _hold_open_periods(conn, person, only)
        if only is None:  # before their rows go: what keeps an import from bringing them back
            import_forgotten.record(conn, person, now)
    if only is None or "account_links" in only:
        removals = _role_removals(conn, person)
        report.role_servers = len({guild_id for guild_id, _, _ in removals})
        for guild_id, member, roles in removals if delete else ():
            linking_calls.enqueue_forgotten(conn, guild_id, member, roles, now)
    for name, chosen in sorted(FORGET.items()):
        if only is not None and name not in only:
            continue
        table = tables[name]
        about = subject_matches(conn, name, table, person)
        if not about:
            continue
        condition = sa.and_(sa.or_(*about), chosen(table, now))
        if name == "outbox":
            report.doubts_dropped = outbox_calls.count_in_doubt(conn, table, condition)
        if delete:
            gone = conn.execute(sa.delete(table).where(condition)).rowcount
        else:
            counted = sa.select(sa.func.count()).select_from(table).where(condition)
            gone = int(conn.execute(counted).scalar_one())
        if gone:
            report.deleted[name] = gone
    remaining = person_rows(conn, person)
    for name, rows in remaining.items():
        left = len(rows) - (0 if delete else report.deleted.get(name, 0))
        if left > 0:
            report.kept[name] = (left, KEPT.get(name, "not deleted by this tool"))
    if delete:
        calls = _kept_calls(conn, person) if "outbox" in report.for_now else frozenset()
        _record_until_finished(conn, person, now, is_kept=bool(report.for_now), calls=calls)
        recorded = conn.execute(
            sa.select(sa.func.count()).select_from(to_finish).where(_recorded(person))
        ).scalar_one()
        report.kept.pop(to_finish.name, None)
        if recorded:
            report.kept[to_finish.name] = (int(recorded), KEPT[to_finish.name])
    return report


def _role_removals(conn: Connection, person: Person) -> list[tuple[int, int, list[int]]]:
    """(guild, member, other role ids) for each Discord call that takes back the roles the bot
    gave because of what the forget deletes: the linked role and the watchtime roles of every
    guild where the member linked or reached one, and the Shuffle verified role (each taken
    back as after an unlink: ``linking.effects.LinkEffects.forgotten``). Read before the delete
    (it removes the link history that says where they linked), queued in its transaction: once
    the links are gone nothing else would take those roles back. A temporary VIP role is not
    among them: its grant is kept until its removal at expiry (``FOR_NOW``)."""
    links = all_tables().tables["account_links"]
    members: set[int] = set()
    if person.discord_user_id is not None:
        members.add(person.discord_user_id)
    if person.accounts:
        linked = sa.select(links.c.discord_user_id).where(account_match(links, person.accounts))
        members.update(int(member) for member in conn.execute(linked).scalars())
    removals = []
    for member in sorted(members):
        # Their Shuffle account goes only when the person is the member (not one account).
        shuffle = _verified_roles_of(conn, member) if member == person.discord_user_id else {}
        guilds = set(linking_repository.guilds_where_member_linked(conn, member))
        guilds.update(roles_repository.guilds_where_member_reached_tiers(conn, member), shuffle)
        for guild_id in sorted(guilds):
            removals.append((guild_id, member, [shuffle[guild_id]] if guild_id in shuffle else []))
    return removals


def _verified_roles_of(conn: Connection, member: int) -> dict[int, int]:
    """guild id -> its Shuffle verified role, where the member has a verified Shuffle account
    and the guild gives verified players a role."""
    tables = all_tables().tables
    links, settings = tables["shuffle_links"], tables["shuffle_settings"]
    query = (
        sa.select(links.c.guild_id, settings.c.verified_role_id)
        .join_from(links, settings, settings.c.guild_id == links.c.guild_id)
        .where(links.c.discord_user_id == member, settings.c.verified_role_id.is_not(None))
    )
    return {int(guild_id): int(role_id) for guild_id, role_id in conn.execute(query)}


def _hold_open_periods(conn: Connection, person: Person, only: Collection[str] | None) -> None:
    """PostgreSQL: take the key-share lock a ledger writer takes on each open period the
    person has raffle rows in, to the end of the forget's transaction. A close that comes
    meanwhile waits for the forget, so it freezes and hashes the ledger without their rows;
    one that came first is waited for, and its period is closed by the time the rows are
    chosen, so nothing leaves a frozen ledger (its published proof still verifies)."""
    if conn.dialect.name != "postgresql":
        return  # SQLite: one writer at a time, the close's transaction or this one
    tables = all_tables().tables
    in_periods = [
        name
        for name, chosen in FORGET.items()
        if chosen is _open_periods and (only is None or name in only)
    ]
    theirs = [
        sa.select(tables[name].c.period_id).where(sa.or_(*about))
        for name in in_periods
        if (about := subject_matches(conn, name, tables[name], person))
    ]
    if not theirs:
        return
    periods = tables["raffle_periods"]
    held = (
        sa.select(periods.c.id)
        .where(periods.c.id.in_(sa.union(*theirs)), periods.c.status.in_(OPEN_PERIODS))
        .order_by(periods.c.id)
        .with_for_update(read=True, key_share=True)
    )
    conn.execute(held).all()


def _kept_calls(conn: Connection, person: Person) -> frozenset[tuple[str, str]]:
    """The outbox calls about the person that stay, as their record holds them: found by a
    name the forget has just deleted (a StreamElements login), they are found again by id."""
    table = all_tables().tables["outbox"]
    about = subject_matches(conn, "outbox", table, person)
    if not about:
        return frozenset()
    ids = conn.execute(sa.select(table.c.id).where(sa.or_(*about))).scalars()
    return frozenset((outbox_calls.RECORDED, str(call)) for call in ids)


def _record_until_finished(
    conn: Connection,
    person: Person,
    now: datetime,
    *,
    is_kept: bool,
    calls: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    """Record the person's accounts (and Discord id), and ``calls`` (the outbox calls kept),
    while rows of theirs are kept for now, so that they are found again when those can go;
    drop the record once none is."""
    if not is_kept:
        conn.execute(sa.delete(to_finish).where(_recorded(person)))
        return
    # A recorded call deleted since: its id may be given to a new call (SQLite reuses the
    # highest), which is not theirs.
    gone = sorted(
        str(call) for call in person.calls if (outbox_calls.RECORDED, str(call)) not in calls
    )
    if gone:
        r = to_finish.c
        gone_calls = sa.and_(r.platform == outbox_calls.RECORDED, r.platform_user_id.in_(gone))
        conn.execute(sa.delete(to_finish).where(_recorded(person), gone_calls))
    member = person.discord_user_id
    accounts: list[tuple[str | None, str | None]] = sorted(person.accounts | calls) or [
        (None, None)
    ]
    for platform, user_id in accounts:
        if platform is None and member is None:
            continue
        same = sa.and_(
            to_finish.c.discord_user_id.is_not_distinct_from(member),
            to_finish.c.platform.is_not_distinct_from(platform),
            to_finish.c.platform_user_id.is_not_distinct_from(user_id),
        )
        if conn.execute(sa.select(to_finish.c.id).where(same).limit(1)).first() is None:
            conn.execute(
                sa.insert(to_finish).values(
                    discord_user_id=member,
                    platform=platform,
                    platform_user_id=user_id,
                    recorded_at=now,
                )
            )


def _recorded(person: Person) -> Any:
    """The record of the person's forget: under their Discord id, and their accounts recorded
    without one (forgotten by name). Another member's record of the same account is theirs."""
    mine = [sa.false()]
    if person.discord_user_id is not None:
        mine.append(to_finish.c.discord_user_id == person.discord_user_id)
    recorded = person.accounts | {(outbox_calls.RECORDED, str(c)) for c in person.calls}
    if recorded:
        nameless = to_finish.c.discord_user_id.is_(None)
        mine.append(sa.and_(nameless, account_match(to_finish, frozenset(recorded))))
    return sa.or_(*mine)
