"""The server directory on SQLite and PostgreSQL: a snapshot replaces a server's roles and
channels whole, a complete member list forgets who left, a login names a server without undoing
what the bot said, and one server's entries never show in another's."""

from __future__ import annotations

from datetime import UTC, datetime

from core.features.directory.repository import Channel, Member, Role, Server
from core.features.directory.service import DirectoryService, Snapshot
from tests.support.clock import Clock

A, B = 111, 222


def snapshot(guild_id: int, *roles: Role, channels: tuple[Channel, ...] = ()) -> Snapshot:
    return Snapshot(Server(guild_id, f"Server {guild_id}", "abc", True), roles, channels)


def test_a_snapshot_replaces_roles_and_channels_whole(engine):
    directory = DirectoryService(engine, Clock(datetime(2030, 1, 1, tzinfo=UTC)))
    old = Role(1, "Old", 1, assignable=True)
    text = Channel(10, "general", "text", 0, can_post=True)
    voice = Channel(11, "Lounge", "voice", 1)
    directory.record_server(snapshot(A, old, channels=(text, voice)))
    directory.record_server(snapshot(B, Role(9, "B only", 1)))
    directory.record_server(
        snapshot(A, Role(2, "Gold", 5, 0xF1C40F, True), Role(A, "@everyone", 0, is_default=True),
                 channels=(text,))
    )  # fmt: skip
    assert [r.name for r in directory.roles(A)] == ["Gold", "@everyone"]  # highest first
    assert directory.roles(A)[0].color == 0xF1C40F
    assert directory.channels(A) == [text]
    assert directory.postable_channels(A) == [text]
    assert [r.name for r in directory.roles(B)] == ["B only"]


def test_long_names_are_cut_to_fit(engine):
    directory = DirectoryService(engine, Clock(datetime(2030, 1, 1, tzinfo=UTC)))
    directory.record_server(snapshot(A, Role(1, "r" * 300, 1)))
    directory.record_members(A, [Member(5, "m" * 300)])
    assert len(directory.roles(A)[0].name) == 100
    assert len(directory.member_names(A, [5])[5]) == 100


def test_a_complete_member_list_forgets_who_left(engine):
    clock = Clock(datetime(2030, 1, 1, tzinfo=UTC))
    directory = DirectoryService(engine, clock)
    directory.record_members(A, [Member(1, "ana"), Member(2, "bo")], complete=True)
    directory.record_members(B, [Member(1, "ana in B")])
    clock.advance(60)
    directory.record_members(A, [Member(1, "Ana ✨")])  # a name change: the others stay
    assert directory.member_names(A, [1, 2]) == {1: "Ana ✨", 2: "bo"}
    clock.advance(60)
    directory.record_members(A, [Member(1, "Ana ✨")], complete=True)  # bo left
    assert directory.member_names(A, [1, 2]) == {1: "Ana ✨"}
    assert directory.member_names(B, [1, 2]) == {1: "ana in B"}
    assert directory.member_names(A, []) == {}
    directory.forget_member(A, 1)
    assert directory.member_names(A, [1]) == {}


def test_a_login_names_a_server_but_keeps_what_the_bot_said(engine):
    directory = DirectoryService(engine, Clock(datetime(2030, 1, 1, tzinfo=UTC)))
    directory.name_servers([Server(B, "Known from a login", None)])
    assert directory.server(B) == Server(B, "Known from a login", None, None)
    directory.record_server(snapshot(A))
    directory.name_servers([Server(A, "Renamed", "newicon")])
    assert directory.server(A) == Server(A, "Renamed", "newicon", True)
    directory.forget_server(A)
    assert directory.server(A) is None
    assert directory.server(B) is not None


def test_server_names_prefer_what_discord_told_then_the_stored_name(engine):
    from core.features.guilds.repository import ensure_guild

    at = datetime(2030, 1, 1, tzinfo=UTC)
    directory = DirectoryService(engine, Clock(at))
    told, stored, nameless, blank, unknown = 301, 302, 303, 304, 305
    with engine.begin() as conn:
        ensure_guild(conn, told, at, "Stored name")
        ensure_guild(conn, stored, at, "Only stored")
        ensure_guild(conn, nameless, at)
        ensure_guild(conn, blank, at, "Stored, told blank")
    directory.name_servers([Server(told, "Told name"), Server(blank, "")])

    assert directory.server_names([told, stored, nameless, blank, unknown]) == {
        told: "Told name", stored: "Only stored", blank: "Stored, told blank"
    }  # fmt: skip
    assert directory.server_names([]) == {}
