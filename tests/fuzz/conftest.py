"""The fuzz suite: hypothesis over every way hostile input gets in.

Two hypothesis profiles: ``ci`` (the default: a modest number of examples per target, part of
``make test``) and ``fuzz`` (``FUZZ_PROFILE=fuzz``, what ``make fuzz`` runs: at least 100,000
examples per target). ``FUZZ_EXAMPLES`` overrides either count. Every target records each
example's outcome with :func:`record`; the counts are printed at the end of the run, e.g.
``webhook-signed[sqlite]: 100000 examples: 61234 queued, 20000 refused 400, ... 0 errors``.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, settings

_HEALTH = [
    HealthCheck.function_scoped_fixture,  # one runtime per test, shared by its examples on purpose
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
]
_COUNTS = {"ci": 50, "fuzz": 100_000}
PROFILE = os.environ.get("FUZZ_PROFILE", "ci")
if PROFILE not in _COUNTS:
    raise pytest.UsageError(f"FUZZ_PROFILE must be one of {sorted(_COUNTS)}, not {PROFILE!r}")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", _COUNTS[PROFILE]))
for _name in _COUNTS:
    settings.register_profile(
        _name,
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=_HEALTH,
        database=None,  # no example database in the tree; failures print their reproduction
        print_blob=True,
    )
settings.load_profile(PROFILE)

_outcomes: dict[str, Counter[str]] = defaultdict(Counter)
_started: dict[str, float] = {}
_PROGRESS_EVERY = max(EXAMPLES // 10, 1000)


def record(target: str, outcome: str) -> None:
    """Count one example of ``target`` (e.g. ``webhook-signed[sqlite]``) as ``outcome``."""
    counts = _outcomes[target]
    counts[outcome] += 1
    total = counts.total()
    _started.setdefault(target, time.monotonic())
    if PROFILE == "fuzz" and total % _PROGRESS_EVERY == 0:
        elapsed = time.monotonic() - _started[target]
        print(f"  {target}: {total} examples ({elapsed:.0f} s)", file=sys.__stderr__, flush=True)


def summary() -> list[str]:
    lines = []
    for target, counts in sorted(_outcomes.items()):
        errors = counts.get("error", 0)
        parts = ", ".join(
            f"{n} {outcome}" for outcome, n in counts.most_common() if outcome != "error"
        )
        lines.append(f"{target}: {counts.total()} examples: {parts}, {errors} errors")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary()
    if lines:
        terminalreporter.section(f"fuzz outcomes (profile {PROFILE}, {EXAMPLES} per target)")
        for line in lines:
            terminalreporter.write_line(line)
