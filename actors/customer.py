"""Customers as virtual actors: each keeps a compact window of its recent transactions.

A transaction is kept only as what it adds to each history counter (a number per counter),
for as long as the longest window asks. Rules see the totals as `history.<counter>` facts.
The window is kept here, not in durable_rules: one durable_rules session per customer would
hit its 1024-session limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from foureyes.messaging import codec
from foureyes.rules.history import CustomerWindow, oldest_start, start_of_day, window_start
from foureyes.store.customers import CustomerStore

__all__ = ["CustomerShard", "Observation", "start_of_day", "window_start"]


@codec.register  # the gateway sends these to customer hosts in `observe` batches
@dataclass(frozen=True)
class Observation:
    customer_id: str
    key: str  # the request's idempotency key: a retry is not counted twice
    counters: dict[str, float]  # what this transaction adds; empty: only read the totals
    windows: dict[str, int]  # counter -> window seconds (0: today), as the rule set says


class CustomerShard:
    def __init__(self, store: CustomerStore) -> None:
        self.store = store
        self.customers: dict[str, CustomerWindow] = {}

    async def observe(self, batch: list[Observation], now: float | None = None
                      ) -> list[dict[str, float]]:
        """Record each transaction in its customer's window; answer the windows' totals,
        this transaction included, once recorded."""
        now = time.time() if now is None else now
        oldest = {o.customer_id: oldest_start(now, o.windows) for o in batch}
        stale = [cid for cid, since in oldest.items()
                 if cid not in self.customers or self.customers[cid].loaded_since > since]
        if stale:
            since = min(oldest[cid] for cid in stale)
            rows = await self.store.since(stale, since)
            for cid in stale:
                self.customers[cid] = CustomerWindow(cid, since)
            for cid, key, at, counters in rows:
                self.customers[cid].add(key, at, counters)
        new = []
        results = []
        for o in batch:  # no await in here: the batch is one turn
            key = self.store.key_of(o.key)  # as stored: a retry after a restart counts once
            added, totals = self.customers[o.customer_id].observe(key, now, o.counters, o.windows)
            if added:
                new.append((o.customer_id, key, now, o.counters))
            results.append(totals)
        if new:
            await self.store.record(new)
        return results

    def stats(self) -> dict[str, int]:
        return {"customers": len(self.customers)}
