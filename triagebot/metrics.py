"""Prometheus metrics (prometheus_client), one registry per app so several apps can share a process."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _OutboxCollector(Collector):
    """Reads outbox depth and age at scrape time, so the numbers are never stale."""

    def __init__(self, probe: Callable[[], tuple[int, float]]) -> None:
        self.probe = probe

    def collect(self) -> Iterable[GaugeMetricFamily]:
        depth, age = self.probe()
        yield GaugeMetricFamily("triagebot_outbox_depth", "Outbox rows waiting for delivery", value=depth)
        yield GaugeMetricFamily(
            "triagebot_outbox_oldest_age_seconds", "Age of the oldest waiting row", value=age
        )


class Metrics:
    """The counters and histograms triagebot exports on `/metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "triagebot_webhooks", "Webhooks received by result", ["source", "result"], registry=self.registry
        )
        self.deliveries = Counter(
            "triagebot_outbox_deliveries",
            "Outbox delivery attempts by result",
            ["kind", "result"],
            registry=self.registry,
        )
        self.gate_seconds = Histogram(
            "triagebot_gate_duration_seconds",
            "Gate run durations by verdict",
            ["verdict"],
            buckets=(5, 15, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )

    def webhook(self, source: str, result: str) -> None:
        """Count one webhook."""
        self.webhooks.labels(source, result).inc()

    def delivery(self, kind: str, result: str) -> None:
        """Count one outbox delivery attempt."""
        self.deliveries.labels(kind, result).inc()

    def gate(self, verdict: str, seconds: float) -> None:
        """Record one finished gate run."""
        self.gate_seconds.labels(verdict).observe(seconds)

    def watch_outbox(self, probe: Callable[[], tuple[int, float]]) -> None:
        """Export outbox depth and oldest age, read by `probe` at scrape time."""
        self.registry.register(_OutboxCollector(probe))

    def render(self) -> bytes:
        """Return the exposition text."""
        return generate_latest(self.registry)
