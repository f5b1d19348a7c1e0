"""Health checks shared by ``/health``, ``python -m core health`` and ``!health``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "failing",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }

    def lines(self) -> list[str]:
        return [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]


def run_check(name: str, probe: Callable[[], str]) -> Check:
    """Run ``probe``; its return value is the detail, and any exception a failure."""
    try:
        return Check(name, True, probe())
    except Exception as exc:
        return Check(name, False, str(exc) or type(exc).__name__)
