"""Prometheus metrics with Flipt's names (flipt-compatibility §8). One CollectorRegistry per server, so several servers
in one process (tests) never collide. prometheus-client appends `_total` to counters."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Container, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from evaluator.server.metrics_labels import UNKNOWN, flag_label, prune, served_labels
from evaluator.server.metrics_shared import SharedMetrics

_go_float: Callable[[float], str] = floatToGoString  # untyped in prometheus_client

MS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
EVAL_LABELS = ("flipt_environment", "flipt_namespace", "flipt_flag")
FAILED_LABELS = (*EVAL_LABELS, "flipt_reason")
NOT_FOUND_REASON, ERROR_REASON = "NOT_FOUND_ERROR_EVALUATION_REASON", "UNKNOWN_ERROR_EVALUATION_REASON"  # Flipt's
RESULT_LABELS = (*EVAL_LABELS, "flipt_flag_type", "flipt_match", "flipt_reason", "flipt_segments", "flipt_value")
NS_LABELS = ("flipt_environment", "flipt_namespace")


class HotCounter:
    """A labelled counter kept as a plain dict (one `dict.get` + store per increment, no lock: the event loop is
    single-threaded) and exported at scrape time. The hot paths count with it."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...], registry: CollectorRegistry):
        self.name, self.documentation, self.label_names = name, documentation, labels
        self.counts: dict[tuple[str, ...], int] = {}
        registry.register(self)

    def inc(self, key: tuple[str, ...]) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self.name, self.documentation, labels=self.label_names)]

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.label_names)
        for key, count in list(self.counts.items()):
            family.add_metric(key, count)
        yield family


class RequestCounter:
    """`flipt_evaluations_requests`: not counted on the hot path at all, but summed at scrape time from the result
    counts (whose first labels are environment, namespace and flag) plus the failed evaluations."""

    def __init__(self, name: str, documentation: str, results: HotCounter, failed: HotCounter,
                 registry: CollectorRegistry):
        self.name, self.documentation = name, documentation
        self.results, self.failed = results, failed
        registry.register(self)

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self.name, self.documentation, labels=EVAL_LABELS)]

    def collect(self) -> Iterator[Metric]:
        totals: dict[tuple[str, ...], int] = {}
        for counts in (self.results.counts, self.failed.counts):
            for key, count in list(counts.items()):
                short = key[:3]
                totals[short] = totals.get(short, 0) + count
        family = CounterMetricFamily(self.name, self.documentation, labels=EVAL_LABELS)
        for key, count in totals.items():
            family.add_metric(key, count)
        yield family


