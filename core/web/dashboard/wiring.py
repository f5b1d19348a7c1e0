"""The calls the dashboard is given that are made from feature services (a raffle period's
proof files, a guild's roles and channels as the bot saw them); ``core/wiring/front_ends.py``
builds the dashboard's configuration with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.web.dashboard.config import ProofFiles

if TYPE_CHECKING:
    from core.features.directory.service import DirectoryService
    from core.features.raffle.draws.proofs import Proof
    from core.features.raffle.views import RaffleViews
    from core.features.roles.ports import GuildRoles


def raffle_exporter(views: RaffleViews) -> Callable[[int], ProofFiles]:
    """A closed period's proof files, as ``python -m core raffle export`` gets them (the ledger
    read only when asked for); LookupError when there is none to show (unknown, open, or not
    drawn yet)."""
    from core.features.raffle.errors import RaffleRefused

    def proof(period_id: int, with_ledger: bool) -> tuple[dict[str, Any], Proof]:
        try:
            found = views.export(period_id, with_ledger=with_ledger)
        except RaffleRefused as exc:
            raise LookupError(str(exc)) from exc
        if found.document is None:
            raise LookupError(f"period {period_id} has no draw yet")
        return found.document, found

    def read_ledger(period_id: int) -> dict[str, Any]:
        ledger = proof(period_id, with_ledger=True)[1].ledger
        if ledger is None:
            raise LookupError(f"period {period_id} has no ledger")
        return ledger

    def export(period_id: int) -> ProofFiles:
        document, found = proof(period_id, with_ledger=False)
        return ProofFiles(
            document, found.entry_count, lambda: read_ledger(period_id), found.time_zone
        )

    return export


def guild_roles_of(directory: DirectoryService) -> Callable[[int], GuildRoles | None]:
    """A guild's roles as the bot last saw them (the server directory, so every web process
    knows them): which exist and which it may hand out; None when the bot never described it."""

    def guild_roles(guild_id: int) -> GuildRoles | None:
        from core.features.roles.ports import GuildRoles

        server, roles = directory.server(guild_id), directory.roles(guild_id)
        if server is None or server.can_manage_roles is None or not roles:
            return None
        return GuildRoles(
            can_manage_roles=server.can_manage_roles,
            assignable_role_ids=frozenset(role.role_id for role in roles if role.assignable),
            existing_role_ids=frozenset(role.role_id for role in roles),
        )

    return guild_roles


def guild_channel_ids_of(directory: DirectoryService) -> Callable[[int], frozenset[int] | None]:
    """A guild's channel ids as the bot last saw them; None when it never described the guild."""

    def channel_ids(guild_id: int) -> frozenset[int] | None:
        channels = directory.channels(guild_id)
        return frozenset(channel.channel_id for channel in channels) if channels else None

    return channel_ids
