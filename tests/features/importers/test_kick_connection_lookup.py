"""The import asks Kick with the guild's own stored Kick connection (the streamer's token)."""

from __future__ import annotations

import asyncio

import pytest

from core.cli.importers import kick_lookup_for
from core.events import Platform
from core.features.importers.kwb_import import KickWatchtimeBotImport
from core.features.watchtime import standings_repository as standings
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.features.connections.test_chatroom_scope import ADMIN, connect
from tests.features.importers import kwb_rows
from tests.features.importers.kwb_rows import ALICE, SERVER_A, SERVER_B
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kick(clock):  # type: ignore[no-untyped-def]
    with FakeKick(clock=clock, username="streamer", user_id=1001) as fake:
        for user_id, name, slug in kwb_rows.ACCOUNTS:
            fake.add_user(user_id, name)
            fake.add_channel(slug, user_id)
        yield fake


@pytest.fixture
def runtime(tmp_path, kick, clock):  # type: ignore[no-untyped-def]
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", clock)
    yield runtime
    runtime.close()


def test_names_are_resolved_with_the_guilds_kick_connection(runtime, kick, source_url):
    kwb_rows.prepare_target(runtime.engine, runtime.clock())
    asyncio.run(runtime.kick_setup.setup(SERVER_A, ADMIN, "streamer"))
    connect(runtime, SERVER_A)  # the streamer signs in for A only
    importer = KickWatchtimeBotImport(
        runtime.engine, runtime.clock, lambda guild_id: kick_lookup_for(runtime, guild_id)
    )

    reports = {r.guild_id: r for r in asyncio.run(importer.run(source_url))}

    watch_a = reports[SERVER_A].counts["watchtime"]
    watch_b = reports[SERVER_B].counts["watchtime"]
    assert (watch_a.imported, watch_a.skipped) == (4, 3)  # asked Kick with A's token
    # B has no connection: only the names A's import taught us resolve there (bob), not dave.
    assert (watch_b.imported, watch_b.skipped) == (1, 1)
    assert any("no Kick connection in this guild" in n for n in reports[SERVER_B].notes)
    assert kick_lookup_for(runtime, SERVER_B) is None
    asked = [r for r in kick.requests if r.path.startswith("/public/v1/channels")]
    assert asked, "Kick was asked about the names"
    with runtime.engine.connect() as conn:
        alice = standings.get_viewer(conn, SERVER_A, Platform.KICK, str(ALICE[0]))
    assert alice is not None
    assert alice.seconds == 630 * 60
