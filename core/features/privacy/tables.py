"""The forgets still to finish. ``privacy forget --yes`` (core/features/person_forget.py) keeps
some rows only for now (a seat in a heist under way, a VIP grant still running) and deletes the
person's links and names all the same; these rows are what still finds those rows afterwards:
the person's accounts and Discord id, no names, until the last row kept for now is deleted
(``finishing.py``); an outbox call kept for now is recorded by its id, with platform
``outbox`` (``outbox_calls.RECORDED``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Table

from core.storage.schema import BigId, PlatformName, Snowflake, UserId, UTCDateTime, metadata

privacy_forgets_to_finish = Table(
    "privacy_forgets_to_finish",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("discord_user_id", Snowflake, nullable=True),  # None: forgotten by Kick/Twitch name
    # An account of theirs; both None for a member with no Kick or Twitch account.
    Column("platform", PlatformName, nullable=True),
    Column("platform_user_id", UserId, nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index(None, "discord_user_id"),
)
