"""A small Prometheus registry: counters and summaries, rendered as the text exposition format.

Each process keeps its own numbers (with gunicorn, each worker reports its own share).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

LabelValues = tuple[tuple[str, str], ...]


def _labels(values: LabelValues) -> str:
    if not values:
        return ""
    escaped = (
        f'{name}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for name, value in values
    )
    return "{" + ",".join(escaped) + "}"


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help_text = help_text
        self._values: dict[LabelValues, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            items = sorted(self._values.items())
        for labels, value in items:
            yield f"{self.name}{_labels(labels)} {value:g}"


class Summary:
    """Count, sum and the last observed value (as ``<name>_last``) of a duration."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help_text = help_text
        self.count = 0
        self.total = 0.0
        self.last = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self.count += 1
            self.total += value
            self.last = value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} summary"
        yield f"{self.name}_count {self.count}"
        yield f"{self.name}_sum {self.total:.6f}"
        yield f"# TYPE {self.name}_last gauge"
        yield f"{self.name}_last {self.last:.6f}"


class Metrics:
    def __init__(self) -> None:
        self.webhooks_received = Counter(
            "streamkeeper_webhooks_received_total", "Webhooks received, by platform and outcome."
        )
        self.webhooks_rejected = Counter(
            "streamkeeper_webhooks_rejected_total", "Webhooks rejected, by platform and reason."
        )
        self.events_handled = Counter(
            "streamkeeper_events_handled_total", "Events handled by the consumer, by kind."
        )
        self.events_failed = Counter(
            "streamkeeper_events_failed_total", "Event handling failures, by kind."
        )
        self.chat_failed = Counter(
            "streamkeeper_chat_failed_total", "Chat replies given up on, by platform and reason."
        )
        self.tick_duration = Summary(
            "streamkeeper_watchtime_tick_seconds", "Duration of one watchtime tick."
        )

    def render(self) -> str:
        parts: list[str] = []
        for metric in (
            self.webhooks_received,
            self.webhooks_rejected,
            self.events_handled,
            self.events_failed,
            self.chat_failed,
            self.tick_duration,
        ):
            parts.extend(metric.render())
        return "\n".join(parts) + "\n"
