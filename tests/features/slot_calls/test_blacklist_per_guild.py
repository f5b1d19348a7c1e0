"""A moderator blacklists a name for their own server: it binds to the viewer of that name seen
here, never to one known only in another server (who would then be the one kept out), and
another server's viewer of that name on the other platform does not make the name ambiguous."""

from __future__ import annotations

from core.events import Platform
from tests.features.slot_calls.conftest import GUILD, MODERATOR, OTHER_GUILD
from tests.features.viewers.guild_support import viewer_of


def _entries(service) -> list[tuple[str, str | None]]:
    return sorted((str(e.platform), e.platform_user_id) for e in service.blacklist.entries(GUILD))


def test_a_name_known_only_in_another_server_is_listed_by_name(service, engine) -> None:
    viewer_of(engine, OTHER_GUILD, Platform.KICK, "66", "troll")
    assert service.blacklist.add(GUILD, "kick:troll", added_by=MODERATOR).is_new is True
    assert _entries(service) == [("kick", None)]  # whoever calls by that name here


def test_another_servers_twitch_troll_does_not_make_the_name_ambiguous(service, engine) -> None:
    viewer_of(engine, OTHER_GUILD, Platform.TWITCH, "t66", "troll")
    viewer_of(engine, GUILD, Platform.KICK, "66", "Troll")
    assert service.blacklist.add(GUILD, "troll", added_by=MODERATOR).is_new is True
    assert _entries(service) == [("kick", "66")]
    assert service.blacklist.remove(GUILD, "troll") is True
    assert _entries(service) == []
