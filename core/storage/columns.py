"""Column groups that mean the same in every table that has them: the guild a row belongs to as
its key, and a viewer (on its own, or as seen in a streamer's chat).

Each call makes new columns, as a Column belongs to one table. The names, types and keys are
the ones the migrations create (``tests/storage/test_db.py`` compares them).
"""

from __future__ import annotations

from sqlalchemy import Column, String

from core.storage.schema import PlatformName, Snowflake, UserId


def guild_key() -> Column[int]:
    """``guild_id`` as the primary key or its first part: Discord's id, never generated (a lone
    integer key would otherwise auto-increment)."""
    return Column("guild_id", Snowflake, primary_key=True, autoincrement=False)


def viewer_key() -> tuple[Column[str], Column[str]]:
    """A viewer, ``(platform, platform_user_id)``, as part of the primary key."""
    return (
        Column("platform", PlatformName, primary_key=True),
        Column("platform_user_id", UserId, primary_key=True),
    )


def viewer_columns() -> tuple[Column[str], Column[str]]:
    """A viewer, ``(platform, platform_user_id)``, both required."""
    return (
        Column("platform", PlatformName, nullable=False),
        Column("platform_user_id", UserId, nullable=False),
    )


def chat_viewer_columns() -> tuple[Column[str], Column[str], Column[str], Column[str]]:
    """A viewer as seen in a streamer's chat, all required: ``platform``,
    ``broadcaster_user_id`` (whose chat), ``platform_user_id`` and ``username`` (as shown then)."""
    return (
        Column("platform", PlatformName, nullable=False),
        Column("broadcaster_user_id", UserId, nullable=False),
        Column("platform_user_id", UserId, nullable=False),
        Column("username", String(100), nullable=False),
    )
