"""The runtime forgets what moved a goal bar once it is a month old: its scheduled job, run as
the scheduler runs it, on the embedded default's database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from core.config import load_settings
from core.events import Followed, Platform, Viewer
from core.features.overlays.goal import MOVES_KEPT
from core.features.overlays.tables import overlay_goal_moves
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.features.chat_commands.doubles import T0
from tests.support.clock import Clock
from tests.support.waiting import PROCESS_HANG_SECONDS, eventually

GUILD = 111
JOB = "forgetting old goal moves"


def _follow(n: int, clock: Clock) -> Followed:
    return Followed(platform=Platform.TWITCH, broadcaster_user_id="1", event_id=f"f{n}",
                    occurred_at=clock(), viewer=Viewer(str(n), f"v{n}"))  # fmt: skip


def _moves(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(overlay_goal_moves)).scalar_one()
        )


async def test_the_scheduled_job_forgets_goal_moves_older_than_a_month(tmp_path: Path) -> None:
    clock = Clock(T0)
    settings = load_settings(
        {"DATA_DIR": str(tmp_path / "data"), "PORT": "0", "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY},
        env_file=None,
    )
    runtime = Runtime(settings, clock=clock)
    runtime.migrate()
    try:
        goal = runtime.overlays.goal
        goal.save(GUILD, {"measure": "follows", "target": "10", "title": ""})
        clock.advance(1)
        goal.handle(GUILD, _follow(1, clock))
        clock.advance(MOVES_KEPT - timedelta(days=1))
        goal.handle(GUILD, _follow(2, clock))
        clock.advance(timedelta(days=2))
        assert _moves(runtime) == 2

        stop = asyncio.Event()
        job = asyncio.create_task(runtime.scheduler.loops[JOB](stop))
        await eventually(lambda: _moves(runtime) == 1, within=PROCESS_HANG_SECONDS)
        stop.set()
        await job
        assert goal.view(GUILD)["goal"]["progress"] == 2
    finally:
        runtime.close()
