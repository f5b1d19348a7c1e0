"""Account links (one platform account per Discord user and one Discord user per account), and
each guild's link settings, link panels and link history."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.linking.tables import account_links, link_history, link_panels, link_settings
from core.features.viewers.tables import viewers
from core.storage.db import insert_for, insert_if_absent
from core.storage.tables import processed_events


@dataclass(frozen=True)
class AccountLink:
    platform: Platform
    platform_user_id: str
    discord_user_id: int
    username: str
    linked_at: datetime
    linked_in_guild_id: int | None = None  # the server where the member made the link


def find_link_by_account(
    conn: Connection, platform: Platform, platform_user_id: str
) -> AccountLink | None:
    return _find_link(conn, platform, account_links.c.platform_user_id == platform_user_id)


def find_link_by_discord_user(
    conn: Connection, platform: Platform, discord_user_id: int
) -> AccountLink | None:
    return _find_link(conn, platform, account_links.c.discord_user_id == discord_user_id)


def links_of_member(conn: Connection, discord_user_id: int) -> list[AccountLink]:
    """The member's linked accounts, Kick's then Twitch's (none, one or both)."""
    found = (find_link_by_discord_user(conn, p, discord_user_id) for p in Platform)
    return [link for link in found if link is not None]


def find_links_by_accounts(
    conn: Connection, platform: Platform, platform_user_ids: Collection[str]
) -> dict[str, AccountLink]:
    """The links of these platform accounts, by platform user id (unlinked ones are absent)."""
    ids = list(dict.fromkeys(platform_user_ids))
    found: dict[str, AccountLink] = {}
    for start in range(0, len(ids), 500):  # keeps the IN list within every backend's limits
        query = sa.select(account_links).where(
            account_links.c.platform == str(platform),
            account_links.c.platform_user_id.in_(ids[start : start + 500]),
        )
        found.update((row.platform_user_id, _link(row)) for row in conn.execute(query))
    return found


def find_links_by_username(
    conn: Connection, platforms: Sequence[Platform], username: str
) -> list[AccountLink]:
    """The links of the accounts on ``platforms`` called ``username`` (case-insensitive): by
    the name they were linked under, or by the name the account's viewer goes by now. Each
    side a search of its index by platform and lowercased name (an OR of the two in one
    query would read every link)."""
    name = username.lower()
    names = [str(platform) for platform in platforms]
    by_linked_name = sa.select(account_links).where(
        account_links.c.platform.in_(names), sa.func.lower(account_links.c.username) == name
    )
    by_name_now = (
        sa.select(account_links)
        .join(
            viewers,
            sa.and_(
                viewers.c.platform == account_links.c.platform,
                viewers.c.platform_user_id == account_links.c.platform_user_id,
            ),
        )
        .where(viewers.c.platform.in_(names), sa.func.lower(viewers.c.username) == name)
    )
    found = sa.union(by_linked_name, by_name_now).subquery()
    query = sa.select(found).order_by(found.c.platform, found.c.platform_user_id)
    return [_link(row) for row in conn.execute(query)]


def find_links_by_discord_users(
    conn: Connection, platform: Platform, discord_user_ids: Collection[int]
) -> dict[int, AccountLink]:
    """These Discord users' links on ``platform``, by Discord user id (those with none absent)."""
    ids = list(dict.fromkeys(discord_user_ids))
    found: dict[int, AccountLink] = {}
    for start in range(0, len(ids), 500):  # keeps the IN list within every backend's limits
        query = sa.select(account_links).where(
            account_links.c.platform == str(platform),
            account_links.c.discord_user_id.in_(ids[start : start + 500]),
        )
        found.update((row.discord_user_id, _link(row)) for row in conn.execute(query))
    return found


def discord_users_of(conn: Connection, platform_ids: Sequence[tuple[str, str]]) -> dict[str, int]:
    """``"platform:user_id"`` -> the Discord user linked to it, for those of ``platform_ids``
    that are linked (any platform)."""
    by_platform: dict[str, list[str]] = {}
    for platform, platform_user_id in platform_ids:
        by_platform.setdefault(platform, []).append(platform_user_id)
    return {
        f"{platform}:{platform_user_id}": link.discord_user_id
        for platform, ids in by_platform.items()
        for platform_user_id, link in find_links_by_accounts(conn, Platform(platform), ids).items()
    }


def links_of_platform(platform: Platform) -> sa.Subquery:
    """The links of one platform as a subquery to join on ``platform_user_id``; its columns are
    ``platform_user_id`` and ``discord_user_id``."""
    return (
        sa.select(account_links.c.platform_user_id, account_links.c.discord_user_id)
        .where(account_links.c.platform == str(platform))
        .subquery("links")
    )


def _find_link(
    conn: Connection, platform: Platform, condition: sa.ColumnElement[bool]
) -> AccountLink | None:
    query = sa.select(account_links).where(account_links.c.platform == str(platform), condition)
    row = conn.execute(query).first()
    return None if row is None else _link(row)


def save_link(conn: Connection, link: AccountLink, guild_id: int) -> None:
    conn.execute(
        sa.delete(account_links).where(
            account_links.c.platform == str(link.platform),
            account_links.c.discord_user_id == link.discord_user_id,
        )
    )
    conn.execute(
        sa.insert(account_links).values(
            platform=str(link.platform),
            platform_user_id=link.platform_user_id,
            discord_user_id=link.discord_user_id,
            username=link.username,
            linked_in_guild_id=guild_id,
            linked_at=link.linked_at,
        )
    )


