"""Request counts and latency of the API, written in the Prometheus text exposition
format (version 0.0.4) by hand: prometheus_client is not a dependency.

Route labels are route templates (``/forecast/{ticker}``), never raw paths, and
``unmatched`` for a path no route has: a hostile client cannot grow the label set.
"""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escape(str(v))}"' for k, v in labels.items()) + "}"


class RequestMetrics:
    """Thread-safe counters by (route, method, status) and a latency histogram by route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self._counts[(route, method, status)] += 1
            buckets = self._buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            slot = next((i for i, edge in enumerate(BUCKETS) if seconds <= edge), len(BUCKETS))
            buckets[slot] += 1
            self._sums[route] += seconds

    def render(self) -> list[str]:
        """The request families as exposition lines."""
        with self._lock:
            counts, sums = dict(self._counts), dict(self._sums)
            buckets = {route: list(b) for route, b in self._buckets.items()}
        lines = [
            "# HELP workbench_api_requests_total API requests by route template and status.",
            "# TYPE workbench_api_requests_total counter",
        ]
        for (route, method, status), count in sorted(counts.items()):
            labels = _labels(route=route, method=method, status=str(status))
            lines.append(f"workbench_api_requests_total{labels} {count}")
        lines += [
            "# HELP workbench_api_request_duration_seconds API request latency by route.",
            "# TYPE workbench_api_request_duration_seconds histogram",
        ]
        name = "workbench_api_request_duration_seconds"
        for route, counts_per_bucket in sorted(buckets.items()):
            running = 0
            for edge, count in zip((*BUCKETS, "+Inf"), counts_per_bucket, strict=True):
                running += count
                lines.append(f"{name}_bucket{_labels(route=route, le=str(edge))} {running}")
            lines.append(f"{name}_sum{_labels(route=route)} {sums[route]:.6f}")
            lines.append(f"{name}_count{_labels(route=route)} {running}")
        return lines


def gauge(name: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> list[str]:
    """One gauge family: its HELP and TYPE lines and one line per (labels, value)."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{_labels(**labels) if labels else ''} {value:g}" for labels, value in samples]
    return lines
