"""Prometheus metrics of the service, in a registry of its own (one per app instance)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

# Latency buckets around the goal (p99 < 20 ms): fine below 50 ms, coarse above.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    """Request count, latency histogram, errors by kind and the model being served."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lstm_service_requests",
            "HTTP requests answered, by endpoint and status code.",
            ("endpoint", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "lstm_service_request_duration_seconds",
            "Time from request received to response ready, by endpoint.",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "lstm_service_errors",
            "Failed requests and background failures, by kind.",
            ("kind",),
            registry=self.registry,
        )
        self.forecasts = Counter(
            "lstm_service_forecasts", "Windows forecast.", registry=self.registry
        )
        self.out_of_range = Counter(
            "lstm_service_out_of_range_windows",
            "Windows with inputs more than serve.out_of_range_sd training standard deviations "
            "from the training data (answered, and flagged).",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "lstm_service_model_info",
            "1 for the model version answering requests.",
            ("name", "version"),
            registry=self.registry,
        )
        self.model_version = Gauge(
            "lstm_service_model_version",
            "Registry version number answering requests (0 for a local SavedModel).",
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "lstm_service_model_loaded_timestamp_seconds",
            "Unix time the current model was loaded.",
            registry=self.registry,
        )
        self.swaps = Counter(
            "lstm_service_model_swaps",
            "Times a new model version was swapped in.",
            registry=self.registry,
        )

    def set_model(
        self, name: str, version: str, loaded_at: float, old_version: str | None = None
    ) -> None:
        """Point the model gauges at ``version`` (and drop ``old_version``'s info series)."""
        if old_version is not None and old_version != version:
            self.model_info.remove(name, old_version)
        self.model_info.labels(name, version).set(1)
        self.model_version.set(int(version) if version.isdigit() else 0)
        self.model_loaded.set(loaded_at)

    def render(self) -> bytes:
        """The Prometheus text exposition format."""
        return generate_latest(self.registry)
