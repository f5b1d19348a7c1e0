"""What ``!health`` says: the overall status, then one marked line per check: green when it
passes, yellow when it works but a person has something to do, red when it fails."""

from __future__ import annotations

from core.discord_bot.render import GREEN, RED, YELLOW, in_messages, inert
from core.health import Check, HealthReport


def health_messages(report: HealthReport) -> list[str]:
    """:func:`health_report` in messages Discord takes (2,000 characters each), cut between
    lines, so that no line is lost."""
    return in_messages(health_report(report))


def health_report(report: HealthReport) -> str:
    """Overall status first, then one line per check with its mark (in several messages when
    longer than one: :func:`health_messages`)."""
    total = len(report.checks)
    failing = len(report.failures)
    attention = sum(1 for check in report.checks if check.ok and check.degraded)
    if failing:
        header = f"{RED} **Failing**: {failing} of {total} checks fail"
    elif attention:
        header = (
            f"{YELLOW} **Needs attention**: all {total} checks pass, {attention} with something "
            "to do"
        )
    else:
        header = f"{GREEN} **Healthy**: all {total} checks pass"
    lines = [
        f"{_mark(check)} {inert(line)}"
        for check, line in zip(report.checks, report.lines(), strict=True)
    ]
    return "\n".join([header, *lines])


def _mark(check: Check) -> str:
    if not check.ok:
        return RED
    return YELLOW if check.degraded else GREEN
