"""While Discord has a server unavailable (an outage: the bot stays connected, and discord.py
keeps the guild with ``unavailable`` set and none of its channels, roles or members), every
effect on that server waits (``DiscordUnavailable``: the outbox tries it again later) instead of
finding nothing and being dropped as done: a heist result, a slot call, a VIP notice, Kick's
temporary role given or taken, the linked role, watchtime roles. Another server's go on."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from core.discord_bot.gateway import DiscordGateway, DiscordUnavailable
from core.discord_bot.heist.outbound import DiscordHeistAnnouncer
from core.discord_bot.linking.outbound import DiscordLinks
from core.discord_bot.roles.outbound import DiscordMemberRoles
from core.discord_bot.slot_calls.outbound import DiscordSlotCallPoster
from core.discord_bot.vip.outbound import DiscordTemporaryRoles, DiscordVipNotices
from core.events import Platform
from core.features.heist.ports import HeistResult
from core.features.linking.ports import RoleChange
from core.features.slot_calls.repository import SlotCall
from core.features.vip.ports import RoleRefused

DOWN, UP = 111, 222  # a server in an outage, and one that is not
CHANNEL, MEMBER, ROLE = 5001, 42, 900
AT = datetime(2030, 1, 1, tzinfo=UTC)


class OutageClient:
    """A connected client that knows both servers, one of them unavailable and empty."""

    def get_guild(self, guild_id: int) -> object | None:
        if guild_id == DOWN:
            return SimpleNamespace(id=DOWN, unavailable=True, get_channel=lambda _id: None)
        return None  # UP: the bot is not in it (its effects are skipped, not held)

    def get_channel(self, channel_id: int) -> None:
        return None


class Connected(DiscordGateway):
    def client(self) -> OutageClient:  # type: ignore[override]
        return OutageClient()


def gateway() -> DiscordGateway:
    return Connected()


EFFECTS = {
    "heist result": lambda g, guild: DiscordHeistAnnouncer(g).announce_result(
        CHANNEL, HeistResult(1, guild, Platform.KICK, "1", AT, "points", ())
    ),
    "slot call": lambda g, guild: DiscordSlotCallPoster(g).post_call(
        CHANNEL,
        SlotCall(7, guild, Platform.KICK, "1", "42", "fan", None, "Book of Dead", "open", AT),
        1,
    ),
    "VIP notice": lambda g, guild: DiscordVipNotices(g).post_notice(guild, CHANNEL, "hi"),
    "Kick VIP role given": lambda g, guild: DiscordTemporaryRoles(g).add_role(guild, MEMBER, ROLE),
    "Kick VIP role taken": lambda g, guild: DiscordTemporaryRoles(g).remove_role(
        guild, MEMBER, ROLE
    ),
    "linked role": lambda g, guild: DiscordLinks(g).set_linked_role(
        guild, MEMBER, ROLE, present=True
    ),
    "watchtime roles": lambda g, guild: DiscordMemberRoles(g).edit_member_roles(
        guild, MEMBER, add=[ROLE], remove=[], reason="watchtime"
    ),
}


@pytest.mark.parametrize("effect", EFFECTS.values(), ids=EFFECTS.keys())
async def test_an_effect_on_a_server_in_an_outage_waits_for_it(effect) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DiscordUnavailable, match="unavailable"):
        await effect(gateway(), DOWN)


@pytest.mark.parametrize("effect", EFFECTS.values(), ids=EFFECTS.keys())
async def test_another_servers_effect_is_not_held_by_it(effect) -> None:  # type: ignore[no-untyped-def]
    """The bot is not in that server: each port says so its own way, at once."""
    done: object = None
    try:
        done = await effect(gateway(), UP)
    except DiscordUnavailable:
        pytest.fail("an effect on a server with no outage waits for another's")
    except RoleRefused as refused:
        done = str(refused)
    assert done in (
        False,
        RoleChange(ROLE, False, "the role no longer exists"),
        "the bot is not in that Discord server",
        "not posted: the bot is not in that Discord server",
    )
