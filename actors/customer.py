"""Customers as virtual actors: each keeps today's transactions that history counters track.

Rules see the totals as `history.<counter>` facts. The window is kept here, not in
durable_rules: one durable_rules session per customer would hit its 1024-session limit.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from foureyes.service.store import CustomerStore


def start_of_day(now: float) -> float:
    day = dt.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


@dataclass
class Observation:
    customer_id: str
    key: str  # the request's idempotency key: a retry is not counted twice
    counters: dict[str, float]


@dataclass
class CustomerActor:
    customer_id: str
    day: float
    entries: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict)

    def add(self, key: str, at: float, counters: dict[str, float]) -> bool:
        if at < self.day:
            return False
        if at >= self.day + 86400:  # a new day: yesterday's transactions no longer count
            self.day, self.entries = start_of_day(at), {}
        if key in self.entries:
            return False
        self.entries[key] = (at, counters)
        return True

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for _, counters in self.entries.values():
            for name, value in counters.items():
                out[name] = out.get(name, 0.0) + value
        return out


class CustomerShard:
    def __init__(self, store: CustomerStore) -> None:
        self.store = store
        self.customers: dict[str, CustomerActor] = {}

    async def observe(self, batch: list[Observation]) -> list[dict[str, float]]:
        """Record each transaction in its customer's window; answer the window's totals,
        this transaction included, once recorded."""
        now = time.time()
        today = start_of_day(now)
        missing = list({o.customer_id for o in batch} - self.customers.keys())
        if missing:
            rows = await self.store.since(missing, today)
            for cid in missing:
                self.customers.setdefault(cid, CustomerActor(cid, today))
            for cid, key, at, counters in rows:
                self.customers[cid].add(key, at, counters)
        new = []
        results = []
        for o in batch:  # no await in here: the batch is one turn
            actor = self.customers[o.customer_id]
            if actor.day < today:
                actor.day, actor.entries = today, {}
            if actor.add(o.key, now, o.counters):
                new.append((o.customer_id, o.key, now, o.counters))
            results.append(actor.totals())
        if new:
            await self.store.record(new)
        return results

    def stats(self) -> dict[str, int]:
        return {"customers": len(self.customers)}
