"""What the settings pages check typed and picked ids against: the server directory the bot
keeps (so a web worker with no bot of its own knows them too), and None (cannot check) for a
server the bot never described."""

from __future__ import annotations

from datetime import UTC, datetime

from core.features.directory.repository import Channel, Role, Server
from core.features.directory.service import DirectoryService, Snapshot
from core.web.dashboard.wiring import guild_channel_ids_of, guild_roles_of
from tests.support.clock import Clock

GUILD = 111111111111111111


def test_roles_and_channels_of_a_described_server(engine):
    directory = DirectoryService(engine, Clock(datetime(2030, 1, 1, tzinfo=UTC)))
    roles = (Role(GUILD, "@everyone", 0, is_default=True), Role(5, "Fan", 1, assignable=True),
             Role(6, "Admin", 9))  # fmt: skip
    channels = (Channel(7, "general", "text", 0, True), Channel(8, "Lounge", "voice", 1))
    directory.record_server(Snapshot(Server(GUILD, "Stream", None, True), roles, channels))

    found = guild_roles_of(directory)(GUILD)
    assert found is not None
    assert found.can_manage_roles
    assert found.existing_role_ids == {GUILD, 5, 6}
    assert found.assignable_role_ids == {5}
    assert guild_channel_ids_of(directory)(GUILD) == {7, 8}


def test_nothing_is_known_of_a_server_the_bot_never_described(engine):
    directory = DirectoryService(engine, Clock(datetime(2030, 1, 1, tzinfo=UTC)))
    directory.name_servers([Server(GUILD, "Named at a login", None)])  # a name, no roles
    for guild_id in (GUILD, GUILD + 1):
        assert guild_roles_of(directory)(guild_id) is None
        assert guild_channel_ids_of(directory)(guild_id) is None
