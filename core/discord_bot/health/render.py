"""What ``!health`` says: the overall status, then one marked line per check."""

from __future__ import annotations

from core.discord_bot.render import GREEN, MESSAGE_LIMIT, RED, inert, truncate
from core.health import HealthReport


def health_report(report: HealthReport) -> str:
    """Overall status first, then one line per check with a green or red mark."""
    failing = sum(1 for check in report.checks if not check.ok)
    if failing:
        header = f"{RED} **Failing**: {failing} of {len(report.checks)} checks fail"
    else:
        header = f"{GREEN} **Healthy**: all {len(report.checks)} checks pass"
    lines = [
        f"{GREEN if check.ok else RED} {inert(line)}"
        for check, line in zip(report.checks, report.lines(), strict=True)
    ]
    return truncate("\n".join([header, *lines]), MESSAGE_LIMIT)
