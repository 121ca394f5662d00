"""Request counts and latency of the API with prometheus_client, in a registry of the
application's own (two applications in one process never share a count).

Every label comes from a fixed set, so no client, with a key or without, can grow the
exposition: the route is the matched route's template (``/forecast/{ticker}``), else
``unmatched``; the method is one of HTTP's registered methods, else ``OTHER``; the status
is one the application itself answered with.

The registry lives in the serving process. ``python -m api`` serves one process (it
refuses ``--workers`` above 1), so this registry sees every request; several workers
would need prometheus_client's multiprocess mode instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import Scope

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# RFC 9110's methods and PATCH (RFC 5789); anything else is counted as OTHER
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
OTHER_METHOD = "OTHER"
UNMATCHED = "unmatched"


def method_label(method: str) -> str:
    """``method`` when it is a known HTTP method (case as sent must match), else ``OTHER``."""
    return method if method in METHODS else OTHER_METHOD


def route_label(scope: Scope) -> str:
    """The template of the route that matched the request, else ``unmatched``.

    Routing stores the matched route in the scope (also for a 405, where the path matched
    and the method did not); a request refused before routing (413) has none.
    """
    return getattr(scope.get("route"), "path", None) or UNMATCHED


class RequestMetrics:
    """``workbench_api_requests_total`` by (route, method, status) and the latency
    histogram ``workbench_api_request_duration_seconds`` by route, in ``registry``.

    Parameters
    ----------
    registry : CollectorRegistry, optional
        Where the families are registered; a new one by default (never the global one).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "workbench_api_requests",
            "API requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "workbench_api_request_duration_seconds",
            "API request latency by route template.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request; ``route`` and ``method`` must already be labels
        (``route_label``, ``method_label``)."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def add_collector(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Register ``collect``, called at every scrape, for values read at scrape time."""
        self.registry.register(_Scraped(collect))

    def exposition(self) -> bytes:
        """Every family of the registry in the text format of ``CONTENT_TYPE``."""
        return _generate_latest(self.registry)


class _Scraped(Collector):
    """A collector over a function that yields metric families."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        yield from self._collect()


def gauge(
    name: str, help_text: str, samples: list[tuple[dict[str, str], float]]
) -> GaugeMetricFamily:
    """One gauge family with one sample per (labels, value); every sample of a family
    carries the same label names."""
    names = sorted(samples[0][0]) if samples else []
    family = GaugeMetricFamily(name, help_text, labels=names)
    for labels, value in samples:
        family.add_metric([labels[n] for n in names], value)
    return family
