"""Account links: one platform account per Discord user and one Discord user per account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.storage.tables import account_links


@dataclass(frozen=True)
class AccountLink:
    platform: Platform
    platform_user_id: str
    discord_user_id: int
    username: str
    linked_at: datetime


def find_link_by_account(
    conn: Connection, platform: Platform, platform_user_id: str
) -> AccountLink | None:
    return _find_link(conn, platform, account_links.c.platform_user_id == platform_user_id)


def find_link_by_discord_user(
    conn: Connection, platform: Platform, discord_user_id: int
) -> AccountLink | None:
    return _find_link(conn, platform, account_links.c.discord_user_id == discord_user_id)


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


def _link(row: sa.Row) -> AccountLink:
    return AccountLink(
        Platform(row.platform), row.platform_user_id, row.discord_user_id, row.username,
        row.linked_at,
    )  # fmt: skip
