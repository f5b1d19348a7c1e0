"""Points: the per-guild economy that games (the heist) spend and pay out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.points.service import PointsService

if TYPE_CHECKING:
    from core.runtime import Runtime


def install(rt: Runtime) -> None:
    rt.points = PointsService(rt.engine, rt.clock)