def delete_link(conn: Connection, platform: Platform, discord_user_id: int) -> AccountLink | None:
    """Remove the Discord user's link to ``platform``; the removed link, or None."""
    link = find_link_by_discord_user(conn, platform, discord_user_id)
    if link is not None:
        conn.execute(
            sa.delete(account_links).where(
                account_links.c.platform == str(platform),
                account_links.c.discord_user_id == discord_user_id,
            )
        )
    return link


def _link(row: sa.Row) -> AccountLink:
    return AccountLink(
        Platform(row.platform),
        row.platform_user_id,
        row.discord_user_id,
        row.username,
        row.linked_at,
        row.linked_in_guild_id,
    )


# --- per-guild link settings -----------------------------------------------------------------


@dataclass(frozen=True)
class LinkSettings:
    guild_id: int
    log_channel_id: int | None = None
    linked_role_id: int | None = None


def get_settings(conn: Connection, guild_id: int) -> LinkSettings:
    row = conn.execute(sa.select(link_settings).where(link_settings.c.guild_id == guild_id)).first()
    if row is None:
        return LinkSettings(guild_id)
    return LinkSettings(guild_id, row.log_channel_id, row.linked_role_id)


def update_settings(conn: Connection, guild_id: int, now: datetime, **changes: int | None) -> None:
    """Set ``log_channel_id`` and/or ``linked_role_id`` for the guild (None turns one off)."""
    stmt = insert_for(conn, link_settings).values(guild_id=guild_id, updated_at=now, **changes)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[link_settings.c.guild_id], set_={"updated_at": now, **changes}
        )
    )


# --- link panels -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkPanel:
    guild_id: int
    channel_id: int
    message_id: int
    kind: str  # "reaction" or "button"
    emoji: str | None
    created_by: int
    created_at: datetime


def save_panel(conn: Connection, panel: LinkPanel) -> None:
    conn.execute(sa.insert(link_panels).values(asdict(panel)))


def find_panel(conn: Connection, guild_id: int, message_id: int) -> LinkPanel | None:
    query = sa.select(link_panels).where(
        link_panels.c.guild_id == guild_id, link_panels.c.message_id == message_id
    )
    row = conn.execute(query).first()
    return None if row is None else LinkPanel(**row._mapping)


def delete_panel(conn: Connection, guild_id: int, message_id: int) -> None:
    conn.execute(
        sa.delete(link_panels).where(
            link_panels.c.guild_id == guild_id, link_panels.c.message_id == message_id
        )
    )


# --- link history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    guild_id: int
    discord_user_id: int
    action: str  # "linked", "unlinked" or "refused"
    platform: Platform
    platform_user_id: str | None
    username: str | None
    reason: str | None
    actor_id: int | None
    created_at: datetime


_HISTORY_FIELDS = tuple(field.name for field in fields(HistoryEntry))


def add_history(conn: Connection, entry: HistoryEntry) -> None:
    conn.execute(sa.insert(link_history).values({**asdict(entry), "platform": str(entry.platform)}))


def list_history_of_member(
    conn: Connection, guild_id: int, discord_user_id: int
) -> list[HistoryEntry]:
    """The member's link history in this guild, oldest first."""
    query = (
        sa.select(link_history)
        .where(
            link_history.c.guild_id == guild_id,
            link_history.c.discord_user_id == discord_user_id,
        )
        .order_by(link_history.c.id)
    )
    return [_history_entry(row) for row in conn.execute(query)]


def list_history_of_member_everywhere(conn: Connection, discord_user_id: int) -> list[HistoryEntry]:
    """The member's link history in every guild, oldest first."""
    query = (
        sa.select(link_history)
        .where(link_history.c.discord_user_id == discord_user_id)
        .order_by(link_history.c.id)
    )
    return [_history_entry(row) for row in conn.execute(query)]


def guilds_where_member_linked(conn: Connection, discord_user_id: int) -> list[int]:
    """The guilds where the member linked an account (any platform, at any time): those whose
    linked role they may hold."""
    query = (
        sa.select(link_history.c.guild_id)
        .where(link_history.c.discord_user_id == discord_user_id, link_history.c.action == "linked")
        .distinct()
        .order_by(link_history.c.guild_id)
    )
    return list(conn.execute(query).scalars())


def list_recent_history(conn: Connection, guild_id: int, limit: int = 50) -> list[HistoryEntry]:
    """The guild's latest links, unlinks and refusals, newest first."""
    query = (
        sa.select(link_history)
        .where(link_history.c.guild_id == guild_id)
        .order_by(link_history.c.id.desc())
        .limit(limit)
    )
    return [_history_entry(row) for row in conn.execute(query)]


def _history_entry(row: sa.Row) -> HistoryEntry:
    values = {name: row._mapping[name] for name in _HISTORY_FIELDS}
    values["platform"] = Platform(row.platform)
    return HistoryEntry(**values)


# --- effects done once per event -------------------------------------------------------------


def claim_effect(
    conn: Connection, guild_id: int, consumer: str, event_key: str, now: datetime
) -> bool:
    """Record that ``consumer`` did its effect for the event; False when it already had."""
    return insert_if_absent(
        conn,
        processed_events,
        {"guild_id": guild_id, "consumer": consumer, "event_key": event_key, "processed_at": now},
    )


def effect_done(conn: Connection, guild_id: int, consumer: str, event_key: str) -> bool:
    query = sa.select(processed_events.c.event_key).where(
        processed_events.c.guild_id == guild_id,
        processed_events.c.consumer == consumer,
        processed_events.c.event_key == event_key,
    )
    return conn.execute(query).first() is not None
