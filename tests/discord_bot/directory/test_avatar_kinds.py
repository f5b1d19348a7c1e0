"""What the bot stores of a member's picture: its kind with its key, since a server avatar, an
account avatar and a default one each live at another address on Discord's CDN."""

from __future__ import annotations

from types import SimpleNamespace

from core.discord_bot.directory.snapshot import avatar_of


def member(guild_avatar: str | None, avatar: str | None, default: str = "4") -> SimpleNamespace:
    def asset(key: str | None) -> SimpleNamespace | None:
        return None if key is None else SimpleNamespace(key=key)

    return SimpleNamespace(
        guild_avatar=asset(guild_avatar), avatar=asset(avatar), default_avatar=asset(default)
    )


def test_the_server_avatar_wins_then_the_accounts_then_discords_default() -> None:
    assert avatar_of(member("a_guildhash", "userhash")) == "g:a_guildhash"  # type: ignore[arg-type]
    assert avatar_of(member(None, "userhash")) == "u:userhash"  # type: ignore[arg-type]
    assert avatar_of(member(None, None, "2")) == "d:2"  # type: ignore[arg-type]
