"""StreamKeeper's Prometheus metrics, on prometheus-client.

Each :class:`Metrics` has a registry of its own, so several runtimes in one process (the tests)
never collide. In one process (``python -m core run`` or ``web``) ``/metrics`` serves that
registry, with the process's CPU, memory and file descriptors. Under gunicorn every worker is a
process of its own: with ``PROMETHEUS_MULTIPROC_DIR`` set (``gunicorn.conf.py`` sets it) each
worker writes its numbers to files there and ``/metrics`` sums the files of every worker, dead
ones included, so a counter never jumps back when the scrape lands on another worker or a worker
restarts. Process metrics are per process and cannot be summed, so that mode leaves them out.

prometheus-client reads ``PROMETHEUS_MULTIPROC_DIR`` once, when it is first imported: it is the
library's variable, set in the process environment before start, not a StreamKeeper setting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Metric,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.config import SettingsError

log = logging.getLogger(__name__)

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_PLAIN_0_0_4

# A ``<name>_created`` series per label set doubles the output, and nothing here reads them.
prometheus_client.disable_created_metrics()

# Webhook handling is a signature check and one queue write: milliseconds, seconds when the
# database or Redis struggles.
WEBHOOK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A guild's tick is two statements: milliseconds for a small crowd, under a second for 100,000.
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Children:
    """A metric's child per label set, found by a dict lookup: the library's ``labels()``
    validates its arguments on every call, which is most of a webhook's metrics cost."""

    def __init__(self, metric: Any, label_names: Sequence[str]) -> None:
        self._metric = metric
        self._is_labelled = bool(label_names)
        self._children: dict[tuple[tuple[str, str], ...], Any] = {}

    def get(self, labels: dict[str, str]) -> Any:
        if not self._is_labelled and not labels:
            return self._metric
        key = tuple(labels.items())
        child = self._children.get(key)
        if child is None:  # two threads may both get here: labels() returns the same child
            child = self._children[key] = self._metric.labels(**labels)
        return child


class Counter:
    """A counter whose label values are passed by name: ``inc(platform="kick", reason=...)``.

    An unknown or missing label name raises ``ValueError``, so a typo never opens a new series.
    """

    def __init__(
        self, name: str, help_text: str, labels: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self._counter = prometheus_client.Counter(name, help_text, labels, registry=registry)
        self._children = _Children(self._counter, labels)

    def inc(self, amount: float = 1, **labels: str) -> None:
        self._children.get(labels).inc(amount)

    def value(self, **labels: str) -> float:
        """This process's count for one label set (0 when it never moved)."""
        wanted = {name: str(value) for name, value in labels.items()}
        return sum(value for sample_labels, value in self._samples() if sample_labels == wanted)

    def total(self) -> float:
        """This process's count over every label set."""
        return sum(value for _labels, value in self._samples())

    def counts(self) -> list[tuple[dict[str, str], float]]:
        """This process's count per label set (the dashboard's event log shows them)."""
        return self._samples()

    def _samples(self) -> list[tuple[dict[str, str], float]]:
        return [
            (sample.labels, sample.value)
            for family in self._counter.collect()
            for sample in family.samples
            if sample.name.endswith("_total")
        ]


class Histogram:
    """A histogram whose label values are passed by name: ``observe(0.2, platform="kick")``."""

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str],
        registry: CollectorRegistry,
        buckets: Sequence[float],
    ) -> None:
        self._histogram = prometheus_client.Histogram(
            name, help_text, labels, registry=registry, buckets=buckets
        )
        self._children = _Children(self._histogram, labels)

    def observe(self, seconds: float, **labels: str) -> None:
        self._children.get(labels).observe(seconds)


