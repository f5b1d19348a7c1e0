"""Watchtime roles: Discord roles a linked member holds while their watchtime in the server
reaches the role's threshold.

Tiers are stored per guild by role id. In mode ``all`` a member holds every tier they reached; in
mode ``highest`` only the tier with the highest threshold they reached, of those whose role
still exists and that they hold or the bot may give. Roles that are not tiers are never
touched, and neither are tiers turned off one by one (``enabled`` false). Who should hold what
is decided by :func:`plan_role_changes`, a pure function;
:class:`~core.features.roles.sync.RoleSync` carries the plan out on Discord.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.events import utc
from core.features import managed_roles
from core.features.refusals import Refused
from core.features.roles import repository
from core.features.roles.repository import RoleSettings, RoleTier
from core.features.typed_numbers import whole_in

MODES = ("all", "highest")
MAX_TIERS = 25
MAX_MINUTES = 10_000_000  # about 19 years of watching


class RolesRefused(Refused):
    """The change cannot be made; the message is for the admin."""


@dataclass(frozen=True)
class MemberChange:
    discord_user_id: int
    add: frozenset[int]
    remove: frozenset[int]


@dataclass(frozen=True)
class RolePlan:
    changes: tuple[MemberChange, ...]
    # Tier roles some member should gain or lose but the bot may not touch (above its top role,
    # or it lacks Manage Roles); they are left out of the changes.
    blocked_role_ids: frozenset[int]
    # Tier roles that no longer exist in the server.
    missing_role_ids: frozenset[int]


@dataclass(frozen=True)
class Progress:
    """Where a viewer stands against the guild's tiers."""

    seconds: int
    reached: tuple[RoleTier, ...]
    next_tier: RoleTier | None

    @property
    def seconds_missing(self) -> int:
        return 0 if self.next_tier is None else max(0, self.next_tier.seconds - self.seconds)


def reached_tiers(tiers: Iterable[RoleTier], seconds: int, mode: str) -> frozenset[int]:
    """The tier role ids a member with ``seconds`` of watchtime should hold."""
    reached = [tier for tier in tiers if seconds >= tier.seconds]
    if not reached:
        return frozenset()
    if mode == "highest":
        top = max(tier.minutes for tier in reached)
        return frozenset(tier.role_id for tier in reached if tier.minutes == top)
    return frozenset(tier.role_id for tier in reached)


def plan_role_changes(
    tiers: Sequence[RoleTier],
    mode: str,
    members: Mapping[int, frozenset[int]],
    seconds_by_member: Mapping[int, int],
    assignable_role_ids: frozenset[int],
    existing_role_ids: frozenset[int],
) -> RolePlan:
    """Which tier roles each member gains and loses.

    ``seconds_by_member`` holds the watchtime of linked members; anyone absent qualifies for
    nothing. At most one change per member, and only roles the bot may touch are in it. In mode
    ``highest`` the tier held is the highest reached whose role exists and that the member holds
    or the bot may give; a higher reached one the bot may not give is reported blocked.
    """
    tier_ids = frozenset(tier.role_id for tier in tiers)
    missing = tier_ids - existing_role_ids
    # A deleted role is no tier at all: in mode highest the top is chosen among the others.
    present = [tier for tier in tiers if tier.role_id not in missing]
    changes = []
    blocked: set[int] = set()
    for member_id, held in sorted(members.items()):
        seconds = seconds_by_member.get(member_id, 0)
        wanted = reached_tiers(present, seconds, mode)
        holdable = held | assignable_role_ids
        if mode == "highest" and wanted and not wanted & holdable:
            # The top reached tier cannot be given: the member keeps (or gets) the highest one
            # that can, rather than losing every tier until the bot may give the top one.
            wanted |= reached_tiers(
                [tier for tier in present if tier.role_id in holdable], seconds, mode
            )
        add = wanted - held
        remove = (held & tier_ids) - wanted
        blocked |= (add | remove) - assignable_role_ids
        add &= assignable_role_ids
        remove &= assignable_role_ids
        if add or remove:
            changes.append(MemberChange(member_id, frozenset(add), frozenset(remove)))
    return RolePlan(tuple(changes), frozenset(blocked), frozenset(missing))


def progress_of(tiers: Sequence[RoleTier], seconds: int) -> Progress:
    reached = tuple(tier for tier in tiers if seconds >= tier.seconds)
    upcoming = [tier for tier in tiers if seconds < tier.seconds]
    next_tier = min(upcoming, key=lambda tier: (tier.minutes, tier.role_id), default=None)
    return Progress(seconds, reached, next_tier)


def parse_minutes(text: str) -> int:
    """Minutes as typed by an admin: a positive whole number."""
    text = text.strip()
    if not (text.isascii() and text.isdecimal()):  # not isdigit(): int() refuses "²"
        raise RolesRefused(f"Minutes must be a positive whole number, like 60 (not {text[:20]}).")
    # Any number of digits past the ceiling's is over it (and int() refuses 4,300 of them).
    minutes = whole_in(text, high=MAX_MINUTES)
    return _checked(MAX_MINUTES + 1 if minutes is None else minutes, typed=text[:20])


