"""A person's data: the forgets that kept rows for now are finished by the hour
(core/features/privacy/finishing.py), in one bot process at a time."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.features.privacy.finishing import FINISH_EVERY_SECONDS, finish_forgets

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    rt.scheduler.every(
        "finishing forgets",
        lambda: FINISH_EVERY_SECONDS,
        lambda: asyncio.to_thread(finish_forgets, rt.engine, rt.clock),
    )
