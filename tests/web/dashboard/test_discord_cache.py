"""What the settings pages check typed ids against: the connected bot's view of a guild's roles
and channels, and None (cannot check) whenever there is no connected bot in this process."""

from __future__ import annotations

from types import SimpleNamespace

from core.discord_bot.gateway import DiscordGateway
from core.web.dashboard.wiring import guild_channel_ids_of, guild_roles_of

GUILD = 111111111111111111


def _role(role_id: int, assignable: bool) -> SimpleNamespace:
    return SimpleNamespace(id=role_id, is_assignable=lambda: assignable)


class ConnectedClient:
    """Stands in for discord.Client: a ready client whose cache holds one guild."""

    def __init__(self, guild: SimpleNamespace) -> None:
        self.guild = guild

    def is_closed(self) -> bool:
        return False

    def is_ready(self) -> bool:
        return True

    def get_guild(self, guild_id: int) -> SimpleNamespace | None:
        return self.guild if guild_id == self.guild.id else None


def test_roles_and_channels_of_a_cached_guild():
    me = SimpleNamespace(guild_permissions=SimpleNamespace(manage_roles=True))
    guild = SimpleNamespace(
        id=GUILD,
        me=me,
        roles=[_role(GUILD, False), _role(5, True), _role(6, False)],
        channels=[SimpleNamespace(id=7), SimpleNamespace(id=8)],
    )
    gateway = DiscordGateway()
    gateway.attach(ConnectedClient(guild))  # type: ignore[arg-type]
    roles = guild_roles_of(gateway)(GUILD)
    assert roles is not None
    assert roles.existing_role_ids == {GUILD, 5, 6}
    assert roles.assignable_role_ids == {5}
    assert guild_channel_ids_of(gateway)(GUILD) == {7, 8}
    assert guild_roles_of(gateway)(GUILD + 1) is None  # a guild the bot does not see
    guild.me = None  # the bot's member not cached yet
    assert guild_roles_of(gateway)(GUILD) is None


def test_nothing_is_known_without_a_connected_bot():
    off = DiscordGateway()  # no DISCORD_TOKEN in this process (a split web worker)
    connecting = DiscordGateway()
    connecting.enabled = True  # configured, not connected yet
    for gateway in (off, connecting):
        assert guild_roles_of(gateway)(GUILD) is None
        assert guild_channel_ids_of(gateway)(GUILD) is None
