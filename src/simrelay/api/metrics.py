"""Prometheus metrics: requests by endpoint and status, latency, SMS by status, connected devices."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

REQUESTS = Counter(
    "simrelay_http_requests_total",
    "HTTP requests by endpoint, method and status",
    ["endpoint", "method", "status"],
)
REFUSED = Counter(
    "simrelay_http_refused_total",
    "Connections and requests answered before the application: malformed, head too large, too slow, "
    "too many connections from one address",
    ["reason"],
)
LATENCY = Histogram(
    "simrelay_http_request_duration_seconds",
    "HTTP request latency by endpoint",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


@dataclass(frozen=True, slots=True)
class WorkerCounters:
    """What this worker counted since it started."""

    batches: int
    items: int
    devices: int
    webhook_attempts: int
    webhooks_delivered: int


class SnapshotCollector(Collector):
    """Values read at scrape time: SMS per status from the database (right with any number of
    workers) and this worker's own counters."""

    def __init__(self, counts: dict[int, int], worker: WorkerCounters) -> None:
        self._counts = counts
        self._worker = worker

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("simrelay_sms", "Stored SMS by status", labels=["status"])
        for status in range(6):
            family.add_metric([str(status)], self._counts.get(status, 0))
        yield family
        worker = self._worker
        yield CounterMetricFamily(
            "simrelay_intake_batches", "Send transactions committed by this worker", value=worker.batches
        )
        yield CounterMetricFamily(
            "simrelay_intake_messages", "SMS stored by those transactions", value=worker.items
        )
        yield GaugeMetricFamily(
            "simrelay_devices_connected", "Devices connected to this worker", value=worker.devices
        )
        yield CounterMetricFamily(
            "simrelay_webhook_attempts", "Webhook POSTs made by this worker", value=worker.webhook_attempts
        )
        yield CounterMetricFamily(
            "simrelay_webhook_delivered", "Of those, answered with a 2xx", value=worker.webhooks_delivered
        )


def render(status_counts: dict[int, int], worker: WorkerCounters) -> bytes:
    """The exposition text; merges every worker's counters when running multi-process."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(SnapshotCollector(status_counts, worker))
    return text + generate_latest(extra)
