"""The Discord roles the bot gives and takes back, by the feature that manages each: one role
serves one feature at a time.

Two features sharing a role would fight over it: each takes it back by its own rule (role sync
from members short of a tier's watchtime, an unlink, a VIP's end, a Shuffle unlink), so one
would remove what the other gave. Every setting that names such a role asks :func:`refusal`
before it saves, in the transaction that saves it; a feature that starts managing a role adds
its row to ``MANAGERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from core.features.linking import repository as linking_repository
from core.features.raffle.wagers import repository as wagers_repository
from core.features.roles import repository as roles_repository
from core.features.vip import repository as vip_repository

WATCHTIME = "watchtime"
LINKED = "linked"
KICK_VIP = "kick_vip"
SHUFFLE = "shuffle"


@dataclass(frozen=True)
class RoleManager:
    """One feature's hold on roles, in the words its refusal uses."""

    feature: str
    is_managed: Callable[[Connection, int, int], bool]  # (conn, guild_id, role_id)
    what: str  # "That role is ..."
    takes_back: str  # when this feature takes the role from a member
    holders: str  # the members who hold the role by this feature
    release: str  # how an admin frees the role from this feature


def _is_tier(conn: Connection, guild_id: int, role_id: int) -> bool:
    return any(tier.role_id == role_id for tier in roles_repository.list_tiers(conn, guild_id))


def _is_linked_role(conn: Connection, guild_id: int, role_id: int) -> bool:
    return linking_repository.get_settings(conn, guild_id).linked_role_id == role_id


def _is_kick_vip_role(conn: Connection, guild_id: int, role_id: int) -> bool:
    # The Kick reward's role now, or an earlier one its grants still hold until they expire.
    if vip_repository.get_settings(conn, guild_id).kick_role_id == role_id:
        return True
    return vip_repository.is_role_of_open_grants(conn, guild_id, role_id)


def _is_shuffle_role(conn: Connection, guild_id: int, role_id: int) -> bool:
    settings = wagers_repository.find_settings(conn, guild_id)
    return settings is not None and settings.verified_role_id == role_id


MANAGERS = (
    RoleManager(
        WATCHTIME,
        _is_tier,
        what="a watchtime role",
        takes_back="role sync takes it from members short of its watchtime",
        holders="members who reached its watchtime",
        release="remove it from the watchtime roles",
    ),
    RoleManager(
        LINKED,
        _is_linked_role,
        what="the one linked members get",
        takes_back="the bot takes it back when a member unlinks",
        holders="linked members",
        release="stop giving the linked role",
    ),
    RoleManager(
        KICK_VIP,
        _is_kick_vip_role,
        what="the Kick VIP role (the Kick reward's temporary role)",
        takes_back="the bot takes it back when a member's VIP time ends",
        holders="Kick VIPs",
        release="give the Kick reward another role (!vip kick) and let its VIPs expire",
    ),
    RoleManager(
        SHUFFLE,
        _is_shuffle_role,
        what="the Shuffle verified role",
        takes_back="the bot takes it back when a Shuffle account is unlinked",
        holders="verified Shuffle players",
        release="pick another Shuffle verified role (!shuffle role)",
    ),
)
_BY_FEATURE = {manager.feature: manager for manager in MANAGERS}


def manager_of(conn: Connection, guild_id: int, role_id: int, *, besides: str) -> str | None:
    """The feature other than ``besides`` that manages ``role_id`` in the guild, if any."""
    for manager in MANAGERS:
        if manager.feature != besides and manager.is_managed(conn, guild_id, role_id):
            return manager.feature
    return None


def refusal(conn: Connection, guild_id: int, role_id: int, *, feature: str) -> str | None:
    """Why ``feature`` may not take ``role_id`` (words for the admin, naming the feature that
    manages it already); None when no other feature manages it."""
    other = manager_of(conn, guild_id, role_id, besides=feature)
    if other is None:
        return None
    holder, asking = _BY_FEATURE[other], _BY_FEATURE[feature]
    return (
        f"That role is {holder.what}: {holder.takes_back}, so {asking.holders} would lose it. "
        f"Pick another role, or {holder.release} first."
    )
