"""Replacing TOKEN_ENCRYPTION_KEY (core/features/key_rotation.py, ``python -m core keys
rotate``): with the new key put in front of the old one, every encrypted value of every table is
sealed again with the new key, so the old one can be dropped; what no key reads is left and
counted. A test keeps every column named as a secret marked as encrypted."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from core.features.key_rotation import encrypted_columns, rotate_keys
from core.features.schema import all_tables
from core.security.secrets import TokenCipher, UndecryptableToken, new_fernet_key

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
OLD, NEW, LOST = new_fernet_key(), new_fernet_key(), new_fernet_key()


def seed(engine) -> None:  # type: ignore[no-untyped-def]
    """Two guilds' Kick connections and an overlay URL, sealed with the old key; a third
    guild's connection sealed with a key nobody kept."""
    old, lost, tables = TokenCipher(OLD), TokenCipher(LOST), all_tables().tables
    with engine.begin() as conn:
        for guild_id, cipher in ((1, old), (2, old), (3, lost)):
            conn.execute(sa.insert(tables["kick_connections"]).values(
                guild_id=guild_id, broadcaster_user_id="77", kick_username="streamer",
                access_token=cipher.encrypt(f"access-{guild_id}"),
                refresh_token=cipher.encrypt(f"refresh-{guild_id}"), expires_at=NOW,
                scopes="chat:write", status="connected", connected_by=5, needs_sync=False,
                updated_at=NOW))  # fmt: skip
        conn.execute(sa.insert(tables["overlay_tokens"]).values(
            guild_id=1, kind="heist", token_hash="h" * 64, token_sealed=old.encrypt("overlay"),
            created_at=NOW))  # fmt: skip


def kick_tokens(engine, key: str) -> dict[int, tuple[str, str] | None]:  # type: ignore[no-untyped-def]
    cipher, table = TokenCipher(key), all_tables().tables["kick_connections"]
    found: dict[int, tuple[str, str] | None] = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.select(table).order_by(table.c.guild_id)):
            try:
                found[row.guild_id] = (
                    cipher.decrypt(row.access_token),
                    cipher.decrypt(row.refresh_token),
                )
            except UndecryptableToken:
                found[row.guild_id] = None
    return found


def test_every_value_is_sealed_again_with_the_new_key_and_the_lost_ones_counted(engine):
    seed(engine)

    with engine.begin() as conn:
        report = rotate_keys(conn, TokenCipher(f"{NEW},{OLD}"))

    assert report.rotated == {
        "kick_connections.access_token": 2,
        "kick_connections.refresh_token": 2,
        "overlay_tokens.token_sealed": 1,
    }
    assert report.unreadable == {
        "kick_connections.access_token": 1,
        "kick_connections.refresh_token": 1,
    }
    # The old key can go: the new one alone reads all it read.
    assert kick_tokens(engine, NEW) == {
        1: ("access-1", "refresh-1"),
        2: ("access-2", "refresh-2"),
        3: None,
    }
    assert kick_tokens(engine, LOST)[3] == ("access-3", "refresh-3")  # left as it was
    with engine.connect() as conn:
        sealed = conn.execute(sa.select(all_tables().tables["overlay_tokens"].c.token_sealed))
        assert TokenCipher(NEW).decrypt(sealed.scalar_one()) == "overlay"

    with engine.begin() as conn:
        again = rotate_keys(conn, TokenCipher(f"{NEW},{OLD}"))
    assert (again.rotated, sum(again.current.values())) == ({}, 5)


SECRET_NAME = re.compile(r"token|jwt|verifier|sealed|secret|password")


def test_every_column_named_as_a_secret_is_marked_encrypted():
    marked = {f"{c.table.name}.{c.name}" for c in encrypted_columns()}
    named = {
        f"{name}.{column.name}"
        for name, table in all_tables().tables.items()
        for column in table.columns
        if SECRET_NAME.search(column.name) and not column.name.endswith("_hash")
    }
    assert named <= marked
    assert "shuffle_settings.affiliate_url" in marked  # it holds the affiliate's key


class RefreshedMeanwhile(TokenCipher):
    """The new key first; while a Kick access token is sealed again, the bot (still running with
    the old key first) refreshes it, ``refreshes`` times in a row, from its own connection."""

    def __init__(self, engine, refreshes: int) -> None:  # type: ignore[no-untyped-def]
        super().__init__(f"{NEW},{OLD}")
        self.engine, self.refreshes, self.made = engine, refreshes, 0

    def rotate(self, stored: str) -> str:
        if self.made < self.refreshes and TokenCipher(OLD).decrypt(stored).startswith("access-1"):
            self.made += 1
            table = all_tables().tables["kick_connections"]
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(table)
                    .where(table.c.guild_id == 1)
                    .values(access_token=TokenCipher(OLD).encrypt(f"access-1-refresh-{self.made}"))
                )
        return super().rotate(stored)


def old_access_token_of_guild_1(engine) -> str | None:  # type: ignore[no-untyped-def]
    table = all_tables().tables["kick_connections"]
    with engine.connect() as conn:
        sealed = conn.execute(sa.select(table.c.access_token).where(table.c.guild_id == 1))
        try:
            return TokenCipher(OLD).decrypt(sealed.scalar_one())
        except UndecryptableToken:
            return None


# PostgreSQL only: on SQLite the rotation's transaction holds the file, so nothing writes meanwhile.
def test_a_token_refreshed_under_the_old_key_while_rotating_is_sealed_again(postgres_engine):
    engine = postgres_engine
    seed(engine)

    with engine.begin() as conn:
        report = rotate_keys(conn, RefreshedMeanwhile(engine, refreshes=1))

    # Dropping the old key now loses nothing: the refreshed token was read and sealed again.
    assert kick_tokens(engine, NEW)[1] == ("access-1-refresh-1", "refresh-1")
    assert report.rotated["kick_connections.access_token"] == 2
    assert report.changing == {}


def test_a_token_that_keeps_changing_is_reported_not_counted_as_sealed_again(postgres_engine):
    engine = postgres_engine
    seed(engine)

    cipher = RefreshedMeanwhile(engine, refreshes=99)
    with engine.begin() as conn:
        report = rotate_keys(conn, cipher)

    assert report.changing == {"kick_connections.access_token": 1}
    assert report.rotated["kick_connections.access_token"] == 1  # guild 2's only
    # Still under the old key, which must stay: the command says so and fails.
    assert old_access_token_of_guild_1(engine) == f"access-1-refresh-{cipher.made}"
