"""Finding who linked an account by its name (``!linkowner``), on both databases: by the name it
was linked under or the name its viewer goes by now, case-insensitive, one platform or both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from core.events import Platform, Viewer
from core.features.linking import holders
from core.features.linking.repository import AccountLink, save_link
from core.features.refusals import Refused
from core.features.viewers.repository import remember_viewers

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
GUILD = 111


def _link(engine: Engine, platform: Platform, user_id: str, name: str, member: int) -> None:
    with engine.begin() as conn:
        save_link(conn, AccountLink(platform, user_id, member, name, T0), GUILD)


def _holders(engine: Engine, typed: str) -> list[tuple[str, str, int]]:
    return [(str(link.platform), link.username, link.discord_user_id)
            for link in holders.named(engine, typed)]  # fmt: skip


def test_holders_by_linked_name_or_name_now_on_one_platform_or_both(engine: Engine) -> None:
    _link(engine, Platform.KICK, "k1", "Ana_Plays", 1)
    _link(engine, Platform.TWITCH, "t1", "ana_plays", 2)
    _link(engine, Platform.KICK, "k2", "old_bob", 3)
    _link(engine, Platform.TWITCH, "t2", "bob", 4)  # another Twitch viewer's name
    with engine.begin() as conn:  # k2 chats as "bob" now; a viewer "bob" on Twitch is t2
        remember_viewers(conn, Platform.KICK, [Viewer("k2", "Bob")], T0)
        remember_viewers(conn, Platform.TWITCH, [Viewer("t2", "bob")], T0)

    assert _holders(engine, "ANA_PLAYS") == [("kick", "Ana_Plays", 1), ("twitch", "ana_plays", 2)]
    assert _holders(engine, "twitch:ana_plays") == [("twitch", "ana_plays", 2)]
    assert _holders(engine, "@bob") == [("kick", "old_bob", 3), ("twitch", "bob", 4)]
    assert _holders(engine, "kick:bob") == [("kick", "old_bob", 3)]
    assert _holders(engine, "carol") == []


@pytest.mark.parametrize("typed", ["", "   ", "kick:", "x" * 101])
def test_a_name_that_names_nobody_is_refused_in_words(engine: Engine, typed: str) -> None:
    with pytest.raises(Refused, match="Name a Kick or Twitch account"):
        holders.named(engine, typed)
