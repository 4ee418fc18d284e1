"""Customers as virtual actors: each keeps a compact window of its recent transactions.

A transaction is kept only as what it adds to each history counter (a number per counter),
for as long as the longest window asks. Rules see the totals as `history.<counter>` facts.
The window is kept here, not in durable_rules: one durable_rules session per customer would
hit its 1024-session limit.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from foureyes.messaging import codec
from foureyes.store.customers import CustomerStore


def start_of_day(now: float) -> float:
    day = dt.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def window_start(now: float, window_seconds: int) -> float:
    """The earliest moment a window still counts: local midnight for `today` (0), else
    `now - window`; an entry exactly a whole window old has left it."""
    return start_of_day(now) if window_seconds == 0 else now - window_seconds


@codec.register  # the gateway sends these to customer hosts in `observe` batches
@dataclass(frozen=True)
class Observation:
    customer_id: str
    key: str  # the request's idempotency key: a retry is not counted twice
    counters: dict[str, float]  # what this transaction adds; empty: only read the totals
    windows: dict[str, int]  # counter -> window seconds (0: today), as the rule set says


@dataclass
class CustomerActor:
    customer_id: str
    loaded_since: float  # nothing older than this is held
    entries: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict)

    def add(self, key: str, at: float, counters: dict[str, float]) -> bool:
        if key in self.entries or at < self.loaded_since:
            return False
        self.entries[key] = (at, counters)
        return True

    def forget_before(self, cutoff: float) -> None:
        if cutoff <= self.loaded_since:
            return
        self.entries = {k: e for k, e in self.entries.items() if e[0] >= cutoff}
        self.loaded_since = cutoff

    def totals(self, now: float, windows: dict[str, int]) -> dict[str, float]:
        out = dict.fromkeys(windows, 0.0)
        starts = {name: window_start(now, w) for name, w in windows.items()}
        for at, counters in self.entries.values():
            for name, value in counters.items():
                start = starts.get(name)
                if start is None or at > now:
                    continue
                if at > start or (windows[name] == 0 and at >= start):
                    out[name] += value
        return out


class CustomerShard:
    def __init__(self, store: CustomerStore) -> None:
        self.store = store
        self.customers: dict[str, CustomerActor] = {}

    async def observe(self, batch: list[Observation], now: float | None = None
                      ) -> list[dict[str, float]]:
        """Record each transaction in its customer's window; answer the windows' totals,
        this transaction included, once recorded."""
        now = time.time() if now is None else now
        oldest = {o.customer_id: min((window_start(now, w) for w in o.windows.values()),
                                     default=now) for o in batch}
        stale = [cid for cid, since in oldest.items()
                 if cid not in self.customers or self.customers[cid].loaded_since > since]
        if stale:
            since = min(oldest[cid] for cid in stale)
            rows = await self.store.since(stale, since)
            for cid in stale:
                self.customers[cid] = CustomerActor(cid, since)
            for cid, key, at, counters in rows:
                self.customers[cid].add(key, at, counters)
        new = []
        results = []
        for o in batch:  # no await in here: the batch is one turn
            actor = self.customers[o.customer_id]
            actor.forget_before(oldest[o.customer_id])
            if o.counters and actor.add(o.key, now, o.counters):
                new.append((o.customer_id, o.key, now, o.counters))
            results.append(actor.totals(now, o.windows))
        if new:
            await self.store.record(new)
        return results

    def stats(self) -> dict[str, int]:
        return {"customers": len(self.customers)}
