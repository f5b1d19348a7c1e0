"""What the bot's cogs work with: the feature services (declared once, in
:class:`core.services.FeatureServices`), the process's health and the clock.

A feature whose service is missing (None) has no cogs; tests build the bot with just the services
they need. The running process fills it from the runtime (``core/wiring/front_ends.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.events import system_clock
from core.health import HealthReport
from core.services import FeatureServices


def _no_report() -> HealthReport:
    return HealthReport()


@dataclass(kw_only=True)
class BotServices(FeatureServices):
    health: Callable[[], HealthReport] = _no_report  # the process's checks, for !health
    clock: Callable[[], datetime] = system_clock  # cooldowns run on it
