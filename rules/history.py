"""The arithmetic of a customer's history window, free of any store or actor.

The customer's actor (actors/customer.py) keeps one of these per customer; the rule test runner
feeds a test's earlier transactions through the same class, so that what an author tests is
what the service counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


def start_of_day(now: float) -> float:
    day = dt.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def window_start(now: float, window_seconds: int) -> float:
    """The earliest moment a window still counts: local midnight for `today` (0), else
    `now - window`; an entry exactly a whole window old has left it."""
    return start_of_day(now) if window_seconds == 0 else now - window_seconds


def oldest_start(now: float, windows: Mapping[str, int]) -> float:
    """How far back the longest of `windows` reaches from `now`."""
    return min((window_start(now, w) for w in windows.values()), default=now)


@dataclass
class CustomerWindow:
    """One customer's recent transactions, each kept as what it adds to each counter."""

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

    def totals(self, now: float, windows: Mapping[str, int]) -> dict[str, float]:
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

    def observe(self, key: str, now: float, counters: dict[str, float], windows: Mapping[str, int]
                ) -> tuple[bool, dict[str, float]]:
        """Record one transaction at `now` (a retry of `key` counts once) and answer whether it
        was new, and the windows' totals with it included."""
        self.forget_before(oldest_start(now, windows))
        added = bool(counters) and self.add(key, now, counters)
        return added, self.totals(now, windows)