class RolesService:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    # --- tiers -------------------------------------------------------------------------------

    def tiers(self, guild_id: int) -> list[RoleTier]:
        with self.engine.connect() as conn:
            return repository.list_tiers(conn, guild_id)

    def add_tier(self, guild_id: int, role_id: int, minutes: int) -> RoleTier:
        tier = RoleTier(role_id, _checked(minutes))
        with self.engine.begin() as conn:
            # A role another feature gives and takes (the linked role, the Kick VIP role...)
            # would be taken from its members by role sync, and the other way round.
            taken = managed_roles.refusal(conn, guild_id, role_id, feature=managed_roles.WATCHTIME)
            if taken is not None:
                raise RolesRefused(taken)
            if len(repository.list_tiers(conn, guild_id)) >= MAX_TIERS:
                raise RolesRefused(
                    f"This server already has {MAX_TIERS} watchtime roles; remove one first."
                )
            if not repository.insert_tier(conn, guild_id, tier, utc(self.clock())):
                raise RolesRefused(
                    "That role is already a watchtime role; change its minutes with update."
                )
        return tier

    def update_tier(self, guild_id: int, role_id: int, minutes: int) -> RoleTier:
        tier = RoleTier(role_id, _checked(minutes))
        with self.engine.begin() as conn:
            if not repository.update_tier(conn, guild_id, tier):
                raise RolesRefused("That role is not a watchtime role here; add it first.")
            return next(t for t in repository.list_tiers(conn, guild_id) if t.role_id == role_id)

    def set_tier_enabled(self, guild_id: int, role_id: int, enabled: bool) -> RoleTier:
        """Turn one tier on or off; an off tier's role is neither given nor taken by role sync."""
        with self.engine.begin() as conn:
            if not repository.set_tier_enabled(conn, guild_id, role_id, enabled):
                raise RolesRefused("That role is not a watchtime role here.")
            return next(t for t in repository.list_tiers(conn, guild_id) if t.role_id == role_id)

    def remove_tier(self, guild_id: int, role_id: int) -> None:
        with self.engine.begin() as conn:
            if not repository.delete_tier(conn, guild_id, role_id):
                raise RolesRefused("That role is not a watchtime role here.")

    def guild_ids_with_tiers(self) -> list[int]:
        with self.engine.connect() as conn:
            return repository.list_guild_ids_with_tiers(conn)

    # --- settings ----------------------------------------------------------------------------

    def settings(self, guild_id: int) -> RoleSettings:
        with self.engine.connect() as conn:
            return repository.get_settings(conn, guild_id)

    def set_enabled(self, guild_id: int, enabled: bool) -> RoleSettings:
        return self._change_settings(guild_id, enabled=enabled)

    def set_mode(self, guild_id: int, mode: str) -> RoleSettings:
        mode = mode.strip().lower()
        if mode not in MODES:
            raise RolesRefused("The mode is either all (every role reached) or highest.")
        return self._change_settings(guild_id, mode=mode)

    def set_dm(self, guild_id: int, dm_on_new_role: bool) -> RoleSettings:
        return self._change_settings(guild_id, dm_on_new_role=dm_on_new_role)

    def _change_settings(self, guild_id: int, **changes: object) -> RoleSettings:
        with self.engine.begin() as conn:
            current = repository.get_settings(conn, guild_id)
            updated = RoleSettings(
                enabled=bool(changes.get("enabled", current.enabled)),
                mode=str(changes.get("mode", current.mode)),
                dm_on_new_role=bool(changes.get("dm_on_new_role", current.dm_on_new_role)),
            )
            repository.save_settings(conn, guild_id, updated)
        return updated

    # --- what role sync and the views read ----------------------------------------------------

    def linked_seconds(self, guild_id: int, only_member: int | None = None) -> dict[int, int]:
        """Watchtime in this guild of each linked Discord user who has some (of their Kick or
        Twitch account, whichever has more); of ``only_member`` alone when given."""
        with self.engine.connect() as conn:
            return repository.list_linked_seconds(conn, guild_id, only_member)

    def record_awards(
        self, guild_id: int, discord_user_id: int, role_ids: Iterable[int]
    ) -> list[int]:
        """Note the roles the member just reached; return those they never reached before."""
        with self.engine.begin() as conn:
            return repository.record_awards(
                conn, guild_id, discord_user_id, role_ids, utc(self.clock())
            )


def _checked(minutes: int, typed: str | None = None) -> int:
    if minutes < 1:
        raise RolesRefused(
            f"Minutes must be a positive whole number, like 60 (not {typed or minutes})."
        )
    if minutes > MAX_MINUTES:
        raise RolesRefused(f"That is more than {MAX_MINUTES:,} minutes; pick a smaller number.")
    return minutes
