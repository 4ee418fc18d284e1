"""Prometheus metrics of one service instance (its own registry, so tests can run several)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CASE_STATES = ("QUEUED", "OFFERED", "IN_REVIEW", "RETURNED")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("foureyes_requests", "Channel requests by channel and outcome",
                                ["channel", "outcome"], registry=self.registry)
        self.latency = Histogram(
            "foureyes_request_seconds", "Time to answer a channel request",
            ["channel", "outcome"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.open_cases = Gauge("foureyes_open_cases", "Open cases by state", ["state"],
                                registry=self.registry)
        self.queue_depth = Gauge("foureyes_queue_depth",
                                 "Cases waiting for a seat (not offered), by scene category",
                                 ["category"], registry=self.registry)
        self.oldest_wait = Gauge("foureyes_queue_oldest_wait_seconds",
                                 "How long the longest-waiting case has waited, by scene category",
                                 ["category"], registry=self.registry)
        self.seats = Gauge("foureyes_seats", "Connected seats by presence", ["presence"],
                           registry=self.registry)
        self.decisions = Counter("foureyes_seat_decisions", "Seat decisions by verdict",
                                 ["verdict"], registry=self.registry)
        self.failures = Counter("foureyes_rpc_failures",
                                "Calls that did not end OK, by method and gRPC status code",
                                ["method", "code"], registry=self.registry)
        # a gauge, not a counter: the counts live in the processes that drop (the hosts), and
        # a host restarting starts again from 0 as a counter's process would
        self.dropped = Gauge("foureyes_dropped_frames",
                             "Frames a socket dropped since its process started (undecodable, "
                             "unknown method, unauthenticated peer), by socket",
                             ["socket"], registry=self.registry)
        self.host_restarts = Counter("foureyes_host_restarts",
                                     "Actor hosts restarted (by Ray, or made again on their node)",
                                     ["shard"], registry=self.registry)
        self.shard_unavailable = Counter("foureyes_shard_unavailable",
                                         "Times a shard stopped being served", ["shard"],
                                         registry=self.registry)
        self.shard_serving = Gauge("foureyes_shard_serving", "1 while a shard is served",
                                   ["shard"], registry=self.registry)

        self._categories: set[str] = set()
        # (channel, outcome) → its counter and histogram: `labels` takes a lock and builds a
        # key on every call, and every request reports
        self._by_request: dict[tuple[str, str], tuple[Any, Any]] = {}

    def observe_request(self, channel: str, outcome: str, seconds: float) -> None:
        children = self._by_request.get((channel, outcome))
        if children is None:
            children = self._by_request[channel, outcome] = (
                self.requests.labels(channel, outcome), self.latency.labels(channel, outcome))
        children[0].inc()
        children[1].observe(seconds)

    def set_stats(self, case_stats: list[dict[str, int]], dispatch: dict[str, Any]) -> None:
        totals = dict.fromkeys(CASE_STATES, 0)
        for stats in case_stats:
            for state, n in stats.items():
                totals[state] = totals.get(state, 0) + n
        for state, n in totals.items():
            self.open_cases.labels(state).set(n)
        queues = dispatch.get("queues", {})
        for category in self._categories - queues.keys():  # drained since the last look
            self.queue_depth.labels(category).set(0)
            self.oldest_wait.labels(category).set(0)
        self._categories = set(queues)
        for category, q in queues.items():
            self.queue_depth.labels(category).set(q["depth"])
            self.oldest_wait.labels(category).set(q["oldest_wait_seconds"])
        for presence, n in dispatch.get("seats", {}).items():
            self.seats.labels(presence).set(n)

    def set_dropped(self, by_socket: dict[str, int]) -> None:
        for socket, n in by_socket.items():
            self.dropped.labels(socket).set(n)