class GaugeAtScrape(Collector):
    """A gauge whose values are read when ``/metrics`` is scraped (a count in the database,
    the same from every process): ``read()`` gives a value per label value. A read that fails
    leaves the gauge out of that scrape, logged, rather than failing the scrape."""

    def __init__(
        self, name: str, help_text: str, label: str, read: Callable[[], Mapping[str, float]]
    ) -> None:
        self.name = name
        self.help_text = help_text
        self.label = label
        self.read = read

    def collect(self) -> Iterator[Metric]:
        try:
            found = self.read()
        except Exception:
            log.exception("could not read %s for /metrics", self.name)
            return
        family = GaugeMetricFamily(self.name, self.help_text, labels=[self.label])
        for label_value, value in sorted(found.items()):
            family.add_metric([label_value], value)
        yield family


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR``, checked against the mode prometheus-client chose at import.

    Raises :class:`SettingsError` when it is not a directory, or was set after the library was
    imported (the workers would then count in memory and ``/metrics`` would read empty files).
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
    if directory is not None and not os.path.isdir(directory):
        raise SettingsError([f"PROMETHEUS_MULTIPROC_DIR must be a folder, got {directory!r}"])
    # The library marks its value classes with ``_multiprocess``; without the mark, trust the env.
    library_mode = getattr(values.ValueClass, "_multiprocess", directory is not None)
    if library_mode != (directory is not None):
        raise SettingsError(
            ["PROMETHEUS_MULTIPROC_DIR must be set before the process starts, not while it runs"]
        )
    return directory


class Metrics:
    def __init__(self) -> None:
        directory = self.multiprocess_dir = multiprocess_dir()
        self.registry = CollectorRegistry()
        if directory is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        registry = self.registry
        self._gauges_at_scrape: list[GaugeAtScrape] = []
        self.webhooks_received = Counter(
            "streamkeeper_webhooks_received_total",
            "Webhooks answered 200, by platform and outcome (queued, duplicate, ignored).",
            ("platform", "outcome"),
            registry,
        )
        self.webhooks_rejected = Counter(
            "streamkeeper_webhooks_rejected_total",
            "Webhooks refused (4xx) or not queued (503), by platform and reason.",
            ("platform", "reason"),
            registry,
        )
        self.webhook_duration = Histogram(
            "streamkeeper_webhook_duration_seconds",
            "Time from a webhook's headers and body to its answer, by platform and outcome.",
            ("platform", "outcome"),
            registry,
            WEBHOOK_BUCKETS,
        )
        self.events_handled = Counter(
            "streamkeeper_events_handled_total",
            "Events handled by the consumer, by kind.",
            ("kind",),
            registry,
        )
        self.events_failed = Counter(
            "streamkeeper_events_failed_total",
            "Event handling failures, by kind.",
            ("kind",),
            registry,
        )
        self.events_dropped = Counter(
            "streamkeeper_events_left_server_total",
            "Events not acted on for a server the bot was removed from, by kind (one per server).",
            ("kind",),
            registry,
        )
        self.chat_failed = Counter(
            "streamkeeper_chat_failed_total",
            "Chat replies given up on, by platform and reason.",
            ("platform", "reason"),
            registry,
        )
        self.outbox_calls = Counter(
            "streamkeeper_outbox_calls_total",
            "Calls to outside services made by this process's workers, by service and outcome "
            "(done, refused, uncertain, failed: given up after the most tries; retry: put off).",
            ("service", "outcome"),
            registry,
        )
        self.tick_duration = Histogram(
            "streamkeeper_watchtime_tick_seconds",
            "Duration of one guild's watchtime tick.",
            (),
            registry,
            TICK_BUCKETS,
        )

    def gauge_at_scrape(
        self, name: str, help_text: str, label: str, read: Callable[[], Mapping[str, float]]
    ) -> None:
        """Add a :class:`GaugeAtScrape` (served in multiprocess mode too, read once, not
        summed)."""
        gauge = GaugeAtScrape(name, help_text, label, read)
        self.registry.register(gauge)
        self._gauges_at_scrape.append(gauge)

    def render(self) -> bytes:
        """The Prometheus text exposition (``CONTENT_TYPE``): this process's registry, or every
        worker's numbers summed in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed, path=self.multiprocess_dir)
        for gauge in self._gauges_at_scrape:
            summed.register(gauge)
        return generate_latest(summed)
