"""Prometheus metrics for the whole server, served at /metrics.

Counters and histograms count what happens in each process. When `landline serve
--api-only` and `landline worker` run side by side, each writes its own files under
PROMETHEUS_MULTIPROC_DIR (set by those commands to `<data_dir>/metrics` unless the
operator set it), and /metrics adds them up. Queue depths and ages are not counted but
read from the store when scraped (`StoreCollector`), so they are right whichever
process is asked.

Counting must cost a request next to nothing: each label set's child is made once and
kept.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector as Collector

from landline.metric_files import MULTIPROC_ENV

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

API_REQUESTS = Counter(
    "landline_api_requests",
    "API requests, by endpoint and result (ok, or the envelope's error code, or the HTTP "
    "status of an answer without one)",
    ["endpoint", "result"],
)
API_LATENCY = Histogram(
    "landline_api_request_seconds",
    "Time to answer an API request, by endpoint",
    ["endpoint"],
    buckets=_LATENCY_BUCKETS,
)
MESSAGES = Counter(
    "landline_messages",
    "Messages by what happened to them: accepted (outbound, created), received "
    "(inbound), or final_<statusCode> (an outbound message reached that final status)",
    ["event"],
)
DELIVERIES = Counter(
    "landline_webhook_deliveries",
    "Webhook deliveries by outcome: delivered, failed (an attempt failed; it will be "
    "tried again) or given_up",
    ["outcome"],
)
ATTEMPTS = Counter(
    "landline_webhook_attempts",
    "Webhook attempts by result: ok, or the failure's kind (http, timeout, connect, dns, "
    "tls, redirect, protocol, refused)",
    ["result"],
)
ATTEMPT_LATENCY = Histogram(
    "landline_webhook_attempt_seconds",
    "Time from connecting to the last byte of the answer, per webhook attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5),
)

_message_children: dict[str, Any] = {}
_BOUNDS = (*_LATENCY_BUCKETS, float("inf"))


class RequestCounts:
    """API requests counted in plain numbers on the event loop's thread, and handed to
    Prometheus once a second (`flush`): counting a request then costs a dictionary
    update instead of a handful of locked writes, which /noop would feel."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        # Per endpoint: a count per bucket (not cumulative), and the sum of seconds.
        self._latency: dict[str, tuple[list[int], list[float]]] = {}

    def add(self, endpoint: str, result: str, seconds: float) -> None:
        key = (endpoint, result)
        self._counts[key] = self._counts.get(key, 0) + 1
        found = self._latency.get(endpoint)
        if found is None:
            found = self._latency[endpoint] = ([0] * len(_BOUNDS), [0.0])
        found[0][bisect_left(_BOUNDS, seconds)] += 1
        found[1][0] += seconds

    def flush(self) -> None:
        counts, self._counts = self._counts, {}
        latency, self._latency = self._latency, {}
        for (endpoint, result), count in counts.items():
            API_REQUESTS.labels(endpoint, result).inc(count)
        for endpoint, (buckets, total) in latency.items():
            child = API_LATENCY.labels(endpoint)
            # What Histogram.observe does one value at a time (prometheus-client keeps
            # a non-cumulative count per bucket and the sum).
            for index, count in enumerate(buckets):
                if count:
                    child._buckets[index].inc(count)
            child._sum.inc(total[0])


def messages_counted(counts: dict[str, int]) -> None:
    for event, count in counts.items():
        child = _message_children.get(event)
        if child is None:
            child = _message_children[event] = MESSAGES.labels(event)
        child.inc(count)


def attempt_ended(result: str, seconds: float) -> None:
    ATTEMPTS.labels(result).inc()
    ATTEMPT_LATENCY.observe(seconds)


def deliveries_ended(*, delivered: int, failed: int, given_up: int) -> None:
    for outcome, count in (("delivered", delivered), ("failed", failed), ("given_up", given_up)):
        if count:
            DELIVERIES.labels(outcome).inc(count)


# -- what /metrics shows


def registry(store_collector: Collector | None) -> CollectorRegistry:
    """What /metrics shows: every process's counts (or this one's), and the store's."""
    found = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(found)
    else:
        for metric in (API_REQUESTS, API_LATENCY, MESSAGES, DELIVERIES, ATTEMPTS, ATTEMPT_LATENCY):
            found.register(metric)
    if store_collector is not None:
        found.register(store_collector)
    return found


def render(found: CollectorRegistry) -> bytes:
    return generate_latest(found)


# -- read from the store when scraped


class StoreCollector(Collector):
    """Queue depths and ages, read from the store when scraped.

    One read at a time: scrapes that arrive while one is reading wait for it and share
    its result, so however many scrapes come, the store answers one query set at once.
    """

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read
        self._reading = threading.Lock()
        self._last: tuple[int, dict[str, Any]] = (0, {})
        self._reads = 0

    def _snapshot(self) -> dict[str, Any]:
        asked_after = self._reads
        with self._reading:
            done, found = self._last
            if done > asked_after:
                return found  # read while this scrape waited
            found = self._read()
            self._reads += 1
            self._last = (self._reads, found)
            return found

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = self._snapshot()
        outbox = GaugeMetricFamily(
            "landline_outbox_due", "Outbound texts due to be handed to a carrier"
        )
        outbox.add_metric([], found["outbox_due"])
        yield outbox
        oldest = GaugeMetricFamily(
            "landline_outbox_oldest_due_seconds",
            "How long the oldest outbound text due has waited (0 when none)",
        )
        oldest.add_metric([], found["outbox_oldest_s"])
        yield oldest
        depth = GaugeMetricFamily(
            "landline_webhook_queue_depth",
            "Webhook deliveries still to be made, per host",
            labels=["host"],
        )
        age = GaugeMetricFamily(
            "landline_webhook_queue_oldest_seconds",
            "Age of the oldest event still to be delivered, per host",
            labels=["host"],
        )
        for host, count, oldest_s in found["hosts"]:
            depth.add_metric([host], count)
            age.add_metric([host], oldest_s)
        yield depth
        yield age
        down = GaugeMetricFamily("landline_webhook_hosts_down", "Webhook hosts that are down")
        down.add_metric([], found["hosts_down"])
        yield down