class HotHistogram:
    """A histogram kept as plain bucket counts (bisect + two adds per observation), exported at scrape time."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...], registry: CollectorRegistry):
        self.name, self.documentation, self.bounds = name, documentation, buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        registry.register(self)

    def observe(self, value: float, times: int = 1) -> None:
        self.counts[bisect_left(self.bounds, value)] += times
        self.sum += value * times

    def describe(self) -> list[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation)]

    def collect(self) -> Iterator[Metric]:
        cumulative, total = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            cumulative.append((_go_float(bound), total))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=cumulative, sum_value=self.sum)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, shared: SharedMetrics | None = None) -> None:
        self.shared = shared  # set when several workers serve one port: a scrape counts them all
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.results = HotCounter("flipt_evaluations_results", "Evaluation results", RESULT_LABELS, r)
        # failed evaluations by (environment, namespace, flag, Flipt's error reason); also in the requests below
        self.failed = HotCounter("flagdeck_evaluations_failed", "Failed evaluations by flag and error reason",
                                 FAILED_LABELS, r)
        self.requests = RequestCounter("flipt_evaluations_requests", "Evaluation requests", self.results,
                                       self.failed, r)
        self.errors = Counter("flipt_evaluations_errors", "Evaluation errors", registry=r)
        self.latency = HotHistogram("flipt_evaluations_latency_milliseconds", "Evaluation latency (ms)",
                                    MS_BUCKETS, r)
        self.snapshot_requests = HotCounter("flipt_evaluations_snapshot_requests", "Client snapshot requests",
                                            NS_LABELS, r)
        self.snapshot_errors = Counter("flipt_evaluations_snapshot_errors", "Client snapshot errors", registry=r)
        self.snapshot_latency = Histogram("flipt_evaluations_snapshot_latency_milliseconds",
                                          "Client snapshot latency (ms)", buckets=MS_BUCKETS, registry=r)
        self.stream_requests = HotCounter("flipt_evaluations_stream_requests", "Snapshot stream requests",
                                          NS_LABELS, r)
        self.stream_errors = Counter("flipt_evaluations_stream_errors", "Snapshot stream errors", registry=r)
        self.stream_messages = HotCounter("flipt_evaluations_stream_messages", "Snapshot stream messages sent",
                                          NS_LABELS, r)
        self.stream_latency = Histogram("flipt_evaluations_stream_latency_milliseconds",
                                        "Commit-to-stream latency (ms)", buckets=MS_BUCKETS, registry=r)
        self.streams_in_progress = Gauge("flipt_evaluations_streams_in_progress", "Open snapshot streams",
                                         registry=r)
        self.hot_lane = HotCounter("flagdeck_hot_lane_answers", "Requests answered by the hot lane", (), r)
        self.server_errors = Counter("flipt_server_errors", "Server errors", registry=r)
        self.git_views = Counter("flipt_git_views", "Snapshots read from Git", registry=r)
        self.git_view_errors = Counter("flipt_git_view_errors", "Failed snapshot reads", registry=r)
        self.git_view_latency = Histogram("flipt_git_view_latency_milliseconds", "Snapshot read latency (ms)",
                                          buckets=MS_BUCKETS, registry=r)
        self.git_updates = Counter("flipt_git_updates", "Environment reloads", ("flipt_environment",), registry=r)
        self.git_update_errors = Counter("flipt_git_update_errors", "Failed environment reloads",
                                         ("flipt_environment",), registry=r)
        self.git_update_latency = Histogram("flipt_git_update_latency_milliseconds", "Reload latency (ms)",
                                            buckets=MS_BUCKETS, registry=r)
        self.git_poll_errors = Counter("flipt_git_poll_errors", "Git poll errors", registry=r)
        self.git_branches = Gauge("flipt_git_branches", "Branches followed", registry=r)
        self.namespace_invalid = Gauge("flagdeck_namespace_invalid",
                                       "1 while the newest version of a namespace is invalid (last good one served)",
                                       NS_LABELS, registry=r)
        self._invalid_labels: set[tuple[str, str]] = set()  # the namespace_invalid series set so far
        self.analytics: Any = None  # evaluator.analytics.counting.AnalyticsCounter, which reads `results`

    def evaluated(self, env: str, ns: str, flag: str, result: Any, millis: float) -> None:
        """Count one engine result (a VariantResult or BooleanResult) with Flipt's result labels."""
        self.results.inc(result_labels(env, ns, flag, result))
        self.latency.observe(millis)

    def evaluated_batch(self, counts: dict[tuple[str, ...], int], evaluations: int, millis: float) -> None:
        """Count a batch at once: `counts` by `result_labels`, and `evaluations` latencies of `millis` each."""
        results = self.results.counts
        for labels, count in counts.items():
            results[labels] = results.get(labels, 0) + count
        self.latency.observe(millis, evaluations)

    def evaluation_failed(self, env: str, ns: str, flag: str, known: Container[str]) -> None:
        """Count a failed evaluation of `flag` in served namespace `ns`, whose flag keys are `known`: a key it does
        not have is counted as UNKNOWN (metrics_labels), so no request can add a series; by Flipt's error reason
        (not found for a key it does not have, else unknown: a wrong type)."""
        label = flag_label(flag, known)
        self.failed.inc((env, ns, label, NOT_FOUND_REASON if label == UNKNOWN else ERROR_REASON))
        self.errors.inc()

    def git_updated(self, env: str, state: Any, seconds: float) -> None:
        """An environment's new state is served: count the reload, and forget the series of whatever it no longer
        serves (metrics_labels)."""
        self.git_updates.labels(env).inc()
        self.git_update_latency.observe(seconds * 1000)
        invalid = {ns: 1 if ns in state.errors else 0 for ns in state.namespaces}
        invalid.update({ns: 1 for ns in state.errors if ns})
        for gone in [key for key in self._invalid_labels if key[0] == env and key[1] not in invalid]:
            self.namespace_invalid.remove(*gone)
            self._invalid_labels.discard(gone)
        for ns, value in invalid.items():
            self.namespace_invalid.labels(env, ns).set(value)
            self._invalid_labels.add((env, ns))
        served = state.namespaces
        if any(k[0] == env for counts in (self.results.counts, self.failed.counts) for k in counts):
            if self.analytics is not None:
                self.analytics.collect_now()  # the counts of the series about to be dropped
            labels = served_labels(served)  # reads every flag: only when there are series to judge
            prune(self.results.counts, env, lambda k: k[1] in labels and labels[k[1]].keeps_result(k))
            prune(self.failed.counts, env,
                  lambda k: k[1] in labels and (k[2] == UNKNOWN or k[2] in labels[k[1]].flags))
            if self.analytics is not None:
                self.analytics.forget_pruned()
        for counter in (self.snapshot_requests, self.stream_requests, self.stream_messages):
            prune(counter.counts, env, lambda k: k[1] in served)

    def git_update_error(self, env: str) -> None:
        self.git_update_errors.labels(env).inc()
        self.git_poll_errors.inc()

    def render(self) -> bytes:
        if self.shared is not None:
            return self.shared.render(self.registry)
        return generate_latest(self.registry)


def result_labels(env: str, ns: str, flag: str, result: Any) -> tuple[str, ...]:
    """Flipt's result labels of one engine result (a VariantResult or BooleanResult)."""
    keys = result.segment_keys
    segments = (keys[0] if len(keys) == 1 else ",".join(sorted(keys))) if keys else ""
    enabled = getattr(result, "enabled", None)
    if enabled is None:
        return (env, ns, flag, "variant", "true" if result.match else "false", result.reason, segments,
                result.variant_key)
    return (env, ns, flag, "boolean", "true", result.reason, segments, "true" if enabled else "false")
