"""One server's kick-watchtime-bot rows written into StreamKeeper, in the caller's transaction,
through the owning features' repositories. What was already imported is counted, not redone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from core.events import Platform, Viewer
from core.features import managed_roles
from core.features.directory import repository as directory
from core.features.importers import repository
from core.features.importers.forgotten import hold_against_forgets, link_refs
from core.features.importers.kick_names import KickAccount, Resolution
from core.features.importers.kwb_checks import TABLES
from core.features.importers.kwb_source import SOURCE, ServerData
from core.features.importers.report import GuildReport
from core.features.linking import repository as linking
from core.features.raffle.earning.repository import raise_watch_baseline
from core.features.raffle.earning.service import TRIES_ACROSS_A_CLOSE, PeriodClosed
from core.features.raffle.ledger_repository import add_ledger_entry, source_refs_in_any_period
from core.features.raffle.periods.repository import Period, find_open_period, hold_open_period
from core.features.roles import repository as roles
from core.features.roles.service import MAX_TIERS
from core.features.viewers.repository import remember_sightings
from core.features.watchtime.earned_elsewhere import add_seconds

KICK = Platform.KICK
TICKET_SOURCE = "import"  # the raffle ledger's source for imported tickets
# A raffle_tickets row's marker is "raffle_tickets:<id>", its ledger row's source_ref
# "kick-watchtime-bot:raffle_tickets:<id>".
TICKET_REF = "raffle_tickets:"


def held_open_period(conn: Connection, guild_id: int) -> Period | None:
    """The guild's open period, held open to the end of the import's transaction (on PostgreSQL
    a close waits for the import, so the next period's watchtime baselines are taken with the
    imported seconds in them); found again when a close ended it a moment before."""
    for _ in range(TRIES_ACROSS_A_CLOSE):
        period = find_open_period(conn, guild_id)
        if period is None or hold_open_period(conn, guild_id, period.id):
            return period
    raise PeriodClosed(period.id)


@dataclass
class _Viewer:
    account: KickAccount
    seconds: int = 0
    last_seen: datetime | None = None
    names: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


def write_server(
    conn: Connection, data: ServerData, names: Resolution, report: GuildReport, now: datetime
) -> None:
    """Every source row of ``data`` ends up in one of the report's counts: the rows refused when
    read (``data.problems``, ``data.aside``) first, then each written, found or left out."""
    for table in TABLES:
        report.count(table)
    for problem in data.problems:
        report.problem(problem.table, problem.text)
    for table, reasons in data.aside.items():
        report.count(table).aside.update(reasons)
    hold_against_forgets(conn)
    forgotten = frozenset(repository.forgotten_refs(conn, data.server_id, SOURCE))
    write = _ServerWrite(conn, data, names, report, now, forgotten)
    write.remember()
    write.watchtime()
    write.links()
    write.role_tiers()
    write.tickets()
    write.winners()


@dataclass(frozen=True)
class _ServerWrite:
    """One server's rows going into its guild, in one transaction (``conn``)."""

    conn: Connection
    data: ServerData
    names: Resolution
    report: GuildReport
    now: datetime
    forgotten: frozenset[str]  # source rows of people forgotten since (importers/forgotten.py)

    @property
    def guild_id(self) -> int:
        return self.data.server_id

    def account(self, table: str, name: str, what: str) -> KickAccount | None:
        """The Kick account of ``name``, or None with the row reported as left out."""
        account = self.names.account(name)
        if account is None:
            self.report.problem(table, f"'{name}' ({what}): {self.names.why_not(name)}")
        return account

    def remember(self) -> None:
        """Kick told us these self.names: the viewers table learns them (a newer sighting wins)."""
        told = [self.names.accounts[name] for name in sorted(self.names.told_by_kick)]
        remember_sightings(
            self.conn, ((KICK, Viewer(a.user_id, a.username), self.now) for a in told)
        )

    def watchtime(self) -> None:
        count = self.report.count("watchtime")
        done = repository.imported_refs(self.conn, self.guild_id, SOURCE)
        viewers: dict[str, _Viewer] = {}
        for row in self.data.watchtime:
            ref = f"watchtime:{row.username}"[:255]
            if ref in done:
                count.already += 1
                continue
            if ref in self.forgotten:
                count.forgotten += 1
                continue
            account = self.account("watchtime", row.username, f"{row.minutes:,} min")
            if account is None:
                continue
            viewer = viewers.setdefault(account.user_id, _Viewer(account))
            viewer.seconds += row.minutes * 60
            if row.last_active is not None and (
                viewer.last_seen is None or row.last_active > viewer.last_seen
            ):
                viewer.last_seen = row.last_active
            viewer.names.append(row.username)
            viewer.refs.append(ref)
        period = held_open_period(self.conn, self.guild_id)  # before the watchtime moves
        for viewer in viewers.values():
            add_seconds(
                self.conn,
                self.guild_id,
                KICK,
                viewer.account.user_id,
                viewer.seconds,
                viewer.last_seen,
            )
            if period is not None:  # watched under the other bot: no watchtime tickets for it here
                raise_watch_baseline(
                    self.conn,
                    self.guild_id,
                    period.id,
                    KICK,
                    viewer.account.user_id,
                    viewer.seconds,
                )
            repository.mark_imported(self.conn, self.guild_id, SOURCE, viewer.refs, self.now)
            count.imported += len(viewer.refs)
            if len(viewer.names) > 1:
                self.report.notes.append(
                    f"watchtime: {', '.join(repr(n) for n in viewer.names)} are one Kick account "
                    f"({viewer.account.username}, id {viewer.account.user_id}): added together"
                )

    def links(self) -> None:
        count = self.report.count("links")
        if self.data.other_links:
            self.report.notes.append(
                f"links: {self.data.other_links:,} links to other platforms (Twitch) there were "
                "not imported; those members link again with !link"
            )
        for row in self.data.links:
            if link_refs(row.discord_id, None)[0] in self.forgotten:
                count.forgotten += 1
                continue
            account = self.account("links", row.kick_name, f"Discord {row.discord_id}")
            if account is None:
                continue
            if link_refs(row.discord_id, account.user_id)[1] in self.forgotten:
                count.forgotten += 1
                continue
            by_account = linking.find_link_by_account(self.conn, KICK, account.user_id)
            by_member = linking.find_link_by_discord_user(self.conn, KICK, row.discord_id)
            if by_account is not None and by_account.discord_user_id == row.discord_id:
                count.already += 1
            elif by_account is not None:
                self.report.problem(
                    "links",
                    f"'{account.username}' is linked to Discord {by_account.discord_user_id} "
                    f"already, not to {row.discord_id}; the existing link was kept",
                )
            elif by_member is not None:
                self.report.problem(
                    "links",
                    f"Discord {row.discord_id} is linked to Kick '{by_member.username}' already, "
                    f"not to '{account.username}'; the existing link was kept",
                )
            else:
                linked_at = row.linked_at or self.now
                link = linking.AccountLink(
                    KICK, account.user_id, row.discord_id, account.username, linked_at
                )
                linking.save_link(self.conn, link, self.guild_id)
                linking.add_history(
                    self.conn,
                    linking.HistoryEntry(
                        self.guild_id,
                        row.discord_id,
                        "linked",
                        KICK,
                        account.user_id,
                        account.username,
                        "imported",
                        None,
                        self.now,
                    ),
                )
                count.imported += 1

    def role_tiers(self) -> None:
        """Each tier matched to this server's role of the same name, taken only where
        ``!roles add`` would take it: a role the bot may give, up to :data:`MAX_TIERS`."""
        count = self.report.count("role tiers")
        by_name: dict[str, list[directory.Role]] = {}
        for role in directory.roles(self.conn, self.guild_id):
            by_name.setdefault(role.name.casefold(), []).append(role)
        tiers = {tier.role_id for tier in roles.list_tiers(self.conn, self.guild_id)}
        first_row: dict[int, str] = {}  # role id -> the row of this import that took it
        for row in self.data.roles:
            matches = by_name.get(row.role_name.strip().casefold(), [])
            label = f"'{row.role_name}' ({row.minutes_required:,} min)"
            if not matches:
                self.report.problem(
                    "role tiers",
                    f"{label}: no role of that name in this server (as the bot last saw its roles)",
                )
                continue
            if len(matches) > 1:
                self.report.problem(
                    "role tiers", f"{label}: {len(matches)} roles have that name; not guessed"
                )
                continue
            [role] = matches
            if role.role_id in first_row:  # one role holds one threshold
                self.report.problem(
                    "role tiers", f"{label}: the same role as {first_row[role.role_id]}; left out"
                )
                continue
            first_row[role.role_id] = label
            if role.role_id in tiers:
                count.already += 1
            elif refused := self._tier_refusal(role, len(tiers)):
                self.report.problem("role tiers", f"{label}: {refused}")
            else:
                tier = roles.RoleTier(role.role_id, row.minutes_required, row.enabled)
                roles.insert_tier(self.conn, self.guild_id, tier, self.now)
                if not row.enabled:
                    roles.set_tier_enabled(self.conn, self.guild_id, tier.role_id, False)
                tiers.add(tier.role_id)
                count.imported += 1

    def _tier_refusal(self, role: directory.Role, tiers: int) -> str | None:
        """Why ``role`` cannot become one more watchtime role, as ``!roles add`` refuses it."""
        if role.is_default:
            return "@everyone can't be a watchtime role"
        if not role.assignable:
            return (
                "I can't give that role (as the bot last saw this server's roles): it belongs "
                "to a bot or an integration, or it is at or above my highest role; drag my role "
                "above it (Server Settings > Roles) and import again"
            )
        if taken := managed_roles.refusal(
            self.conn, self.guild_id, role.role_id, feature=managed_roles.WATCHTIME
        ):
            return taken
        if tiers >= MAX_TIERS:
            return (
                f"this server already has {MAX_TIERS} watchtime roles, the most it can have; "
                "remove one and import again"
            )
        return None

    def tickets(self) -> None:
        count = self.report.count("raffle tickets")
        rows = self.data.tickets  # rows of no tickets are aside already
        if self.data.open_periods > 1:
            self.report.notes.append(
                f"raffle: {self.data.open_periods} periods are active there; the latest "
                f"(id {self.data.open_period_id}) was read"
            )
        done = self._tickets_done()
        rows = [row for row in rows if f"{TICKET_REF}{row.id}" not in done]
        count.already += len(self.data.tickets) - len(rows)
        left = [row for row in rows if f"{TICKET_REF}{row.id}" not in self.forgotten]
        count.forgotten += len(rows) - len(left)
        rows = left
        if not rows:
            return
        period = held_open_period(self.conn, self.guild_id)
        if period is None:
            count.skipped += len(rows)
            self.report.problems.append(
                f"raffle tickets: no raffle period is open here, so {len(rows):,} rows "
                f"({sum(r.tickets for r in rows):,} tickets) were left out; open one "
                "(!rafflestart) and import again"
            )
            return
        written_refs = []
        for row in rows:
            account = self.account("raffle tickets", row.kick_name, f"{row.tickets:,} tickets")
            if account is None:
                continue
            ref = f"{TICKET_REF}{row.id}"
            written = add_ledger_entry(
                self.conn,
                guild_id=self.guild_id,
                period_id=period.id,
                platform=KICK,
                platform_user_id=account.user_id,
                amount=row.tickets,
                source=TICKET_SOURCE,
                source_ref=f"{SOURCE}:{ref}",
                actor_id=None,
                reason=f"kick-watchtime-bot period {self.data.open_period_id}",
                at=self.now,
            )
            if written:
                written_refs.append(ref)
                count.imported += 1
            else:  # every key already in the ledger was found above: the period just closed
                self.report.problem(
                    "raffle tickets",
                    f"row {row.id} ('{row.kick_name}'): the raffle period closed during the "
                    "import; import again",
                )
        repository.mark_imported(self.conn, self.guild_id, SOURCE, written_refs, self.now)

    def _tickets_done(self) -> set[str]:
        """The ticket rows imported before, whatever period they went to: by their markers,
        and by their ledger rows (imports made before tickets had markers), which get their
        marker now."""
        marked = repository.imported_refs(self.conn, self.guild_id, SOURCE)
        in_ledger = {
            ref.removeprefix(f"{SOURCE}:")
            for ref in source_refs_in_any_period(
                self.conn, self.guild_id, TICKET_SOURCE, f"{SOURCE}:{TICKET_REF}"
            )
        }
        repository.mark_imported(self.conn, self.guild_id, SOURCE, in_ledger - marked, self.now)
        return marked | in_ledger

    def winners(self) -> None:
        count = self.report.count("raffle winners")
        for row in self.data.winners:
            if f"raffle_draws:{row.id}" in self.forgotten:
                count.forgotten += 1
                continue
            account = self.names.account(row.kick_name)
            winner = repository.ImportedWinner(
                source_ref=f"raffle_draws:{row.id}",
                username=account.username if account else row.kick_name,
                discord_user_id=row.discord_id,
                platform_user_id=account.user_id if account else None,
                tickets=row.period_tickets,
                prize=row.prize,
                period_starts_at=row.period_start,
                period_ends_at=row.period_end,
                drawn_at=row.drawn_at,
            )
            if repository.add_winner(self.conn, self.guild_id, SOURCE, winner):
                count.imported += 1
                if account is None:
                    self.report.notes.append(
                        f"raffle winners: '{row.kick_name}' kept by name only "
                        f"({self.names.why_not(row.kick_name)})"
                    )
            else:
                count.already += 1
